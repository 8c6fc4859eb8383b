/**
 * The Mesh port: how a member actor exchanges Raft messages with its peers. The actor hands over
 * the messages of each Ready with `send` and gets the peers' messages through `onReceive`; the
 * transport behind it (WebSocket, in-memory hub) is chosen by the composition root.
 *
 * Delivery is best effort, as Raft expects of its network: messages may be lost (a peer is down,
 * a queue is full), never duplicated, never reordered on one link (sender → receiver), never
 * corrupted. Losses that the sender can see are reported through `onUnreachable`, so the actor
 * can call `raft.reportUnreachable(peer)` and Raft probes again instead of waiting.
 *
 * @module
 */
import type { Entry, Message, NodeId } from '../raft/types.ts'

/** Peer ID → the peer's base URL (e.g. `http://10.0.0.2:2382`), excluding this member itself. */
export type PeerUrls = ReadonlyMap<NodeId, string>

/** Counters for one peer, as plain numbers (for the Prometheus endpoint). All only grow. */
export interface PeerStats {
  /** Frames / messages / bytes handed to the link towards this peer. */
  framesSent: number
  messagesSent: number
  bytesSent: number
  /** Frames / messages / bytes that arrived from this peer and were delivered to the handler. */
  framesReceived: number
  messagesReceived: number
  bytesReceived: number
  /** Messages to this peer that were dropped: queue full, link down, too large, or closed. */
  messagesDropped: number
  /** Connections to this peer that opened after the first one. */
  reconnects: number
}

export interface MeshStats {
  /** One entry per peer ever configured or heard from; entries outlive a peer's removal. */
  readonly peers: ReadonlyMap<NodeId, Readonly<PeerStats>>
  /** Incoming frames that failed to decode or did not belong (wrong sender, cluster, target). */
  readonly framesRejected: number
  /** Incoming connections refused (bad token, unknown member). */
  readonly connectionsRefused: number
}

/**
 * The transport port used by the member actor.
 *
 * Invariant: handlers are never called from inside `send`, `flush`, `setPeers` or `close` (always
 * from a later macrotask or an I/O callback), so the actor never re-enters itself.
 */
export interface Mesh {
  /**
   * Queues messages for their `to` peers and returns at once. All messages sent during one event
   * loop turn go out as one frame per peer at the end of the turn, or at `flush`. Messages to a
   * peer not in the peer set are dropped (and counted). Messages are encoded when they go out:
   * the caller must not mutate them, or their bytes, after handing them over.
   */
  send(messages: readonly Message[]): void
  /**
   * Sends what `send` has queued now, one frame per peer, instead of at the end of the turn: for a
   * caller that has handed over everything it has to send for the moment (a Ready's messages) and
   * has more work to do in this turn, which would otherwise hold the messages, and the peers
   * waiting for them. Losses it meets are still reported at the end of the turn. A transport that
   * hands messages to its network as they are sent has nothing to do here.
   */
  flush(): void
  /**
   * Sets the single receiver. Each call hands over the messages of one frame, all from one peer,
   * in the order they were sent. Frames that arrive before a handler is set are dropped.
   */
  onReceive(handler: (messages: Message[]) => void): void
  /** Called (at most once per peer per loop turn) when messages to `peer` were lost. */
  onUnreachable(handler: (peer: NodeId) => void): void
  /**
   * Called once for every MsgSnap sent: `ok` when it was handed to the network, `false` when it
   * was dropped; the actor passes it on as `raft.reportSnapshot(peer, ok)`.
   */
  onSnapshotStatus(handler: (peer: NodeId, ok: boolean) => void): void
  /**
   * Called with the entries of MsgProps (proposals a follower forwards to its leader) that were
   * dropped before they were handed to the network, so that no leader can have them: the caller
   * may propose them again. A message written to a connection that then failed is never reported
   * here (its fate is unknown).
   */
  onUnsentProposals?(handler: (entries: readonly Entry[]) => void): void
  /**
   * Replaces the peer set (membership changes). New peers are connected, removed ones
   * disconnected (their queued messages dropped), and a peer whose URL changed is redialled.
   */
  setPeers(peers: PeerUrls): void
  /**
   * Members removed from the cluster: a removed member that dials in is told so (instead of
   * being refused like a stranger), so it can stop instead of campaigning forever.
   */
  setRemoved?(ids: ReadonlySet<NodeId>): void
  /** Called when a peer answered that this member was removed from the cluster. */
  onRemoved?(handler: () => void): void
  stats(): MeshStats
  /** Drops queued messages, closes every socket and cancels every timer. Idempotent. */
  close(): Promise<void>
}

/** A fresh all-zero {@link PeerStats}. */
export function emptyPeerStats(): PeerStats {
  return {
    framesSent: 0,
    messagesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    messagesDropped: 0,
    reconnects: 0,
  }
}

/** Structured log sink for transport events (connections, refusals, rejected frames). */
export type MeshLog = (event: string, fields: Readonly<Record<string, unknown>>) => void
