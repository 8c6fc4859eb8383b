/**
 * How a follower handles messages of its current term, and the receiving side of replication
 * (AppendEntries, heartbeats, InstallSnapshot), which candidates use too once they learn of a
 * leader.
 *
 * @module
 */
import type { Raft } from './raft.ts'
import { NONE, type Message } from './types.ts'

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgProp':
    case 'MsgReadIndex':
    case 'MsgTransferLeader':
      // Forward to the leader, keeping the original sender (the requester); drop if there is none.
      if (r.lead !== NONE) r.msgs.push({ ...m, to: r.lead })
      return
    case 'MsgApp':
      r.electionElapsed = 0
      r.lead = m.from
      handleAppendEntries(r, m)
      return
    case 'MsgHeartbeat':
      r.electionElapsed = 0
      r.lead = m.from
      handleHeartbeat(r, m)
      return
    case 'MsgSnap':
      r.electionElapsed = 0
      r.lead = m.from
      handleSnapshot(r, m)
      return
    case 'MsgTimeoutNow':
      // §3.10: the leader hands over; campaign at once (no pre-vote: we know the leader agrees).
      r.hup('transfer')
      return
    case 'MsgReadIndexResp':
      if (!m.reject) r.readStates.push({ index: m.index, ctx: m.context })
      return
    default:
      return
  }
}

/** §5.3: accept entries only if our log holds the entry right before them (the consistency check). */
export function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Already committed here, so it matches: tell the leader how far we are.
    r.send({ type: 'MsgAppResp', to: m.from, index: r.log.committed })
    return
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
  if (lastNew !== null) {
    r.send({ type: 'MsgAppResp', to: m.from, index: lastNew })
    return
  }
  // Fast backtracking: point the leader at our last entry whose term is <= the term it probed
  // with; everything of a conflicting term is skipped in one round trip.
  const { index, term } = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm)
  r.send({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: index, logTerm: term })
}

export function handleHeartbeat(r: Raft, m: Message): void {
  // The leader caps the commit at what we are known to hold, so this never exceeds our log.
  r.log.commitTo(m.commit)
  r.send({ type: 'MsgHeartbeatResp', to: m.from, context: m.context })
}

export function handleSnapshot(r: Raft, m: Message): void {
  if (m.snapshot === null) return
  const index = r.restore(m.snapshot) ? r.log.lastIndex() : r.log.committed
  r.send({ type: 'MsgAppResp', to: m.from, index })
}
