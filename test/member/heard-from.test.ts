/**
 * What counts as hearing from a peer (MemberActor.heardFrom: the started test of membership
 * changes, the quorum a lease renewal needs): its answers to this leader's appends and
 * heartbeats, which prove it hears the leader too; not any message, since a member this leader
 * cannot reach (at a wrong peer URL, say) still campaigns.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from '../../src/raft/index.ts'
import { memberIdFor } from '../../src/member/index.ts'
import { leaderWithFollower, TOKEN, URLS } from './held-member.ts'

test('a leader hears from a follower that answers it, not from a member that only campaigns', async () => {
  const { member, mesh, b } = await leaderWithFollower(false)
  try {
    const c = memberIdFor([URLS.c], TOKEN)
    // c cannot hear the leader: it times out and asks for votes, again and again.
    for (let i = 0; i < 3; i++) {
      const campaign: Message = {
        type: 'MsgPreVote', from: c, to: member.identity.memberId, term: member.actor.term + 1, logTerm: 0, index: 0,
        commit: 0, entries: [], reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0),
      }
      mesh.deliver(campaign)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(member.actor.isLeader, true)
    assert.equal(member.actor.heardFrom(b, 1000), true, 'b answers the heartbeats')
    assert.equal(member.actor.heardFrom(c, 1000), false, 'c only campaigns')
  } finally {
    await member.stop()
  }
})
