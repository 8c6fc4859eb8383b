/**
 * The checkers must catch a broken Raft and a broken member: for each unsafe knob, search a bounded
 * number of swarm seeds for a violation, and require that it is found, that its report names its
 * seed, and that replaying the seed gives the same violation.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MEMBER_UNSAFE_KNOBS, UNSAFE_KNOBS, type Driver, type UnsafeKnob } from './options.ts'
import { formatSeed } from './prng.ts'
import { replayCommand, swarmSeeds } from './replay.ts'
import { runScenario } from './simulator.ts'

const BASE = 0xb40c3

/** (driver, knob, seeds searched): member runs cost ~100× more, and their knob fails sooner. */
const CASES: ReadonlyArray<readonly [Driver, UnsafeKnob, number]> = [
  ...UNSAFE_KNOBS.map((knob) => ['raft', knob, 600] as const),
  ...MEMBER_UNSAFE_KNOBS.map((knob) => ['member', knob, 20] as const),
]

for (const [driver, knob, maxSeeds] of CASES) {
  const name = `--driver ${driver} --unsafe ${knob}`
  test(`${name}: some seed within ${maxSeeds} violates safety, and the report carries it`, async () => {
    for (const seed of swarmSeeds(BASE, maxSeeds)) {
      const r = await runScenario(seed, { unsafe: knob, driver })
      const v = r.violations.find((x) => x.rule !== 'liveness')
      if (v === undefined) continue
      assert.equal(v.seed, seed)
      assert.equal(r.options.unsafe, knob)
      console.log(`${knob}: ${v.rule} at ${v.time} ms; replay: ${replayCommand(seed, knob, driver)}`)
      const again = await runScenario(seed, { unsafe: knob, driver })
      assert.equal(again.violations[0]?.rule, r.violations[0]?.rule, 'replay differs')
      return
    }
    assert.fail(`no violation in ${maxSeeds} seeds from base ${formatSeed(BASE)}`)
  })
}
