/**
 * The Mesh port (src/mesh/mesh.ts) over the simulator's network, for one member incarnation.
 *
 *   send     ── messages to peers outside the peer set are dropped and reported unreachable (and
 *               a MsgSnap as failed) from a later event; the rest go through the real frame codec
 *               (encode + decode: the receiver never shares an object with the sender) and onto
 *               the network, addressed by simulator ids
 *   deliver  ── the cluster hands over one message that arrived; it reaches the onReceive handler
 *   report*  ── the cluster's transport notices (a lost snapshot, an unreachable peer, a dropped
 *               proposal) reach the onUnreachable / onSnapshotStatus / onUnsentProposals handlers
 *
 * Invariant (the port's): no handler runs from inside send, setPeers or close. Deliveries and
 * reports come from scheduler events; send-time losses are reported from an event 0 ms later.
 * As the port promises, nothing is duplicated (the member driver's network never duplicates: a
 * duplicated forwarded proposal would be applied twice); unlike the WebSocket mesh, the network
 * may reorder messages on a link (see network.ts), which Raft copes with.
 *
 * @module
 */
import { FRAME_VERSION, FrameCodec } from '../../src/mesh/codec.ts'
import { emptyPeerStats, type Mesh, type MeshStats, type PeerStats, type PeerUrls } from '../../src/mesh/mesh.ts'
import type { Entry, Message, NodeId } from '../../src/raft/types.ts'
import type { NodeHost } from './node-port.ts'
import type { Timer } from './scheduler.ts'

/** Translates between member IDs (what Raft sees) and simulator ids (what the network routes by). */
export interface IdMap {
  member(sim: NodeId): NodeId
  sim(member: NodeId): NodeId
}

export class SimMesh implements Mesh {
  readonly #self: NodeId
  readonly #host: NodeHost
  readonly #ids: IdMap
  readonly #codec = new FrameCodec()
  readonly #stats = new Map<NodeId, PeerStats>()
  #peers: ReadonlySet<NodeId> = new Set()
  #onReceive: ((messages: Message[]) => void) | null = null
  #onUnreachable: ((peer: NodeId) => void) | null = null
  #onSnapshotStatus: ((peer: NodeId, ok: boolean) => void) | null = null
  #onUnsentProposals: ((entries: readonly Entry[]) => void) | null = null
  /** Send-time losses waiting for their report: peer → failed MsgSnaps. */
  #lost = new Map<NodeId, number>()
  #report: Timer | null = null
  #closed = false

  constructor(self: NodeId, host: NodeHost, ids: IdMap) {
    this.#self = self
    this.#host = host
    this.#ids = ids
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return
    const out: Message[] = []
    for (const m of messages) {
      const stats = this.#peer(m.to)
      if (this.#peers.has(m.to)) {
        stats.messagesSent++
        out.push(m)
        continue
      }
      stats.messagesDropped++
      this.#lost.set(m.to, (this.#lost.get(m.to) ?? 0) + (m.type === 'MsgSnap' ? 1 : 0))
    }
    if (this.#lost.size > 0) this.#report ??= this.#host.schedule(0, 'mesh', () => this.#emitLost())
    if (out.length === 0) return
    const bytes = this.#codec.encode({ version: FRAME_VERSION, from: this.#self, clusterId: null, messages: out })
    const copies = this.#codec.decode(bytes).messages
    this.#host.send(copies.map((m) => ({ ...m, from: this.#ids.sim(m.from), to: this.#ids.sim(m.to) })))
  }

  /** Nothing waits here: `send` hands each message to the simulated network at once. */
  flush(): void {}

  onReceive(handler: (messages: Message[]) => void): void {
    this.#onReceive = handler
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.#onUnreachable = handler
  }

  onSnapshotStatus(handler: (peer: NodeId, ok: boolean) => void): void {
    this.#onSnapshotStatus = handler
  }

  onUnsentProposals(handler: (entries: readonly Entry[]) => void): void {
    this.#onUnsentProposals = handler
  }

  setPeers(peers: PeerUrls): void {
    if (this.#closed) return
    this.#peers = new Set(peers.keys())
  }

  stats(): MeshStats {
    const peers = new Map<NodeId, Readonly<PeerStats>>()
    for (const [id, s] of this.#stats) peers.set(id, { ...s })
    return { peers, framesRejected: 0, connectionsRefused: 0 }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#report?.cancel()
    this.#lost.clear()
  }

  /** A message addressed (by simulator ids) to this member arrived. */
  deliver(m: Message): void {
    if (this.#closed || this.#onReceive === null) return
    const from = this.#ids.member(m.from)
    const stats = this.#peer(from)
    stats.framesReceived++
    stats.messagesReceived++
    this.#onReceive([{ ...m, from, to: this.#ids.member(m.to) }])
  }

  /** The transport saw messages to simulator id `peer` get lost. */
  unreachable(peer: NodeId): void {
    if (!this.#closed) this.#onUnreachable?.(this.#ids.member(peer))
  }

  /** The transport dropped a MsgProp: no one got these entries. */
  unsentProposals(entries: readonly Entry[]): void {
    if (!this.#closed) this.#onUnsentProposals?.(entries)
  }

  /** The transport saw a MsgSnap to simulator id `peer` delivered (`ok`) or lost. */
  snapshotStatus(peer: NodeId, ok: boolean): void {
    if (!this.#closed) this.#onSnapshotStatus?.(this.#ids.member(peer), ok)
  }

  #emitLost(): void {
    this.#report = null
    const lost = this.#lost
    this.#lost = new Map()
    for (const peer of lost.keys()) this.#onUnreachable?.(peer)
    for (const [peer, snaps] of lost) for (let i = 0; i < snaps; i++) this.#onSnapshotStatus?.(peer, false)
  }

  #peer(id: NodeId): PeerStats {
    let s = this.#stats.get(id)
    if (s === undefined) {
      s = emptyPeerStats()
      this.#stats.set(id, s)
    }
    return s
  }
}
