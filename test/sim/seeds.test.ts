/**
 * Fixed seeds (a regression list: add every seed that ever failed, once fixed) plus one random
 * seed per run, printed as SEED=… so a failure can be replayed with the command in its message.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { formatSeed } from './prng.ts'
import { replayCommand } from './replay.ts'
import { runScenario } from './simulator.ts'

const FIXED: readonly number[] = [
  0x1, 0x2, 0x3, 0x1234, 0xbeef, 0xcafe, 0xdead, 0xf00d, 0x5eed, 0x7777, 0x10000, 0x2a2a2a, 0x31337,
  0xabcdef, 0xfeedface, 0xc0ffee, 0xbadc0de, 0x8badf00d, 0x1badb002, 0xdeadbeef, 0x0ddba11, 0xace0fba5,
  0x12345678, 0x9abcdef0, 0x55555555, 0xaaaaaaaa, 0x13579bdf, 0x2468ace0, 0x7fffffff, 0xffffffff,
  // Storms with one entry per MsgApp and hundreds of entries to catch up after healing, before a
  // leader queued one probe per heartbeat answer.
  0x4b6e7118, 0x7b14c4b3, 0xbab91d2e,
  // Without PreVote a stale candidate kept splitting the vote for 35 terms, before the same.
  0x81caabd9,
  // Catch-ups one entry per MsgApp that take longer than the base bound (liveness-bound.test.ts).
  0x11068, 0x109ea, 0x1006e,
]

async function check(seed: number): Promise<void> {
  const r = await runScenario(seed)
  const v = r.violations[0]
  assert.equal(
    v,
    undefined,
    v && `SEED=${formatSeed(seed)} ${v.rule} at ${v.time} ms on [${v.nodes}]: ${v.detail}\n` +
      `  replay: ${replayCommand(seed)}`,
  )
}

for (const seed of FIXED) test(`seed ${formatSeed(seed)} is safe and converges`, () => check(seed))

test('one random seed is safe and converges', async () => {
  const seed = randomInt(0, 0x100000000)
  console.log(`SEED=${formatSeed(seed)}`)
  await check(seed)
})
