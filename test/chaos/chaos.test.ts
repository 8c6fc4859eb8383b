/**
 * The bounded chaos run for CI: a few fixed seeds, about 35 s of faults each (under a minute per
 * seed with start-up and checks), every fault kind eligible. A failure prints the seed, the run's
 * folder (history, faults, verdict) and the violations; `npm run chaos -- --seed N` replays the
 * same schedule of faults and operations.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runChaos } from './runner.ts'

const SEEDS = [1, 2, 3]
const TIME_SEC = 35

describe('chaos (bounded)', () => {
  for (const seed of SEEDS) {
    it(
      `seed ${seed}: linearizable, nothing lost, watches complete, members equal`,
      { timeout: 150_000 },
      async () => {
        const lines: string[] = []
        const result = await runChaos({ seed, timeSec: TIME_SEC, log: (line) => lines.push(line) })
        assert.ok(result.ok, `${lines.join('\n')}\nhistory in ${result.dir}`)
        assert.equal(result.summary['acknowledged writes lost'], 0)
      },
    )
  }
})
