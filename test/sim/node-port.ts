/**
 * The seam between the simulator and the code under test. The simulator owns the clock, the
 * network and the disks and hands each node a {@link NodeHost}; the node is driven through the
 * {@link SimNode} interface. A {@link NodeDriver} says what a node is. Two exist:
 * - raft-node.ts: a bare RawNode over a SimDisk (fast; the Raft swarm);
 * - member-node.ts: the production member (openMember: actor, duties, MVCC, storage) over the
 *   real storage module on a fault-injecting MemoryDisk, with a simulated Mesh.
 * cluster.ts only knows this seam.
 *
 * The {@link NodeObserver} taps are how the checkers see inside a node: what it wrote to its
 * log, what it committed and applied, which read states it got. A node reports them as they
 * happen; it never reads them back.
 *
 * @module
 */
import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  NodeId,
  ProposalResult,
  ReadState,
  Role,
} from '../../src/raft/types.ts'
import type { Prng } from './prng.ts'
import type { Timer } from './scheduler.ts'
import type { DiskImage } from './sim-disk.ts'

/** A follower's replication state as its leader sees it. */
export interface PeerProgress {
  readonly match: number
  readonly isLearner: boolean
}

export interface NodeStatus {
  readonly id: NodeId
  readonly term: number
  readonly role: Role
  readonly lead: NodeId
  readonly commit: number
  readonly applied: number
  /** The last index in its durable log. */
  readonly lastIndex: number
  readonly confState: ConfState
  /** Only on a leader. */
  readonly progress: ReadonlyMap<NodeId, PeerProgress> | null
}

/** What the simulator gives a node. Every callback it schedules settles from the event queue. */
export interface NodeHost {
  readonly id: NodeId
  now(): number
  schedule(delay: number, label: string, fn: () => void): Timer
  send(messages: readonly Message[]): void
  /**
   * The process ended on its own (a fatal storage error, a failed start): the cluster handles it
   * as a crash (its disk is power-failed: after a failed fsync a file's state is unknown) and
   * restarts it a little later. Ignored from an incarnation that is no longer running.
   */
  exit(reason: string): void
  readonly observer: NodeObserver
}

/** The checkers' taps; see checker.ts for what each one verifies. */
export interface NodeObserver {
  /** The node (re)started from `image`: its log is exactly what the image holds. */
  recovered(id: NodeId, image: DiskImage): void
  /** The node's log now ends with `entries` (anything from entries[0].index on was replaced). */
  logAppended(id: NodeId, entries: readonly Entry[]): void
  /** The node's log was replaced by a snapshot of (index, term). */
  logSnapshot(id: NodeId, index: number, term: number): void
  /** The node's log equals its Raft log (no unstable entries it has not handed out). */
  logInSync(id: NodeId): void
  /** The node was observed as leader of `term`. */
  leader(id: NodeId, term: number): void
  /** The node's commit index, as written with its hard state. */
  committed(id: NodeId, commit: number): void
  /**
   * The node applied `entry`; nodes that applied the same at its index give the same `hash` (a
   * RaftNode: its state machine's digest after it; a member: the entry's own digest).
   */
  applied(id: NodeId, entry: Entry, hash: number): void
  /** The node installed a snapshot: its state machine is now at (index, hash). */
  installed(id: NodeId, index: number, hash: number): void
  /** The node applied a membership change; `confState` is the result. */
  confChanged(id: NodeId, cc: ConfChange, confState: ConfState): void
  readState(id: NodeId, rs: ReadState): void
  /** A trace line, built only when tracing is on. */
  trace(line: () => string): void
}

/**
 * One incarnation of a node, as the cluster and the nemesis drive it (the clients of each driver
 * use its own node type). After `stop()` it is never called again.
 */
export interface SimNode {
  readonly id: NodeId
  /** One Raft tick. A node that ticks itself through `host.schedule` leaves it out. */
  tick?(): void
  receive(m: Message): void
  proposeConfChange(cc: ConfChange): ProposalResult
  transferLeader(to: NodeId): void
  reportUnreachable(id: NodeId): void
  reportSnapshot(id: NodeId, ok: boolean): void
  /** Entries of a MsgProp the network dropped, so no one got it (members propose them again). */
  reportUnsentProposals?(entries: readonly Entry[]): void
  status(): NodeStatus
  /** The process dies: cancel every scheduled callback; volatile state is gone. */
  stop(): void
}

/** What a slot keeps across its node's incarnations (its disk); a crash power-fails it. */
export interface NodeMedium {
  crash(): void
}

/** What the nodes of a cluster are: the medium of each slot, and each incarnation over it. */
export interface NodeDriver<N extends SimNode, M extends NodeMedium> {
  /**
   * The medium of a new slot `id`: a founding member's (`founders` lists the founding voters) or,
   * for `founders === null`, a member's that joins later, which starts empty.
   */
  provision(id: NodeId, founders: readonly NodeId[] | null, prng: Prng): M
  /** Starts one incarnation of node `host.id` over `medium`; `prng` is that incarnation's own stream. */
  start(host: NodeHost, medium: M, prng: Prng): N
}
