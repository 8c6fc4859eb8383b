/**
 * What every Mesh implementation shares on its outward side: the handlers the actor registered,
 * the per-peer counters, and the coalescing of loss notifications.
 *
 * Invariant: `onUnreachable`, `onSnapshotStatus` and `onUnsentProposals` handlers run only from `emitPending()`, which
 * the mesh calls from its deferred flush, never from inside `send`/`setPeers`/`close`; losses
 * noticed during one turn are reported once per peer at the end of it.
 *
 * @module
 */
import type { Entry, Message, NodeId } from '../raft/types.ts'
import { emptyPeerStats, type MeshStats, type PeerStats } from './mesh.ts'

export class MeshEvents {
  readonly #wake: () => void
  #onReceive: ((messages: Message[]) => void) | null = null
  #onUnreachable: ((peer: NodeId) => void) | null = null
  #onSnapshotStatus: ((peer: NodeId, ok: boolean) => void) | null = null
  #onUnsentProposals: ((entries: readonly Entry[]) => void) | null = null
  #onRemoved: (() => void) | null = null
  readonly #peers = new Map<NodeId, PeerStats>()
  #unreachable = new Set<NodeId>()
  #snapshotStatus: [NodeId, boolean][] = []
  #unsentProposals: Entry[] = []
  framesRejected = 0
  connectionsRefused = 0

  /** `wake` asks the owning mesh for a deferred flush, which ends with `emitPending()`. */
  constructor(wake: () => void) {
    this.#wake = wake
  }

  onReceive(handler: (messages: Message[]) => void): void {
    this.#onReceive = handler
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.#onUnreachable = handler
  }

  onSnapshotStatus(handler: (peer: NodeId, ok: boolean) => void): void {
    this.#onSnapshotStatus = handler
  }

  onRemoved(handler: () => void): void {
    this.#onRemoved = handler
  }

  onUnsentProposals(handler: (entries: readonly Entry[]) => void): void {
    this.#onUnsentProposals = handler
  }

  /** A peer refused our connection because this member was removed (called from I/O callbacks). */
  removedByPeer(): void {
    this.#onRemoved?.()
  }

  /** The live counters of `peer`, created on first use. */
  peer(peer: NodeId): PeerStats {
    let stats = this.#peers.get(peer)
    if (stats === undefined) {
      stats = emptyPeerStats()
      this.#peers.set(peer, stats)
    }
    return stats
  }

  /** Hands one received frame's messages to the receiver (or drops them when there is none). */
  deliver(from: NodeId, messages: Message[], bytes: number): void {
    if (this.#onReceive === null) return
    const stats = this.peer(from)
    stats.framesReceived++
    stats.messagesReceived += messages.length
    stats.bytesReceived += bytes
    this.#onReceive(messages)
  }

  /** Records messages sent to `peer` in one frame of `bytes` bytes. */
  sent(peer: NodeId, messages: readonly Message[], bytes: number): void {
    const stats = this.peer(peer)
    stats.framesSent++
    stats.messagesSent += messages.length
    stats.bytesSent += bytes
  }

  /**
   * Records messages to `peer` that were lost, and schedules the unreachable report. "Dropped"
   * always means never handed to the network (a frame written to a connection that then failed
   * is not reported here: its fate is unknown), which is what makes onUnsentProposals safe.
   */
  dropped(peer: NodeId, messages: readonly Message[]): void {
    if (messages.length === 0) return
    this.peer(peer).messagesDropped += messages.length
    for (const m of messages) {
      if (m.type === 'MsgSnap') this.#snapshotStatus.push([peer, false])
      else if (m.type === 'MsgProp') this.#unsentProposals.push(...m.entries)
    }
    this.#unreachable.add(peer)
    this.#wake()
  }

  /** Schedules an unreachable report for `peer` without a message loss (its connection went down). */
  unreachable(peer: NodeId): void {
    this.#unreachable.add(peer)
    this.#wake()
  }

  /** Schedules the report that the MsgSnaps in `messages` reached the network. */
  delivered(peer: NodeId, messages: readonly Message[]): void {
    let any = false
    for (const m of messages) {
      if (m.type !== 'MsgSnap') continue
      this.#snapshotStatus.push([peer, true])
      any = true
    }
    if (any) this.#wake()
  }

  /** Runs the handlers for everything noticed since the last call. */
  emitPending(): void {
    const unreachable = this.#unreachable
    const snapshotStatus = this.#snapshotStatus
    const unsent = this.#unsentProposals
    this.#unreachable = new Set()
    this.#snapshotStatus = []
    this.#unsentProposals = []
    for (const peer of unreachable) this.#onUnreachable?.(peer)
    for (const [peer, ok] of snapshotStatus) this.#onSnapshotStatus?.(peer, ok)
    if (unsent.length > 0) this.#onUnsentProposals?.(unsent)
  }

  stats(): MeshStats {
    const peers = new Map<NodeId, Readonly<PeerStats>>()
    for (const [id, stats] of this.#peers) peers.set(id, { ...stats })
    return { peers, framesRejected: this.framesRejected, connectionsRefused: this.connectionsRefused }
  }
}
