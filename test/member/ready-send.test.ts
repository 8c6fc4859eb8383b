/**
 * A Ready's messages leave as soon as they are handed to the mesh (Mesh.flush), not at the end of
 * the event-loop turn: a leader's appends before its own fsync even starts to finish, a follower's
 * acknowledgement before it applies what it learned was committed. The member is held-member.ts's:
 * the production composition on a disk whose fsync the test holds, with a mesh that records each
 * flush.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fromLeaderB, leaderWithFollower, openHeld, type RecordingMesh, until } from './held-member.ts'

/** Whether the message sent at position `i` was out by a flush. */
function flushed(mesh: RecordingMesh, i: number): boolean {
  return i >= 0 && mesh.flushes.some((sentBy) => sentBy > i)
}

test("a leader's appends are flushed while its own fsync of them is still held", async () => {
  const { member, disk, mesh, b } = await leaderWithFollower(false)
  const fsync = disk.holdCall('fsync')
  try {
    const key = new TextEncoder().encode('flushed-early')
    const put = { key, value: new Uint8Array(1), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }
    const proposed = member.actor.propose({ type: 'put', request: put })
    proposed.catch(() => undefined)
    await fsync.reached
    const i = mesh.sent.findIndex((m) => m.type === 'MsgApp' && m.to === b && m.entries.some((e) => e.data.length > 0))
    assert.ok(i >= 0, 'the append went to b before the fsync was let go')
    assert.ok(flushed(mesh, i), `flushed: sent #${i}, flushes at ${JSON.stringify(mesh.flushes)}`)
    fsync.release()
    await proposed
  } finally {
    fsync.release()
    await member.stop()
  }
})

test("a follower's acknowledgement of an append is flushed once the append is durable", async () => {
  const { member, mesh } = await openHeld()
  const message = fromLeaderB(member)
  try {
    mesh.deliver(message('MsgApp', { logTerm: 1, index: 1, entries: [{ term: 2, index: 2, type: 'normal', data: new Uint8Array(0) }] }))
    await until('the append acknowledged', () => mesh.sent.some((m) => m.type === 'MsgAppResp' && m.index === 2))
    const i = mesh.sent.findIndex((m) => m.type === 'MsgAppResp' && m.index === 2)
    assert.ok(flushed(mesh, i), `flushed: sent #${i}, flushes at ${JSON.stringify(mesh.flushes)}`)
  } finally {
    await member.stop()
  }
})
