/**
 * N nodes over one simulated network and one disk each, driven from the scheduler. The cluster
 * owns the per-node lifecycle; what a node *is* comes from a {@link NodeDriver} (a RaftNode over
 * its SimDisk, or the production member over a MemoryDisk), so nothing here knows Raft's
 * internals beyond the {@link SimNode} port.
 *
 * Lifecycle of a slot (ids are never reused):
 *
 *   spawn/found ──► up ──crash / exit──► down ──restart──► up …
 *                    └── its removal applied anywhere ──► removed (stopped a few ticks later)
 *
 * A crash stops the process (every scheduled callback of it is dropped) and power-fails its disk:
 * unsynced writes are lost. A node that exits on its own (host.exit) is crashed the same way and
 * restarted `EXIT_RESTART_TICKS` ticks later. A restart starts a new incarnation over what the disk
 * kept. Each up node that has a `tick` is ticked every `tickMs` at its own phase. Messages to a
 * down, removed or unknown node vanish;
 * the sender learns of undeliverable snapshots and partitions a moment later (reportSnapshot /
 * reportUnreachable), as a transport would.
 *
 * @module
 */
import { describeMessage } from '../../src/raft/index.ts'
import type { ConfChange, ConfState, Message, NodeId } from '../../src/raft/types.ts'
import { Network, type DropReason, type NetworkOptions } from './network.ts'
import type { NodeDriver, NodeHost, NodeMedium, NodeObserver, NodeStatus, SimNode } from './node-port.ts'
import type { Prng } from './prng.ts'
import type { Scheduler, Timer } from './scheduler.ts'

export interface ClusterOptions {
  /** Founding voters, ids 1..nodeCount. */
  readonly nodeCount: number
  /** Virtual ms between two ticks of a node. */
  readonly tickMs: number
  readonly network: NetworkOptions
}

/** Ticks from a node's exit (host.exit) to its restart. */
export const EXIT_RESTART_TICKS = 10

export interface ClusterCounts {
  crashes: number
  /** Nodes that ended on their own (host.exit) and were restarted. */
  exits: number
  restarts: number
  spawned: number
  removed: number
  confChangesApplied: number
  snapshotsSent: number
  snapshotsInstalled: number
  droppedAtDownNode: number
}

interface Slot<N, M> {
  readonly id: NodeId
  readonly disk: M
  node: N | null
  removed: boolean
  incarnation: number
  ticker: Timer | null
}

export class Cluster<N extends SimNode, M extends NodeMedium> {
  readonly counts: ClusterCounts = {
    crashes: 0,
    exits: 0,
    restarts: 0,
    spawned: 0,
    removed: 0,
    confChangesApplied: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    droppedAtDownNode: 0,
  }
  readonly network: Network<Message>
  readonly #prng: Prng
  readonly #diskPrng: Prng
  readonly #options: ClusterOptions
  readonly #scheduler: Scheduler
  readonly #driver: NodeDriver<N, M>
  readonly #observer: NodeObserver
  readonly #onCrash: (id: NodeId) => void
  readonly #slots = new Map<NodeId, Slot<N, M>>()
  readonly #appliedChanges = new Set<string>()
  #nextId: NodeId

  constructor(
    streams: { cluster: Prng; network: Prng; disk: Prng },
    options: ClusterOptions,
    scheduler: Scheduler,
    driver: NodeDriver<N, M>,
    observer: NodeObserver,
    onCrash: (id: NodeId) => void,
  ) {
    this.#prng = streams.cluster
    this.#diskPrng = streams.disk
    this.#options = options
    this.#scheduler = scheduler
    this.#driver = driver
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
    for (const id of voters) this.#addSlot(id, voters)
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

  node(id: NodeId): N | null {
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
    this.counts.crashes++
    this.#observer.trace(() => `crash n${id}`)
    this.#kill(slot)
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
    this.#start(this.#addSlot(id, null))
    return id
  }

  #addSlot(id: NodeId, founders: readonly NodeId[] | null): Slot<N, M> {
    const disk = this.#driver.provision(id, founders, this.#diskPrng.fork(`disk-${id}`))
    const slot: Slot<N, M> = { id, disk, node: null, removed: false, incarnation: 0, ticker: null }
    this.#slots.set(id, slot)
    return slot
  }

  #start(slot: Slot<N, M>): void {
    const incarnation = ++slot.incarnation
    const host: NodeHost = {
      id: slot.id,
      now: () => this.#scheduler.now,
      schedule: (delay, label, fn) => this.#scheduler.after(delay, label, fn),
      send: (ms) => this.#send(ms),
      exit: (reason) => this.#exit(slot, incarnation, reason),
      observer: this.#observer,
    }
    const node = this.#driver.start(host, slot.disk, this.#prng.fork(`node-${slot.id}-${incarnation}`))
    slot.node = node
    if (node.tick === undefined) return
    const tick = (): void => {
      slot.ticker = this.#scheduler.after(this.#options.tickMs, 'tick', tick)
      slot.node?.tick?.()
    }
    slot.ticker = this.#scheduler.after(this.#prng.range(1, this.#options.tickMs), 'tick', tick)
  }

  #exit(slot: Slot<N, M>, incarnation: number, reason: string): void {
    if (slot.incarnation !== incarnation || slot.node === null) return
    this.counts.exits++
    this.#observer.trace(() => `exit n${slot.id}: ${reason}`)
    this.#kill(slot)
    this.#scheduler.after(EXIT_RESTART_TICKS * this.#options.tickMs, 'restart', () => this.restart(slot.id))
  }

  /** The process dies and the disk loses power. */
  #kill(slot: Slot<N, M>): void {
    this.#stop(slot)
    slot.disk.crash()
    this.#onCrash(slot.id)
  }

  #stop(slot: Slot<N, M>): void {
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
      // A dropped packet never arrives here, so its proposals reached no log.
      if (m.type === 'MsgProp') sender.reportUnsentProposals?.(m.entries)
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
