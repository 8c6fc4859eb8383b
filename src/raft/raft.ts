/**
 * The Raft state machine of one node: its term, vote, role and log, the role transitions, and
 * the first stage of message handling (term comparison and votes). Role-specific handling lives in
 * step-leader.ts, step-candidate.ts and step-follower.ts, installed as the `step` function on each
 * role change, just as `tick` switches between election and heartbeat ticking.
 *
 * Folder-internal: the fields are public for the step-* and replication modules; the outside world
 * uses RawNode.
 *
 * Invariants: term never decreases; vote changes only together with term (or from NONE);
 * lead === id exactly when role === 'leader'.
 *
 * @module
 */
import { RaftLog } from './log.ts'
import { applyToConfState } from './membership.ts'
import { ReadOnly } from './read-only.ts'
import { bcastAppend, bcastHeartbeat, maybeSendAppend } from './replication.ts'
import { stepCandidate } from './step-candidate.ts'
import { stepFollower } from './step-follower.ts'
import { releasePendingReads, stepLeader } from './step-leader.ts'
import { ProgressTracker } from './tracker/tracker.ts'
import {
  NONE,
  type ConfChange,
  type ConfState,
  type Config,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
  type SoftState,
  type UnsafeKnobs,
} from './types.ts'

export type CampaignKind = 'pre-election' | 'election' | 'transfer'
export type StepFn = (r: Raft, m: Message) => void

/** What a caller sets when sending; the rest of the Message gets defaults. */
export type MessageFields = Partial<Message> & { readonly type: MessageType; readonly to: NodeId }

const EMPTY = new Uint8Array(0)
/** The context of votes forced by a leadership transfer; it passes the receivers' leader lease. */
const TRANSFER_CONTEXT = new TextEncoder().encode('transfer')

function isTransferContext(ctx: Uint8Array): boolean {
  return ctx.length === TRANSFER_CONTEXT.length && ctx.every((b, i) => b === TRANSFER_CONTEXT[i])
}

/** A full Message from the fields a sender cares about. */
export function makeMessage(f: MessageFields & { readonly from: NodeId }): Message {
  return {
    type: f.type,
    from: f.from,
    to: f.to,
    term: f.term ?? 0,
    logTerm: f.logTerm ?? 0,
    index: f.index ?? 0,
    commit: f.commit ?? 0,
    entries: f.entries ?? [],
    reject: f.reject ?? false,
    rejectHint: f.rejectHint ?? 0,
    snapshot: f.snapshot ?? null,
    context: f.context ?? EMPTY,
  }
}

/** Throws unless the configuration is usable. */
function validateConfig(c: Config): void {
  const positive = (n: number): boolean => Number.isSafeInteger(n) && n > 0
  if (!positive(c.id)) throw new Error('raft: config.id must be a positive safe integer')
  if (!positive(c.heartbeatTick)) throw new Error('raft: heartbeatTick must be positive')
  if (!positive(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    throw new Error('raft: electionTick must be greater than heartbeatTick')
  }
  if (!positive(c.maxInflightMsgs)) throw new Error('raft: maxInflightMsgs must be positive')
  if (!positive(c.maxSizePerMsg) || !positive(c.maxCommittedSizePerReady)) {
    throw new Error('raft: maxSizePerMsg and maxCommittedSizePerReady must be positive')
  }
  if (!Number.isSafeInteger(c.applied) || c.applied < 0) throw new Error('raft: applied must be >= 0')
}

export class Raft {
  readonly id: NodeId
  term = 0
  vote: NodeId = NONE
  lead: NodeId = NONE
  role: Role = 'follower'
  readonly log: RaftLog
  readonly tracker: ProgressTracker
  readonly readOnly = new ReadOnly()
  /** Reads that arrived before this leader committed an entry of its own term. */
  pendingReads: { ctx: Uint8Array; from: NodeId }[] = []
  /** Outgoing messages and read results, drained into the next Ready. */
  msgs: Message[] = []
  readStates: ReadState[] = []

  readonly electionTimeout: number
  readonly heartbeatTimeout: number
  /** Invariant: electionTimeout <= randomizedElectionTimeout < 2 * electionTimeout. */
  randomizedElectionTimeout = 0
  /** Ticks since the last election timeout (leader) or since hearing from a leader (others). */
  electionElapsed = 0
  heartbeatElapsed = 0

  readonly checkQuorum: boolean
  readonly preVote: boolean
  readonly maxSizePerMsg: number
  readonly maxCommittedSizePerReady: number
  readonly unsafe: UnsafeKnobs
  readonly #rand: (n: number) => number

  /** The member a leadership transfer is handing over to, or NONE. */
  leadTransferee: NodeId = NONE
  /** Leader only: index of the last conf-change entry appended; another is refused until it is applied. */
  pendingConfIndex = 0
  /** Set when this node applied its own removal. */
  removed = false

  #step: StepFn = stepFollower
  #tick: () => void = () => this.#tickElection()

  constructor(config: Config) {
    validateConfig(config)
    this.id = config.id
    this.electionTimeout = config.electionTick
    this.heartbeatTimeout = config.heartbeatTick
    this.checkQuorum = config.checkQuorum
    this.preVote = config.preVote
    this.maxSizePerMsg = config.maxSizePerMsg
    this.maxCommittedSizePerReady = config.maxCommittedSizePerReady
    this.unsafe = config.unsafe ?? {}
    this.#rand = config.rand
    const { hardState, confState } = config.storage.initialState()
    this.log = new RaftLog(config.storage, hardState.commit)
    this.tracker = new ProgressTracker(config.maxInflightMsgs)
    this.tracker.setConfState(confState, this.log.lastIndex())
    this.term = hardState.term
    this.vote = hardState.vote
    this.becomeFollower(this.term, NONE)
    if (config.applied > this.log.applied) {
      // A commit-only hard state change need not be synced, so the persisted commit may lag what
      // the caller already applied; anything applied was committed.
      this.log.commitTo(config.applied)
      this.log.appliedTo(config.applied)
    }
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role }
  }

  send(f: MessageFields): void {
    // Votes and their answers name their term explicitly (a pre-vote asks for a future one);
    // forwarded proposals and reads are term-less; everything else carries our term.
    const term = f.term ?? this.term
    this.msgs.push(makeMessage({ from: this.id, ...f, term }))
  }

  // ---- role transitions ----

  becomeFollower(term: number, lead: NodeId): void {
    this.#step = stepFollower
    this.#reset(term)
    this.#tick = () => this.#tickElection()
    this.lead = lead
    this.role = 'follower'
  }

  becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: leader cannot become pre-candidate')
    // A pre-candidate keeps its term and vote: the pre-vote round changes nothing durable.
    this.#step = stepCandidate
    this.tracker.resetVotes()
    this.#tick = () => this.#tickElection()
    this.lead = NONE
    this.role = 'pre-candidate'
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: leader cannot become candidate')
    this.#step = stepCandidate
    this.#reset(this.term + 1)
    this.#tick = () => this.#tickElection()
    this.vote = this.id
    this.role = 'candidate'
  }

  becomeLeader(): void {
    if (this.role === 'follower') throw new Error('raft: follower cannot become leader directly')
    this.#step = stepLeader
    this.#reset(this.term)
    this.#tick = () => this.#tickHeartbeat()
    this.lead = this.id
    this.role = 'leader'
    const self = this.tracker.progress(this.id)
    if (self) {
      self.becomeReplicate()
      self.recentActive = true
    }
    // Conservatively treat any unapplied conf-change entry as pending.
    this.pendingConfIndex = this.#lastConfChangeIndex(this.log.applied + 1, this.log.lastIndex())
    // §5.4.2 / §8: an entry of our own term, so that earlier entries can be committed through it.
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }])
  }

  #reset(term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.electionTimeout + this.#rand(this.electionTimeout)
    if (
      !Number.isSafeInteger(this.randomizedElectionTimeout) ||
      this.randomizedElectionTimeout < this.electionTimeout ||
      this.randomizedElectionTimeout >= 2 * this.electionTimeout
    ) {
      throw new Error('raft: config.rand(n) must return an integer in [0, n)')
    }
    this.leadTransferee = NONE
    this.tracker.resetVotes()
    // The leader counts its own log only as far as it is persisted.
    const persisted = this.log.persistedIndex()
    this.tracker.resetProgress(this.log.lastIndex(), (id) => (id === this.id ? persisted : 0))
    this.pendingConfIndex = 0
    this.readOnly.reset()
    this.pendingReads = []
  }

  // ---- time ----

  tick(): void {
    this.#tick()
  }

  #tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.hup(this.preVote ? 'pre-election' : 'election')
    }
  }

  #tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0
      if (this.checkQuorum) {
        // §6.2: without a recently active quorum we may be partitioned away; stop serving.
        if (!this.tracker.quorumActive()) {
          this.becomeFollower(this.term, NONE)
          return
        }
        for (const id of this.tracker.ids()) {
          const pr = this.tracker.progress(id)
          if (pr && id !== this.id) pr.recentActive = false
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NONE
      for (const id of this.tracker.ids()) this.tracker.progress(id)?.electionTimeoutElapsed()
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0
      bcastHeartbeat(this)
    }
  }

  // ---- elections ----

  /** Only voters campaign, and not while an incoming snapshot is still being installed. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.pendingSnapshot() === null
  }

  /** Starts an election now, if this node may. */
  hup(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.promotable()) return
    // Our membership may be stale until committed conf changes are applied; wait for them.
    if (this.#lastConfChangeIndex(this.log.applied + 1, this.log.committed) !== 0) return
    this.campaign(kind)
  }

  campaign(kind: CampaignKind): void {
    let voteType: 'MsgVote' | 'MsgPreVote'
    let term: number
    if (kind === 'pre-election') {
      this.becomePreCandidate()
      voteType = 'MsgPreVote'
      // Ask for the term we would campaign in, without moving to it.
      term = this.term + 1
    } else {
      this.becomeCandidate()
      voteType = 'MsgVote'
      term = this.term
    }
    if (this.poll(this.id, true) === 'won') {
      // A single voter wins at once.
      if (kind === 'pre-election') this.campaign('election')
      else this.becomeLeader()
      return
    }
    const context = kind === 'transfer' ? TRANSFER_CONTEXT : EMPTY
    const index = this.log.lastIndex()
    const logTerm = this.log.lastTerm()
    for (const id of this.tracker.voters) {
      if (id !== this.id) this.send({ type: voteType, to: id, term, index, logTerm, context })
    }
  }

  poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(id, granted)
    return this.tracker.tallyVotes()
  }

  // ---- messages ----

  step(m: Message): void {
    if (m.term === 0) {
      // Only forwarded proposals and reads travel without a term.
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') return
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const inLease = this.lead !== NONE && this.electionElapsed < this.electionTimeout
        // §6 / §9.6: while we hear from a leader, a (pre-)vote request from elsewhere is
        // disruptive; ignore it, unless the leader itself asked for the election (transfer).
        if (inLease && !isTransferContext(m.context) && (m.type === 'MsgPreVote' || this.checkQuorum)) return
      }
      if (m.type === 'MsgPreVote' || (m.type === 'MsgPreVoteResp' && !m.reject)) {
        // A pre-vote never moves our term; a granted pre-vote answer carries the future term asked for.
      } else {
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap'
        this.becomeFollower(m.term, fromLeader ? m.from : NONE)
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader we ignore would never learn our term; tell it, so it steps down.
        this.send({ type: 'MsgAppResp', to: m.from })
      } else if (m.type === 'MsgPreVote') {
        // Reject so the pre-candidate learns our term instead of waiting forever.
        this.send({ type: 'MsgPreVoteResp', to: m.from, reject: true })
      }
      return
    }
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') this.#handleVoteRequest(m)
    else this.#step(this, m)
  }

  #handleVoteRequest(m: Message): void {
    const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp'
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'MsgPreVote' && m.term > this.term)
    // UNSAFE KNOB skipUpToDateCheck: grants votes to stale logs (breaks §5.4.1).
    const upToDate = this.unsafe.skipUpToDateCheck === true || this.log.isUpToDate(m.index, m.logTerm)
    if (canVote && upToDate) {
      this.send({ type: respType, to: m.from, term: m.term })
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true })
    }
  }

  // ---- log ----

  /** Leader: appends entries of the current term (their term and index are assigned here). */
  appendEntries(ents: readonly Entry[]): void {
    let index = this.log.lastIndex()
    const stamped = ents.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }))
    this.log.append(stamped)
    // No self-ack here: the leader's own match advances only once the entries are persisted (advance()).
  }

  /** Leader: commits what a majority holds (of the current term). Returns whether commit moved. */
  maybeCommit(): boolean {
    // UNSAFE KNOB commitPreviousTermByCount: commits earlier-term entries by counting (breaks §5.4.2).
    const anyTerm = this.unsafe.commitPreviousTermByCount === true
    if (!this.log.maybeCommit(this.tracker.committed(), this.term, anyTerm)) return false
    releasePendingReads(this)
    return true
  }

  /** Whether this leader has committed an entry of its own term (§6.4, §4.1 preconditions). */
  committedOwnTerm(): boolean {
    return this.log.termOrNull(this.log.committed) === this.term
  }

  /** The caller persisted the log up to log.persistedIndex(); a leader may now count itself. */
  onPersisted(): void {
    if (this.role !== 'leader') return
    const self = this.tracker.progress(this.id)
    if (self?.maybeUpdate(this.log.persistedIndex()) && this.maybeCommit()) bcastAppend(this)
  }

  /** Installs a leader's snapshot. Returns false if it brings nothing new. */
  restore(snap: Snapshot): boolean {
    const { index, term } = snap.metadata
    if (index <= this.log.committed) return false
    if (this.role !== 'follower') this.becomeFollower(this.term + 1, NONE)
    if (this.log.matchTerm(index, term)) {
      // We already have the snapshot's last entry, hence (log matching) everything before it.
      this.log.commitTo(index)
      return false
    }
    this.log.restore(snap)
    this.tracker.setConfState(snap.metadata.confState, this.log.lastIndex())
    return true
  }

  /** Index of the last conf-change entry in [lo, hi], or 0. */
  #lastConfChangeIndex(lo: number, hi: number): number {
    let found = 0
    for (let i = Math.max(lo, this.log.firstIndex()); i <= hi; ) {
      const page = this.log.slice(i, hi + 1, this.maxSizePerMsg)
      for (const e of page) if (e.type === 'conf-change') found = e.index
      i += page.length
    }
    return found
  }

  // ---- membership ----

  /** Applies a committed membership change (called by the caller when it applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = applyToConfState(this.tracker.confState(), cc)
    this.tracker.setConfState(cs, this.log.lastIndex())
    if (cc.type === 'remove' && cc.nodeId === this.id) this.removed = true
    if (this.role !== 'leader') return cs
    if (!this.tracker.isVoter(this.id)) {
      // §6: a leader that is no longer part of the configuration steps down.
      this.becomeFollower(this.term, NONE)
      return cs
    }
    // The quorum changed: maybe more is committed now; new members get probed right away.
    if (this.maybeCommit()) bcastAppend(this)
    else for (const id of this.tracker.ids()) maybeSendAppend(this, id, false)
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NONE
    return cs
  }
}
