/** buffer-reclaim.ts: a major collection once dropped buffers add up or a checkpoint ends, one at a time; V8's gc really frees them. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BufferReclaim, exposedGc } from '../../src/member/buffer-reclaim.ts'

const MiB = 1024 * 1024

test('collects only once the buffers grew past the slack since the last collection, one at a time', async () => {
  let bytes = 100 * MiB
  const started: Array<() => void> = []
  const reclaim = new BufferReclaim({
    slackBytes: 16 * MiB,
    arrayBuffers: () => bytes,
    collect: () => new Promise<void>((resolve) => started.push(resolve)),
  })
  bytes += 16 * MiB
  await reclaim.check()
  assert.equal(reclaim.collections, 0, 'within the slack')
  bytes += 1
  const first = reclaim.check()
  void reclaim.check()
  assert.equal(reclaim.collections, 1, 'not a second one while the first runs')
  bytes = 120 * MiB // what the collection left
  started[0]?.()
  await first
  bytes = 130 * MiB
  await reclaim.check()
  assert.equal(reclaim.collections, 1, 'the slack counts from what the collection left')
  bytes = 137 * MiB
  void reclaim.check()
  assert.equal(reclaim.collections, 2)
  started[1]?.()
  await new Promise((resolve) => setImmediate(resolve))
  const afterCheckpoint = reclaim.collect() // whatever the growth
  assert.equal(reclaim.collections, 3)
  started[2]?.()
  await afterCheckpoint
})

/** Allocates 64 MiB of buffers and drops them (in a plain function: no async frame keeps them); the array buffers' bytes while they were held. */
function allocateAndDrop(): number {
  const held = Array.from({ length: 8 }, () => new Uint8Array(8 * MiB).fill(1))
  return held.length > 0 ? process.memoryUsage().arrayBuffers : 0
}

test("V8's gc, exposed at run time, frees dropped array buffers", async () => {
  const gc = exposedGc()
  const before = allocateAndDrop()
  assert.ok(before >= 64 * MiB)
  let after = before
  // Incremental marking can finish with the buffers still reachable from a frame that was live
  // when it started; a later collection frees them.
  for (let i = 0; i < 3 && after > before - 48 * MiB; i++) {
    await gc({ type: 'major', execution: 'async' })
    await new Promise((resolve) => setImmediate(resolve))
    after = process.memoryUsage().arrayBuffers
  }
  assert.ok(after < before - 48 * MiB, `array buffers ${(before / MiB).toFixed(0)} → ${(after / MiB).toFixed(0)} MiB`)
})
