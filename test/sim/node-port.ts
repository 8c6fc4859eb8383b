/**
 * The seam between the simulator and the code under test. The simulator owns the clock, the
 * network and the disks and hands each node a {@link NodeHost}; the node is driven through the
 * {@link SimNode} interface. Today raft-node.ts implements SimNode with a bare RawNode over a
 * SimDisk; later the production member actor takes its place (over the real storage module
 * and a fault-injecting Disk), and cluster.ts does not change.
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
  /** The node applied `entry`; `hash` is its state machine's digest after it. */
  applied(id: NodeId, entry: Entry, hash: number): void
  /** The node installed a snapshot: its state machine is now at (index, hash). */
  installed(id: NodeId, index: number, hash: number): void
  /** The node applied a membership change; `confState` is the result. */
  confChanged(id: NodeId, cc: ConfChange, confState: ConfState): void
  readState(id: NodeId, rs: ReadState): void
  /** A trace line, built only when tracing is on. */
  trace(line: () => string): void
}

/** One incarnation of a node, as the simulator drives it. After `stop()` it is never called again. */
export interface SimNode {
  readonly id: NodeId
  tick(): void
  receive(m: Message): void
  propose(data: Uint8Array): ProposalResult
  proposeConfChange(cc: ConfChange): ProposalResult
  readIndex(ctx: Uint8Array): ProposalResult
  transferLeader(to: NodeId): void
  reportUnreachable(id: NodeId): void
  reportSnapshot(id: NodeId, ok: boolean): void
  status(): NodeStatus
  /** The process dies: cancel every scheduled callback; volatile state is gone. */
  stop(): void
}
