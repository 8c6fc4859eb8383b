/**
 * The public, single-threaded face of the Raft core. The caller feeds it time (`tick`), peer
 * messages (`step`) and requests (`propose`, `readIndex`, ...), and drains its output as Readys:
 *
 *   while (node.hasReady()) {
 *     const rd = node.ready()
 *     persist rd.snapshot, rd.entries, rd.hardState (one fsync if rd.mustSync)
 *     send rd.messages
 *     install rd.snapshot into the state machine; apply rd.committedEntries in order
 *       (calling applyConfChange for conf-change entries); serve rd.readStates once applied
 *     node.advance()
 *   }
 *
 * Invariant: at most one Ready is outstanding; ready() must be followed by advance() before the
 * next ready(). hasReady() never changes state and is false while a Ready is outstanding.
 *
 * @module
 */
import { encodeConfChange } from './conf-change-codec.ts'
import { makeMessage, Raft } from './raft.ts'
import { handleReadRequest, leaderPropose, transferLeadership } from './step-leader.ts'
import {
  MESSAGE_TYPES,
  NONE,
  type ConfChange,
  type ConfState,
  type Config,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ProgressStatus,
  type ProposalResult,
  type Ready,
  type Role,
  type SoftState,
  type Status,
} from './types.ts'

const OK: ProposalResult = { ok: true }
/** Every type a peer may send (all of them: none is local-only). */
const PEER_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(MESSAGE_TYPES)

/** What the outstanding Ready handed out, to be acknowledged by advance(). */
interface Handed {
  readonly softState: SoftState | null
  readonly hardState: HardState | null
  readonly lastEntry: Entry | null
  readonly snapshotIndex: number
  readonly lastCommitted: number
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

export class RawNode {
  readonly #raft: Raft
  /** The soft and hard state as of the last Ready (or the restored state at construction). */
  #prevSoft: SoftState
  #prevHard: HardState
  #handed: Handed | null = null

  /** Restores from `config.storage` (hard state, membership, log) as a follower. */
  constructor(config: Config) {
    this.#raft = new Raft(config)
    this.#prevSoft = this.#raft.softState()
    this.#prevHard = this.#raft.hardState()
  }

  /** One unit of logical time: an election tick for followers and candidates, a heartbeat tick for leaders. */
  tick(): void {
    this.#raft.tick()
  }

  /** Starts an election now (a pre-vote round first if enabled). Ignored by non-voters and leaders. */
  campaign(): void {
    this.#raft.hup(this.#raft.preVote ? 'pre-election' : 'election')
  }

  /**
   * A follower drops its leader (etcd-io/raft's ForgetLeader), staying a follower in its term:
   * for when something outside Raft shows the leader is gone (its connection closed). A follower
   * without a leader grants (pre-)votes at once instead of ignoring them for an election timeout
   * (§9.6's lease), so once a quorum of followers has forgotten a dead leader, a campaign wins
   * without waiting out the timeouts. Safety does not depend on the lease (reads here are
   * ReadIndex, never lease-based); a leader that is alive after all is followed again at its next
   * heartbeat. Ignored by leaders and candidates.
   */
  forgetLeader(): void {
    const r = this.#raft
    if (r.role === 'follower') r.lead = NONE
  }

  /** Feeds a message from a peer. Messages not addressed to this node, or of unknown type, are ignored. */
  step(m: Message): void {
    if (m.to !== this.#raft.id || !PEER_MESSAGE_TYPES.has(m.type)) return
    this.#raft.step(m)
  }

  propose(data: Uint8Array): ProposalResult {
    return this.#propose([normalEntry(data)])
  }

  /**
   * Proposes several entries at once, in this order: all are accepted or all refused (one
   * answer). A leader appends them together and sends one append per follower; a follower
   * forwards them in one MsgProp. Proposing them one at a time does the same work per entry.
   */
  proposeBatch(data: readonly Uint8Array[]): ProposalResult {
    return this.#propose(data.map(normalEntry))
  }

  /** Proposes a membership change; it takes effect on each member when applied (applyConfChange). */
  proposeConfChange(cc: ConfChange): ProposalResult {
    return this.#propose([{ term: 0, index: 0, type: 'conf-change', data: encodeConfChange(cc) }])
  }

  #propose(entries: Entry[]): ProposalResult {
    const r = this.#raft
    if (r.role === 'leader') {
      const error = leaderPropose(r, entries)
      return error === null ? OK : { ok: false, error }
    }
    if (r.removed) return { ok: false, error: 'removed' }
    if (r.role !== 'follower' || r.lead === NONE) return { ok: false, error: 'no-leader' }
    // Followers forward; the leader validates (and may drop) on arrival.
    r.send({ type: 'MsgProp', to: r.lead, term: 0, entries })
    return OK
  }

  /** The caller applied a committed conf-change entry; returns the membership now in effect. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.#raft.applyConfChange(cc)
  }

  /**
   * Asks for a linearizable read point. Answered later by a ReadState carrying `ctx` (on this node,
   * whether leader or follower); lost if leadership changes meanwhile, so the caller needs a timeout.
   */
  readIndex(ctx: Uint8Array): ProposalResult {
    const r = this.#raft
    if (r.role === 'leader') {
      handleReadRequest(r, ctx, r.id)
      return OK
    }
    if (r.role !== 'follower' || r.lead === NONE) return { ok: false, error: 'no-leader' }
    r.send({ type: 'MsgReadIndex', to: r.lead, term: 0, context: ctx })
    return OK
  }

  /** Asks the leader to hand leadership to `to`. Ignored for self, unknown members and learners. */
  transferLeader(to: NodeId): void {
    const r = this.#raft
    if (r.role === 'leader') transferLeadership(r, to)
    else if (r.role === 'follower' && r.lead !== NONE) {
      // The message names the requested new leader as its sender (see Message in types.ts).
      r.msgs.push(makeMessage({ type: 'MsgTransferLeader', from: to, to: r.lead, term: r.term }))
    }
  }

  /** The transport could not reach `id`: stop streaming to it and probe instead. */
  reportUnreachable(id: NodeId): void {
    const pr = this.#raft.role === 'leader' ? this.#raft.tracker.progress(id) : undefined
    if (pr?.state === 'replicate') pr.becomeProbe()
  }

  /**
   * The outcome of sending a MsgSnap to `id`. The transport MUST report every MsgSnap it was
   * handed (a lost one without a report leaves the follower waiting for a snapshot forever).
   */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.#raft.role === 'leader' ? this.#raft.tracker.progress(id) : undefined
    if (pr?.state === 'snapshot') pr.snapshotReported(ok)
  }

  /**
   * The lowest index of a snapshot this leader is sending to a follower, or that a follower got
   * and has not acknowledged yet; null when there is none (or this node does not lead). Once the
   * follower has installed it, it needs the entries right after it: the log must not be compacted
   * past this index meanwhile (etcd's server holds compaction the same way), or a follower that
   * installs slower than the log grows would need snapshot after snapshot.
   */
  snapshotInFlight(): number | null {
    const r = this.#raft
    if (r.role !== 'leader') return null
    let lowest: number | null = null
    for (const id of r.tracker.ids()) {
      const floor = r.tracker.progress(id)?.compactionFloor ?? 0
      if (floor > 0 && (lowest === null || floor < lowest)) lowest = floor
    }
    return lowest
  }

  hasReady(): boolean {
    if (this.#handed !== null) return false
    const r = this.#raft
    const soft = r.softState()
    return (
      soft.lead !== this.#prevSoft.lead ||
      soft.role !== this.#prevSoft.role ||
      !sameHardState(r.hardState(), this.#prevHard) ||
      r.log.pendingSnapshot() !== null ||
      r.log.unstableEntries().length > 0 ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    )
  }

  /** The next batch of work; see the module doc for the order in which to handle it. */
  ready(): Ready {
    if (this.#handed !== null) throw new Error('raft: ready() called again before advance()')
    const r = this.#raft
    const soft = r.softState()
    const hard = r.hardState()
    const softState = soft.lead !== this.#prevSoft.lead || soft.role !== this.#prevSoft.role ? soft : null
    const hardState = sameHardState(hard, this.#prevHard) ? null : hard
    const entries = [...r.log.unstableEntries()]
    const snapshot = r.log.pendingSnapshot()
    const committedEntries = r.log.nextCommittedEntries(r.maxCommittedSizePerReady)
    const messages = r.msgs
    const readStates = r.readStates
    r.msgs = []
    r.readStates = []
    const lastCommitted = committedEntries[committedEntries.length - 1]?.index ?? 0
    if (lastCommitted > 0) r.log.acceptApplying(lastCommitted)
    this.#handed = {
      softState,
      hardState,
      lastEntry: entries[entries.length - 1] ?? null,
      snapshotIndex: snapshot?.metadata.index ?? 0,
      lastCommitted,
    }
    const mustSync =
      entries.length > 0 ||
      snapshot !== null ||
      (hardState !== null && (hardState.term !== this.#prevHard.term || hardState.vote !== this.#prevHard.vote))
    return { softState, hardState, entries, snapshot, committedEntries, messages, readStates, mustSync }
  }

  /**
   * While a Ready is outstanding, takes the heartbeat traffic queued for the next one, for the
   * caller to send at once: a leader's heartbeats and a follower's answers to them. Persisting a
   * Ready can take long (installing a large snapshot, a slow fsync). A leader that sent no
   * heartbeat meanwhile would have its followers campaign although it is alive; a follower that
   * answered none would cost a leader that needs it for its quorum its leadership (CheckQuorum).
   *
   * Sending them early is safe. Only messages in the term of the last advanced hard state are
   * taken, which is durable (a term the outstanding Ready changes is not, and Raft must not speak
   * in a term it may forget). A heartbeat carries that term and a commit index no higher than what
   * the follower acknowledged as durable, and the leader counts its own log only once persisted
   * (Raft.onPersisted), so it announces nothing that is not committed. An answer carries the
   * heartbeat's context and vouches for nothing in the follower's log; answers go marked `reject`
   * ("busy"): the leader counts the follower as active and the answer toward its read-index
   * round, but does not probe it again, as it would after a plain answer (a probe per heartbeat
   * while the follower persists). Of several queued for one peer (one per tick since the Ready
   * went out) only the newest goes: it carries the newest commit index and read-index round, and
   * only acks of the round in flight count. Returns [] when no Ready is outstanding: the
   * messages then go out with the next one.
   */
  takeHeartbeats(): Message[] {
    if (this.#handed === null) return []
    const r = this.#raft
    const durableTerm = this.#prevHard.term
    const early = (m: Message): boolean =>
      (m.type === 'MsgHeartbeat' || m.type === 'MsgHeartbeatResp') && m.term === durableTerm
    if (!r.msgs.some(early)) return []
    const newest = new Map<NodeId, Message>()
    for (const m of r.msgs) if (early(m)) newest.set(m.to, m.type === 'MsgHeartbeatResp' ? { ...m, reject: true } : m)
    r.msgs = r.msgs.filter((m) => !early(m))
    return [...newest.values()]
  }

  /** The role Raft is in now (the soft state of the next Ready, not of the last one handled). */
  get role(): Role {
    return this.#raft.role
  }

  /** The current term: status().term without building the rest of the status. */
  get term(): number {
    return this.#raft.term
  }

  /** The last Ready was fully handled: persisted, sent, applied. */
  advance(): void {
    const h = this.#handed
    if (h === null) throw new Error('raft: advance() without an outstanding ready()')
    this.#handed = null
    const r = this.#raft
    if (h.softState) this.#prevSoft = h.softState
    if (h.hardState) this.#prevHard = h.hardState
    if (h.snapshotIndex > 0) {
      r.log.stableSnapTo(h.snapshotIndex)
      r.log.appliedTo(h.snapshotIndex)
    }
    if (h.lastEntry) r.log.stableTo(h.lastEntry.index, h.lastEntry.term)
    if (h.lastCommitted > 0) r.log.appliedTo(h.lastCommitted)
    // Only now may a leader count its own copy of the entries it just persisted.
    r.onPersisted()
  }

  /** The membership in effect: status().confState without the rest of the status (no per-follower progress). */
  confState(): ConfState {
    return this.#raft.tracker.confState()
  }

  status(): Status {
    const r = this.#raft
    let progress: Map<NodeId, ProgressStatus> | null = null
    if (r.role === 'leader') {
      progress = new Map()
      for (const id of r.tracker.ids()) {
        const pr = r.tracker.progress(id)
        if (pr) progress.set(id, pr.status())
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      confState: r.tracker.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    }
  }
}

function normalEntry(data: Uint8Array): Entry {
  return { term: 0, index: 0, type: 'normal', data }
}
