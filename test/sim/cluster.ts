/**
 * N nodes over one simulated network and one disk each, driven from the scheduler. The cluster
 * owns the per-node lifecycle; what a node *is* comes from a {@link NodeFactory} (today a
 * RaftNode over its SimDisk, later the production member actor), so nothing here knows Raft's
 * internals beyond the {@link SimNode} port.
 *
 * Lifecycle of a slot (ids are never reused):
 *
 *   spawn/found ──► up ──crash──► down ──restart──► up …
 *                    └── its removal applied anywhere ──► removed (stopped a few ticks later)
 *
 * A crash stops the process (every scheduled callback of it is dropped) and power-fails its disk:
 * unsynced writes are lost. A restart starts a new incarnation over what the disk kept. Each up
 * node ticks every `tickMs` at its own phase. Messages to a down, removed or unknown node vanish;
 * the sender learns of undeliverable snapshots and partitions a moment later (reportSnapshot /
 * reportUnreachable), as a transport would.
 *
 * @module
 */
import { describeMessage } from '../../src/raft/index.ts'
import type { ConfChange, ConfState, Message, NodeId } from '../../src/raft/types.ts'
import { Network, type DropReason, type NetworkOptions } from './network.ts'
import type { NodeHost, NodeObserver, NodeStatus, SimNode } from './node-port.ts'
import type { Prng } from './prng.ts'
import type { Scheduler, Timer } from './scheduler.ts'
import {
  SimDisk,
  emptyImage,
  foundingImage,
  newDiskCounts,
  type DiskCounts,
  type DiskImage,
  type DiskOptions,
} from './sim-disk.ts'

export interface ClusterOptions {
  /** Founding voters, ids 1..nodeCount. */
  readonly nodeCount: number
  /** Virtual ms between two ticks of a node. */
  readonly tickMs: number
  readonly network: NetworkOptions
  readonly disk: DiskOptions
}

/** Starts one incarnation of node `host.id` over `disk`; `prng` is that incarnation's own stream. */
export type NodeFactory = (host: NodeHost, disk: SimDisk, prng: Prng) => SimNode

export interface ClusterCounts {
  crashes: number
  restarts: number
  spawned: number
  removed: number
  confChangesApplied: number
  snapshotsSent: number
  snapshotsInstalled: number
  droppedAtDownNode: number
}

interface Slot {
  readonly id: NodeId
  readonly disk: SimDisk
  node: SimNode | null
  removed: boolean
  incarnation: number
  ticker: Timer | null
}

export class Cluster {
  readonly counts: ClusterCounts = {
    crashes: 0,
    restarts: 0,
    spawned: 0,
    removed: 0,
    confChangesApplied: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    droppedAtDownNode: 0,
  }
  readonly diskCounts: DiskCounts = newDiskCounts()
  readonly network: Network<Message>
  readonly #prng: Prng
  readonly #diskPrng: Prng
  readonly #options: ClusterOptions
  readonly #scheduler: Scheduler
  readonly #factory: NodeFactory
  readonly #observer: NodeObserver
  readonly #onCrash: (id: NodeId) => void
  readonly #slots = new Map<NodeId, Slot>()
  readonly #appliedChanges = new Set<string>()
  #nextId: NodeId

  constructor(
    streams: { cluster: Prng; network: Prng; disk: Prng },
    options: ClusterOptions,
    scheduler: Scheduler,
    factory: NodeFactory,
    observer: NodeObserver,
    onCrash: (id: NodeId) => void,
  ) {
    this.#prng = streams.cluster
    this.#diskPrng = streams.disk
    this.#options = options
    this.#scheduler = scheduler
    this.#factory = factory
    this.#onCrash = onCrash
    this.#observer = {
      ...observer,
      confChanged: (id, cc, cs) => this.#confChanged(id, cc, cs, observer),
      installed: (id, index, hash) => {
        this.counts.snapshotsInstalled++
        observer.installed(id, index, hash)
      },
    }
    this.network = new Network<Message>(
      streams.network,
      options.network,
      scheduler,
      (m) => this.#deliver(m),
      (m, why) => this.#dropped(m, why),
    )
    const voters = Array.from({ length: options.nodeCount }, (_, i) => i + 1)
    this.#nextId = options.nodeCount + 1
    const founding = foundingImage({ voters, learners: [] }, new Uint8Array(0))
    for (const id of voters) this.#addSlot(id, founding)
  }

  /** Starts every founding member. */
  start(): void {
    for (const slot of this.#slots.values()) this.#start(slot)
  }

  /** Every id not removed, up or down. */
  ids(): NodeId[] {
    return [...this.#slots.values()].filter((s) => !s.removed).map((s) => s.id)
  }

  upIds(): NodeId[] {
    return [...this.#slots.values()].filter((s) => s.node !== null).map((s) => s.id)
  }

  downIds(): NodeId[] {
    return [...this.#slots.values()].filter((s) => s.node === null && !s.removed).map((s) => s.id)
  }

  node(id: NodeId): SimNode | null {
    return this.#slots.get(id)?.node ?? null
  }

  /** Status of every up node. */
  statuses(): NodeStatus[] {
    const out: NodeStatus[] = []
    for (const s of this.#slots.values()) if (s.node !== null) out.push(s.node.status())
    return out
  }

  /** The up node that believes it leads the highest term, if any. */
  leader(): NodeStatus | null {
    let best: NodeStatus | null = null
    for (const st of this.statuses()) {
      if (st.role === 'leader' && (best === null || st.term > best.term)) best = st
    }
    return best
  }

  leaderId(): NodeId | null {
    return this.leader()?.id ?? null
  }

  crash(id: NodeId): void {
    const slot = this.#slots.get(id)
    if (slot === undefined || slot.node === null) return
    this.#stop(slot)
    slot.disk.crash()
    this.counts.crashes++
    this.#observer.trace(() => `crash n${id}`)
    this.#onCrash(id)
  }

  restart(id: NodeId): void {
    const slot = this.#slots.get(id)
    if (slot === undefined || slot.node !== null || slot.removed) return
    this.counts.restarts++
    this.#observer.trace(() => `restart n${id}`)
    this.#start(slot)
  }

  /** Starts a brand-new node with a fresh id and an empty disk; it joins once added by a leader. */
  spawn(): NodeId {
    const id = this.#nextId++
    this.counts.spawned++
    this.#observer.trace(() => `spawn n${id}`)
    this.#start(this.#addSlot(id, emptyImage()))
    return id
  }

  #addSlot(id: NodeId, image: DiskImage): Slot {
    const prng = this.#diskPrng.fork(`disk-${id}`)
    const disk = new SimDisk(prng, this.#options.disk, this.#scheduler, this.diskCounts, image)
    const slot: Slot = { id, disk, node: null, removed: false, incarnation: 0, ticker: null }
    this.#slots.set(id, slot)
    return slot
  }

  #start(slot: Slot): void {
    slot.incarnation++
    const host: NodeHost = {
      id: slot.id,
      now: () => this.#scheduler.now,
      schedule: (delay, label, fn) => this.#scheduler.after(delay, label, fn),
      send: (ms) => this.#send(ms),
      observer: this.#observer,
    }
    slot.node = this.#factory(host, slot.disk, this.#prng.fork(`node-${slot.id}-${slot.incarnation}`))
    const tick = (): void => {
      slot.ticker = this.#scheduler.after(this.#options.tickMs, 'tick', tick)
      slot.node?.tick()
    }
    slot.ticker = this.#scheduler.after(this.#prng.range(1, this.#options.tickMs), 'tick', tick)
  }

  #stop(slot: Slot): void {
    slot.ticker?.cancel()
    slot.ticker = null
    slot.node?.stop()
    slot.node = null
  }

  #send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'MsgSnap') this.counts.snapshotsSent++
      this.network.send(m)
    }
  }

  #deliver(m: Message): void {
    const node = this.#slots.get(m.to)?.node ?? null
    if (node === null) {
      this.counts.droppedAtDownNode++
      this.#dropped(m, 'down')
      return
    }
    this.#observer.trace(() => `deliver ${describeMessage(m)}`)
    node.receive(m)
    if (m.type === 'MsgSnap') this.#slots.get(m.from)?.node?.reportSnapshot(m.to, true)
  }

  /** The sender's transport notices a lost snapshot or an unreachable peer, a moment later. */
  #dropped(m: Message, why: DropReason | 'down'): void {
    this.#observer.trace(() => `drop(${why}) ${describeMessage(m)}`)
    if (m.type !== 'MsgSnap' && why === 'drop') return
    this.#scheduler.after(1, 'transport', () => {
      const sender = this.#slots.get(m.from)?.node ?? null
      if (sender === null) return
      if (m.type === 'MsgSnap') sender.reportSnapshot(m.to, false)
      else sender.reportUnreachable(m.to)
    })
  }

  #confChanged(id: NodeId, cc: ConfChange, cs: ConfState, observer: NodeObserver): void {
    const key = `${cc.type}:${cc.nodeId}`
    if (!this.#appliedChanges.has(key)) {
      this.#appliedChanges.add(key)
      this.counts.confChangesApplied++
    }
    observer.confChanged(id, cc, cs)
    const target = this.#slots.get(cc.nodeId)
    if (cc.type !== 'remove' || target === undefined || target.removed) return
    // Committed removal: the member is gone for good. Let it run a few ticks (as a process
    // learning of its removal would), then stop it; its id is never reused.
    target.removed = true
    this.counts.removed++
    this.#scheduler.after(5 * this.#options.tickMs, 'remove', () => {
      this.#observer.trace(() => `stop removed n${target.id}`)
      this.#stop(target)
    })
  }
}
