/**
 * The vocabulary of the Raft core: entries, hard state, snapshots, configuration changes,
 * messages, and the Ready batch handed to the caller. Everything here is plain data
 * (structured-clonable, msgpack-encodable); no behaviour.
 *
 * Numbers: terms, indexes and node IDs are JS numbers and must be safe integers. Node ID 0 means
 * "none" (no vote, no leader).
 *
 * @module
 */

/** A member's identity inside Raft. Never 0, never reused after removal. */
export type NodeId = number

/** Not a node: used for "voted for nobody" and "no known leader". */
export const NONE: NodeId = 0

export type EntryType = 'normal' | 'conf-change'

/**
 * One log entry. `data` of a `normal` entry is opaque to Raft (the leader appends an empty one at
 * the start of its term); `data` of a `conf-change` entry is an encoded {@link ConfChange}
 * (see `encodeConfChange` in conf-change-codec.ts).
 */
export interface Entry {
  readonly term: number
  readonly index: number
  readonly type: EntryType
  readonly data: Uint8Array
}

/**
 * What must be on stable storage before any message that depends on it leaves the member.
 * Invariant: `commit` never decreases; `term` never decreases; `vote` changes only with `term`.
 */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

/** The membership as of some log position. Voters and learners are disjoint and sorted. */
export interface ConfState {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

export interface SnapshotMetadata {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number
  readonly term: number
  /** Membership as of `index`. */
  readonly confState: ConfState
}

/** A state-machine image as of `metadata.index`. `data` is opaque to Raft. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata
  readonly data: Uint8Array
}

/**
 * A membership change, proposed with `proposeConfChange` and applied (by the caller calling
 * `applyConfChange`) once its entry is committed.
 * - `add-voter` on an existing learner promotes it.
 * - `add-learner` on an existing voter is refused.
 * - `remove` removes a voter or a learner.
 * `context` is opaque to Raft (the member layer puts the peer URLs and name there).
 */
export interface ConfChange {
  readonly type: 'add-voter' | 'add-learner' | 'remove'
  readonly nodeId: NodeId
  readonly context: Uint8Array
}

/**
 * Every message type. The position is also a type's wire code in the peer transport's frames:
 * append only, never reorder.
 */
export const MESSAGE_TYPES = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgProp',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgTimeoutNow',
  'MsgTransferLeader',
] as const

export type MessageType = (typeof MESSAGE_TYPES)[number]

/**
 * One Raft message between members. A flat record (as etcd's raftpb.Message) so it encodes to
 * msgpack without per-type code; fields a type does not use are 0 / empty.
 *
 * Field use per type:
 * - MsgApp:        term, index (prev log index), logTerm (prev log term), entries, commit
 * - MsgAppResp:    term, index (last index now matching), reject, rejectHint (conflict index
 *                  hint), logTerm (term at rejectHint on the follower, for fast backtracking)
 * - MsgVote/PreVote: term (for PreVote: the term the candidate would campaign in), index/logTerm
 *                  (candidate's last log position), context ('transfer' when forced by leader
 *                  transfer, which lets the vote through a leader lease)
 * - MsgVoteResp/PreVoteResp: term, reject
 * - MsgHeartbeat:  term, commit (min(follower match, leader commit)), context (read-index round id)
 * - MsgHeartbeatResp: term, context (echoed round id); reject when sent while the follower is
 *                  still persisting an earlier Ready (RawNode.takeHeartbeats): alive and
 *                  following, but not asking for entries
 * - MsgSnap:       term, snapshot
 * - MsgProp:       entries (forwarded proposals, follower → leader)
 * - MsgReadIndex:  context (the requester's read ctx), follower → leader
 * - MsgReadIndexResp: index (the read index), context; reject when the leader cannot serve it
 * - MsgTimeoutNow: term (leader → transfer target: campaign now)
 * - MsgTransferLeader: from = the requested new leader (forwarded to the leader)
 */
export interface Message {
  readonly type: MessageType
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
  readonly logTerm: number
  readonly index: number
  readonly commit: number
  readonly entries: readonly Entry[]
  readonly reject: boolean
  readonly rejectHint: number
  readonly snapshot: Snapshot | null
  readonly context: Uint8Array
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader'

/** Volatile state worth telling the caller about when it changes. */
export interface SoftState {
  readonly lead: NodeId
  readonly role: Role
}

/**
 * The answer to a `readIndex(ctx)` call: once the caller's applied index reaches `index`, a read
 * served from the state machine is linearizable. `ctx` is the caller's request context, returned
 * unchanged so the caller can find its waiter.
 */
export interface ReadState {
  readonly index: number
  readonly ctx: Uint8Array
}

/**
 * A batch of work for the caller, handled strictly in this order:
 *   1. persist `snapshot` (if any), `entries` and `hardState` (if any), with one fsync when
 *      `mustSync` is true;
 *   2. send `messages` (they may depend on what step 1 persisted);
 *   3. apply `committedEntries` in order (and `applyConfChange` for conf-change entries);
 *   4. call `advance()`.
 * Invariant: `committedEntries` are all ≤ the commit index in the persisted hard state, and were
 * persisted in this or an earlier Ready.
 */
export interface Ready {
  readonly softState: SoftState | null
  readonly hardState: HardState | null
  readonly entries: readonly Entry[]
  readonly snapshot: Snapshot | null
  readonly committedEntries: readonly Entry[]
  readonly messages: readonly Message[]
  readonly readStates: readonly ReadState[]
  /** True when `entries`, `hardState` or `snapshot` must be fsynced before sending. */
  readonly mustSync: boolean
}

/**
 * Read-only access to the persisted log, as of the last `advance()`. The caller writes to it
 * itself while handling a Ready; Raft only reads.
 *
 * Invariant: firstIndex() - 1 is the index of the last compacted entry (its term is still
 * answered by term()); entries in [firstIndex(), lastIndex()] are all present.
 */
export interface LogStorage {
  /** The hard state and membership persisted before the last crash/restart. */
  initialState(): { hardState: HardState; confState: ConfState }
  /** Entries in [lo, hi), at least one if any exist, then up to `maxBytes` of data in total. */
  entries(lo: number, hi: number, maxBytes: number): Entry[]
  /**
   * Term of entry `index`, for firstIndex()-1 ≤ index ≤ lastIndex(). Throws a
   * {@link CompactedError} below that and an {@link UnavailableError} above it.
   */
  term(index: number): number
  firstIndex(): number
  lastIndex(): number
  /**
   * The most recent snapshot, for a follower that needs entries before firstIndex(). Its index
   * must be at least firstIndex() - 1. Throws {@link SnapshotUnavailableError} when no such
   * snapshot exists yet (the storage may be making one): the leader sends nothing then and asks
   * again on the follower's next response.
   */
  snapshot(): Snapshot
}

/** No snapshot covering the compacted log yet; ask again later (etcd: ErrSnapshotTemporarilyUnavailable). */
export class SnapshotUnavailableError extends Error {
  constructor() {
    super('raft: snapshot is temporarily unavailable')
    this.name = 'SnapshotUnavailableError'
  }
}

/** Asked for an index that compaction has removed from the log. */
export class CompactedError extends Error {
  constructor(index: number) {
    super(`raft: requested index ${index} is unavailable due to compaction`)
    this.name = 'CompactedError'
  }
}

/** Asked for an index beyond the last one stored. */
export class UnavailableError extends Error {
  constructor(index: number) {
    super(`raft: requested entry at index ${index} is unavailable`)
    this.name = 'UnavailableError'
  }
}

/** The injected source of randomness. Must return an integer in [0, n). */
export type RandomInt = (n: number) => number

/**
 * Deliberate safety bugs, for showing that the simulator's checkers catch them. Never set outside
 * tests.
 */
export interface UnsafeKnobs {
  /** Commit an entry from an earlier term by counting replicas (violates §5.4.2). */
  readonly commitPreviousTermByCount?: boolean
  /** Grant votes without checking the candidate's log is up to date (violates §5.4.1). */
  readonly skipUpToDateCheck?: boolean
}

export interface Config {
  readonly id: NodeId
  /** Ticks without hearing from a leader before campaigning; randomized in [e, 2e). */
  readonly electionTick: number
  /** Ticks between leader heartbeats. Must be < electionTick. */
  readonly heartbeatTick: number
  readonly storage: LogStorage
  /** Index of the last entry already applied to the state machine (0 on a fresh member). */
  readonly applied: number
  /** Seeded source of randomness for election jitter. */
  readonly rand: RandomInt
  /** Max bytes of entry data in one MsgApp. */
  readonly maxSizePerMsg: number
  /** Max MsgApp in flight to one follower in replicate state. */
  readonly maxInflightMsgs: number
  /** Max bytes of committed entries handed out in one Ready. */
  readonly maxCommittedSizePerReady: number
  /** PreVote (§9.6): campaign only after a pre-vote round a majority would grant. */
  readonly preVote: boolean
  /** CheckQuorum (§6.2): a leader steps down after an election timeout without a quorum. */
  readonly checkQuorum: boolean
  readonly unsafe?: UnsafeKnobs
}

/** The defaults a member uses, apart from id, storage, applied and rand. */
export const DEFAULT_CONFIG = {
  electionTick: 10,
  heartbeatTick: 1,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  // A member applies a Ready's committed entries in one turn of its event loop: bounded, a long
  // catch-up (a restart replaying its journal) leaves turns between Readies for peers and clients.
  maxCommittedSizePerReady: 64 * 1024,
  preVote: true,
  checkQuorum: true,
} as const

/** Why a proposal was not accepted. The caller maps these to client errors. */
export type ProposalError =
  | 'no-leader' // nobody to forward to; retry later
  | 'transferring' // leadership transfer in progress
  | 'conf-change-pending' // another membership change is not yet applied
  | 'not-leader-term-committed' // leader has not committed an entry of its own term yet
  | 'invalid-conf-change' // e.g. promote a non-learner, remove an unknown node, add an existing one
  | 'learner-not-caught-up' // promoting a learner whose log is far behind the leader's
  | 'removed' // this node is no longer a member

export type ProposalResult = { readonly ok: true } | { readonly ok: false; readonly error: ProposalError }

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** The leader's view of one member's replication, as reported by `status()`. */
export interface ProgressStatus {
  readonly match: number
  readonly next: number
  readonly state: ProgressState
  readonly recentActive: boolean
  readonly isLearner: boolean
}

/** A point-in-time view of one RawNode, for monitoring, tests and the simulator's checkers. */
export interface Status {
  readonly id: NodeId
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
  readonly applied: number
  readonly lead: NodeId
  readonly role: Role
  readonly confState: ConfState
  /** Every member's replication progress; only on the leader, otherwise null. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | null
  /** The member a leadership transfer is handing over to, or NONE. */
  readonly leadTransferee: NodeId
}
