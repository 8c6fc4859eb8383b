/**
 * A member whose Ready takes long to persist (a slow fsync here; installing a large snapshot in
 * production) keeps up its side of the heartbeats meanwhile, once the Ready has taken a quarter
 * of an election timeout: a follower answers its leader's, so the leader keeps its quorum, and a
 * leader sends its own, so its followers do not campaign.
 * The member is held-member.ts's: the production composition on a disk whose fsync the test holds.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from '../../src/raft/types.ts'
import type { GatedDisk } from '../storage/gated-disk.ts'
import { fromLeaderB, leaderWithFollower, openHeld, RecordingMesh, until } from './held-member.ts'

test('a follower answers heartbeats in its durable term while a Ready waits long for its fsync', async () => {
  const { member, disk, mesh } = await openHeld()
  const message = fromLeaderB(member)
  const answers = (ctx: string): Message[] =>
    mesh.sent.filter((m) => m.type === 'MsgHeartbeatResp' && new TextDecoder().decode(m.context) === ctx)
  let fsync: ReturnType<GatedDisk['holdCall']> | null = null
  try {
    // Term 2 becomes durable with the answer to the leader's first heartbeat.
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('first') }))
    await until('the first answer', () => answers('first').length === 1)

    // An entry to persist, whose fsync is held: the Ready stays out.
    fsync = disk.holdCall('fsync')
    mesh.deliver(message('MsgApp', { logTerm: 1, index: 1, entries: [{ term: 2, index: 2, type: 'normal', data: new Uint8Array(0) }] }))
    await fsync.reached
    const held = Date.now()
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('soon') }))
    assert.deepEqual(answers('soon'), [], 'a Ready that has not yet taken long keeps its answers')
    await new Promise((r) => setTimeout(r, Math.max(0, held + 300 - Date.now())))
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('late') }))
    await until('an answer during the fsync', () => answers('late').length === 1)
    assert.deepEqual(answers('late').map((m) => m.reject), [true], 'marked busy')
    assert.equal(mesh.sent.filter((m) => m.type === 'MsgAppResp').length, 0, 'the append is not acknowledged before its fsync')

    fsync.release()
    await until('the append acknowledged', () => mesh.sent.some((m) => m.type === 'MsgAppResp' && m.index === 2))
    // 'soon' went at a tick past the quarter, or was superseded by 'late' (the newest goes).
    assert.ok(answers('soon').length <= 1 && answers('late').length === 1, 'answered at most once')
  } finally {
    fsync?.release()
    await member.stop()
  }
})

/** When a sent heartbeats to b from `held` on, in ms after it. */
function heartbeatsSince(mesh: RecordingMesh, b: number, held: number): number[] {
  return mesh.sent
    .map((m, i) => ({ m, at: mesh.sentAt[i] as number }))
    .filter(({ m, at }) => m.type === 'MsgHeartbeat' && m.to === b && at >= held)
    .map(({ at }) => at - held)
}

for (const newLeader of [false, true]) {
  const which = newLeader ? 'a new leader whose first Ready' : 'a leader whose Ready'
  test(`${which} waits long for its fsync keeps sending heartbeats, up to an election timeout`, async () => {
    const setup = await leaderWithFollower(newLeader)
    const { member, disk, mesh, b } = setup
    let fsync = setup.fsync
    let proposed: Promise<unknown> = Promise.resolve()
    try {
      if (fsync === null) {
        // A proposal whose fsync is held.
        fsync = disk.holdCall('fsync')
        const put = { key: new TextEncoder().encode('k'), value: new Uint8Array(1), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }
        proposed = member.actor.propose({ type: 'put', request: put })
        proposed.catch(() => undefined) // awaited below; a failed assertion before that stops the member
      }
      // Held for 1.6 s: longer than an election timeout.
      await fsync.reached
      const held = Date.now()
      await new Promise((r) => setTimeout(r, 1600))
      const heartbeatsAt = heartbeatsSince(mesh, b, held)
      const seen = JSON.stringify(heartbeatsAt)
      assert.ok(heartbeatsAt.filter((at) => at < 1000).length >= 3, `heartbeats to b during the fsync at ${seen} ms`)
      // The Ready was taken before `held`: an election timeout after it had passed by then.
      assert.deepEqual(heartbeatsAt.filter((at) => at >= 1005), [], `none once the fsync took an election timeout: ${seen}`)

      fsync.release()
      await proposed
      await until('a leads', () => member.actor.isLeader)
    } finally {
      fsync?.release()
      await member.stop()
    }
  })
}

test('a follower stops answering once its Ready has been out for five election timeouts', async () => {
  const { member, disk, mesh } = await openHeld(50, 250)
  const message = fromLeaderB(member)
  const heartbeat = (ctx: string): void => mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode(ctx) }))
  const answersSent = (): Array<{ ctx: string; at: number }> =>
    mesh.sent.flatMap((m, i) =>
      m.type === 'MsgHeartbeatResp' ? [{ ctx: new TextDecoder().decode(m.context), at: mesh.sentAt[i] as number }] : [],
    )
  let fsync: ReturnType<GatedDisk['holdCall']> | null = null
  try {
    heartbeat('first')
    await until('the first answer', () => answersSent().some((a) => a.ctx === 'first'))

    fsync = disk.holdCall('fsync')
    mesh.deliver(message('MsgApp', { logTerm: 1, index: 1, entries: [{ term: 2, index: 2, type: 'normal', data: new Uint8Array(0) }] }))
    await fsync.reached
    const held = Date.now()
    // Heartbeats every 40 ms for 1.6 s (they also keep the follower from campaigning).
    let n = 0
    while (Date.now() - held < 1600) {
      heartbeat(`hb${n++}`)
      await new Promise((r) => setTimeout(r, 40))
    }
    const during = answersSent().filter((a) => a.at >= held).map((a) => a.at - held)
    assert.ok(during.length >= 3, `answers during the fsync at ${JSON.stringify(during)} ms`)
    // Five election timeouts (1250 ms) after the Ready was taken, which was before `held`.
    assert.deepEqual(during.filter((at) => at >= 1255), [], `none once the fsync took five election timeouts: ${JSON.stringify(during)}`)

    fsync.release()
    await until('the last heartbeat answered', () => answersSent().some((a) => a.ctx === `hb${n - 1}`))
  } finally {
    fsync?.release()
    await member.stop()
  }
})
