/**
 * The checkers must catch a broken Raft: for each unsafe knob, search a bounded number of swarm
 * seeds for a violation, and require that it is found and that its report names its seed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UNSAFE_KNOBS } from './options.ts'
import { formatSeed } from './prng.ts'
import { replayCommand, swarmSeeds } from './replay.ts'
import { runScenario } from './simulator.ts'

const BASE = 0xb40c3
const MAX_SEEDS = 600

for (const knob of UNSAFE_KNOBS) {
  test(`--unsafe ${knob}: some seed within ${MAX_SEEDS} violates safety, and the report carries it`, () => {
    for (const seed of swarmSeeds(BASE, MAX_SEEDS)) {
      const r = runScenario(seed, { unsafe: knob })
      const v = r.violations.find((x) => x.rule !== 'liveness')
      if (v === undefined) continue
      assert.equal(v.seed, seed)
      assert.equal(r.options.unsafe, knob)
      console.log(`${knob}: ${v.rule} at ${v.time} ms; replay: ${replayCommand(seed, knob)}`)
      const again = runScenario(seed, { unsafe: knob })
      assert.equal(again.violations[0]?.rule, r.violations[0]?.rule, 'replay differs')
      return
    }
    assert.fail(`no violation in ${MAX_SEEDS} seeds from base ${formatSeed(BASE)}`)
  })
}
