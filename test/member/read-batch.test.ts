/**
 * Linearizable reads that arrive before a member's next Ready share one read index (actor.ts
 * #readBatch): a follower asks its leader once for all of them, and each waits for the answer.
 * A read that arrives after that ask gets an ask of its own: an index fixed before it arrived
 * could miss a write acknowledged in between.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { memberIdFor } from '../../src/member/index.ts'
import type { Message } from '../../src/raft/types.ts'
import { fromLeaderB, openHeld, TOKEN, until, URLS } from './held-member.ts'

test('a follower asks its leader once for the reads of one turn, and again for a read after that', async () => {
  const { member, mesh } = await openHeld()
  const leader = memberIdFor([URLS.b], TOKEN)
  const message = fromLeaderB(member)
  const asks = (): Message[] => mesh.sent.filter((m) => m.type === 'MsgReadIndex')
  const settled = new Set<number>()
  const read = (n: number): Promise<void> => member.actor.linearizableRead().then(() => void settled.add(n))
  try {
    mesh.deliver(message('MsgHeartbeat', {}))
    await until('a follows b', () => member.actor.leader === leader)

    const first = [1, 2, 3, 4, 5].map(read)
    await until('the first ask', () => asks().length === 1)
    const later = read(6)
    await until('the second ask', () => asks().length === 2)
    const [one, two] = asks() as [Message, Message]
    assert.deepEqual([one.to, two.to], [leader, leader])
    assert.notDeepEqual(one.context, two.context, 'each ask has its own context')
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(asks().length, 2, 'no ask per read')
    assert.deepEqual([...settled], [], 'no read answered before its read index')

    mesh.deliver(message('MsgReadIndexResp', { index: 1, context: one.context }))
    await Promise.all(first)
    assert.deepEqual([...settled].sort(), [1, 2, 3, 4, 5])
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(settled.has(6), false, 'the later read waits for its own ask')

    mesh.deliver(message('MsgReadIndexResp', { index: 1, context: two.context }))
    await later
    assert.equal(settled.has(6), true)
  } finally {
    await member.stop()
  }
})
