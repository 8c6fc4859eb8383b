/**
 * How a leader handles messages of its current term and the requests made of it: proposals
 * (including membership changes), replication acknowledgements, heartbeat answers, ReadIndex
 * requests and leadership transfer.
 *
 * @module
 */
import { decodeConfChange } from './conf-change-codec.ts'
import { checkConfChange } from './membership.ts'
import type { Raft } from './raft.ts'
import type { PendingRead } from './read-only.ts'
import { decodeRoundId } from './read-only.ts'
import { bcastAppend, bcastHeartbeat, maybeSendAppend, sendTimeoutNow } from './replication.ts'
import type { Progress } from './tracker/progress.ts'
import { NONE, type Entry, type Message, type NodeId, type ProposalError } from './types.ts'

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgProp':
      // Forwarded proposals that are refused are dropped; the proposer retries on timeout.
      leaderPropose(r, m.entries)
      return
    case 'MsgReadIndex':
      handleReadRequest(r, m.context, m.from)
      return
    case 'MsgTransferLeader':
      transferLeadership(r, m.from)
      return
    default:
      break
  }
  const pr = r.tracker.progress(m.from)
  if (pr === undefined) return
  if (m.type === 'MsgAppResp') handleAppResp(r, m, pr)
  else if (m.type === 'MsgHeartbeatResp') handleHeartbeatResp(r, m, pr)
}

/**
 * Appends proposed entries and sends them out. A conf-change entry that may not be proposed now is
 * left out; the first such refusal is returned (null if everything was accepted).
 */
export function leaderPropose(r: Raft, ents: readonly Entry[]): ProposalError | null {
  // §3.10: proposals would be lost by the handover; refuse them until the transfer ends.
  if (r.leadTransferee !== NONE) return 'transferring'
  const accepted: Entry[] = []
  let refused: ProposalError | null = null
  for (const e of ents) {
    const index = r.log.lastIndex() + accepted.length + 1
    if (e.type === 'conf-change') {
      const err = confChangeError(r, e)
      if (err !== null) {
        refused ??= err
        continue
      }
      r.pendingConfIndex = index
    }
    accepted.push(e)
  }
  if (accepted.length > 0) {
    r.appendEntries(accepted)
    bcastAppend(r)
  }
  return refused
}

function confChangeError(r: Raft, e: Entry): ProposalError | null {
  let cc
  try {
    cc = decodeConfChange(e.data)
  } catch {
    return 'invalid-conf-change'
  }
  // Until an entry of our term is committed, an earlier leader's change may still commit.
  if (!r.committedOwnTerm()) return 'not-leader-term-committed'
  // One change at a time: the previous one must be applied (in effect) first.
  if (r.pendingConfIndex > r.log.applied) return 'conf-change-pending'
  return checkConfChange(r.tracker.confState(), cc, (id) => r.tracker.progress(id)?.match ?? 0, r.log.lastIndex())
}

function handleAppResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true
  if (m.reject) {
    // Fast backtracking: skip every entry of ours with a term above the follower's at the hint.
    const nextProbe = m.logTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === 'replicate') pr.becomeProbe()
      maybeSendAppend(r, m.from, true)
    }
    return
  }
  const wasPaused = pr.isPaused()
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return
  if (pr.state === 'probe') {
    pr.becomeReplicate()
  } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
    // Caught up through the snapshot (or otherwise): stream from here on.
    pr.becomeProbe()
    pr.becomeReplicate()
  } else if (pr.state === 'replicate') {
    pr.freeInflightsLE(m.index)
  }
  if (r.maybeCommit()) bcastAppend(r)
  else if (wasPaused) maybeSendAppend(r, m.from, true)
  while (maybeSendAppend(r, m.from, false)) {
    // Keep filling the follower's inflight window.
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from)
}

function handleHeartbeatResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true
  // A busy follower's answer says it is alive, not that it is ready for more: a probe resent at
  // each one would only pile up copies of what it is persisting (and, answered all at once, mix
  // up where it stands).
  if (!m.reject) {
    pr.heartbeatAnswered()
    // Also an empty probe in replicate state, so an append lost in flight is noticed. Not when an
    // append to it is still queued: that one is the probe (answers to heartbeats sent while this
    // leader persists a slow Ready would otherwise queue a copy of the probe each).
    const queued = r.msgs.some((q) => q.type === 'MsgApp' && q.to === m.from)
    if (pr.match < r.log.lastIndex() && !queued) maybeSendAppend(r, m.from, true)
  }
  const round = decodeRoundId(m.context)
  if (round === 0) return
  const { released, startedNext } = r.readOnly.ack(round, m.from, r.tracker.voters, r.id)
  for (const read of released) respondRead(r, read)
  if (startedNext) bcastHeartbeat(r)
}

/** A ReadIndex request from `from` (this node itself for local reads). */
export function handleReadRequest(r: Raft, ctx: Uint8Array, from: NodeId): void {
  // §6.4: until an entry of our term is committed, our commit index may be behind the cluster's.
  if (!r.committedOwnTerm()) {
    r.pendingReads.push({ ctx, from })
    return
  }
  const read: PendingRead = { ctx, from, index: r.log.committed }
  const voters = r.tracker.voters
  if (voters.length === 1 && voters[0] === r.id) {
    respondRead(r, read)
    return
  }
  if (r.readOnly.add(read, r.id)) bcastHeartbeat(r)
}

/** Serves reads that waited for this leader's first commit (called when commit moves). */
export function releasePendingReads(r: Raft): void {
  if (r.role !== 'leader' || r.pendingReads.length === 0 || !r.committedOwnTerm()) return
  const reads = r.pendingReads
  r.pendingReads = []
  for (const { ctx, from } of reads) handleReadRequest(r, ctx, from)
}

function respondRead(r: Raft, read: PendingRead): void {
  if (read.from === r.id) r.readStates.push({ index: read.index, ctx: read.ctx })
  else r.send({ type: 'MsgReadIndexResp', to: read.from, index: read.index, context: read.ctx })
}

/** §3.10: bring `to` up to date, then tell it to campaign at once. */
export function transferLeadership(r: Raft, to: NodeId): void {
  const pr = r.tracker.progress(to)
  if (to === r.id || pr === undefined || pr.isLearner) return
  if (r.leadTransferee === to) return
  // The transfer must finish within an election timeout (counted from now), or it is abandoned.
  r.electionElapsed = 0
  r.leadTransferee = to
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to)
  else maybeSendAppend(r, to, true)
}
