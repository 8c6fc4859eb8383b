/**
 * How a candidate or pre-candidate handles messages of its current term: count votes, and give
 * up as soon as a leader of this term shows itself.
 *
 * @module
 */
import type { Raft } from './raft.ts'
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from './step-follower.ts'
import { NONE, type Message } from './types.ts'
import { bcastAppend } from './replication.ts'

export function stepCandidate(r: Raft, m: Message): void {
  // Only answers to our own kind of request count: a pre-candidate ignores stale real votes.
  const myVoteResp = r.role === 'pre-candidate' ? 'MsgPreVoteResp' : 'MsgVoteResp'
  switch (m.type) {
    case 'MsgApp':
      r.becomeFollower(m.term, m.from)
      handleAppendEntries(r, m)
      return
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from)
      handleHeartbeat(r, m)
      return
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from)
      handleSnapshot(r, m)
      return
    case myVoteResp: {
      const result = r.poll(m.from, !m.reject)
      if (result === 'won') {
        if (r.role === 'pre-candidate') {
          r.campaign('election')
        } else {
          r.becomeLeader()
          bcastAppend(r)
        }
      } else if (result === 'lost') {
        // A rejection at a higher term already made us a follower there (raft.step).
        r.becomeFollower(r.term, NONE)
      }
      return
    }
    default:
      // Proposals and reads are dropped: there is no leader to forward them to.
      return
  }
}
