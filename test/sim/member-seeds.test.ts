/**
 * The member driver (the production actor with MVCC and storage, see member-node.ts) on fixed
 * seeds (a regression list: add every seed that ever failed, once fixed) plus one random seed per
 * run, printed as SEED=… so a failure can be replayed with the command in its message. Each run
 * must be safe throughout and converge to equal MVCC hashes with every acknowledged write present.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { formatSeed } from './prng.ts'
import { replayCommand } from './replay.ts'
import { runScenario } from './simulator.ts'

/** Swarm and storm profiles, with and without storage faults, spawned members and auto-compaction. */
const FIXED: readonly number[] = [0x1, 0x2, 0x3, 0x1234, 0xbeef, 0xcafe, 0xdead, 0xf00d, 0x7777, 0x2a2a2a, 0x2c8416b1, 0x22c9f1fd, 0x11275df3, 0x5ebb7e1d,
  0x18516600, 0xf3a3745f]

async function check(seed: number): Promise<void> {
  const r = await runScenario(seed, { driver: 'member' })
  const v = r.violations[0]
  assert.equal(
    v,
    undefined,
    v && `SEED=${formatSeed(seed)} ${v.rule} at ${v.time} ms on [${v.nodes}]: ${v.detail}\n` +
      `  replay: ${replayCommand(seed, null, 'member')}`,
  )
  assert.ok((r.counts['client.acked.put'] ?? 0) > 0, 'no put was acknowledged')
}

for (const seed of FIXED) test(`member seed ${formatSeed(seed)} is safe and converges`, () => check(seed))

test('member driver: one random seed is safe and converges', async () => {
  const seed = randomInt(0, 0x100000000)
  console.log(`SEED=${formatSeed(seed)} (replay: ${replayCommand(seed, null, 'member')})`)
  await check(seed)
})
