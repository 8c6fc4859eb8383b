/** The actor tells its owner when a checkpoint is durable (workers/member.ts frees the image then). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startSingleMember } from '../auth/single-member.ts'

test('onCheckpointed fires once per durable checkpoint, after --snapshot-count applied entries', async () => {
  let checkpoints = 0
  const solo = await startSingleMember({ flags: ['--snapshot-count', '10'], events: { onCheckpointed: () => checkpoints++ } })
  try {
    const put = (i: number) =>
      solo.member.actor.propose({
        type: 'put',
        request: { key: new TextEncoder().encode(`k${i}`), value: new Uint8Array(1), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
      })
    for (let i = 0; i < 5; i++) await put(i)
    assert.equal(checkpoints, 0, 'not before 10 entries')
    for (let i = 5; i < 25; i++) await put(i)
    const deadline = Date.now() + 5000
    while (checkpoints === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    assert.ok(checkpoints >= 1 && checkpoints <= 2, `${checkpoints} checkpoints for ~25 entries`)
  } finally {
    await solo.stop()
  }
})
