/** The liveness bound: room for a one-entry-per-message catch-up, and none beyond the base otherwise. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backlogEntries, livenessBoundMs } from './liveness-bound.ts'
import type { NodeStatus } from './node-port.ts'
import type { ScenarioOptions } from './options.ts'
import { runScenario, scenarioOptions } from './simulator.ts'

function node(id: number, commit: number, applied: number, lastIndex: number): NodeStatus {
  return {
    id, term: 3, role: 'follower', lead: 0, commit, applied, lastIndex,
    confState: { voters: [1, 2, 3], learners: [] }, progress: null,
  }
}

/** Seed 0x4b6e7118's options (raft driver, a storm, PreVote on) with other flow control swapped in. */
function options(maxSizePerMsg: number, maxInflightMsgs = 1, compactEvery = 27, preVote = true): ScenarioOptions {
  const o = scenarioOptions(0x4b6e7118)
  return { ...o, preVote, compactEvery, tuning: { ...o.tuning, maxSizePerMsg, maxInflightMsgs } }
}

test('the backlog runs from the highest last index down to the lowest commit, or what a snapshot covers', () => {
  // At healing, a long uncommitted tail of old terms (as a storm leaves one).
  assert.equal(backlogEntries(options(1), [node(1, 3, 3, 516), node(2, 3, 3, 16), node(3, 2, 2, 517)]), 515)
  // A node that starts empty behind logs compacted every 20 entries gets a snapshot, then 20 entries.
  assert.equal(backlogEntries(options(1, 1, 20), [node(1, 100, 100, 100), node(2, 100, 100, 100), node(4, 0, 0, 0)]), 20)
  assert.equal(backlogEntries(options(1), [node(1, 9, 9, 9), node(2, 9, 9, 9)]), 0)
})

test('more messages in flight shorten the allowance; large messages and the member driver get the base', () => {
  const healed = [node(1, 3, 3, 516), node(2, 3, 3, 16), node(3, 2, 2, 517)]
  const one = livenessBoundMs(options(1, 1), healed) - options(1).livenessMs
  const four = livenessBoundMs(options(1, 4), healed) - options(1).livenessMs
  assert.ok(one > 0 && Math.abs(four - one / 4) <= 1, `${one} ms at 1 in flight, ${four} ms at 4`)
  assert.equal(livenessBoundMs(options(1024 * 1024), healed), options(1).livenessMs)
  const member = scenarioOptions(0x4b6e7118, null, 'member')
  assert.equal(livenessBoundMs(member, healed), member.livenessMs)
})

test('without PreVote the base bound is five times longer (raft driver only)', () => {
  const healed = [node(1, 9, 9, 9), node(2, 9, 9, 9)]
  assert.equal(livenessBoundMs(options(1024 * 1024, 1, 27, false), healed), 5 * options(1).livenessMs)
  const member = scenarioOptions(0x4b6e7118, null, 'member')
  assert.equal(livenessBoundMs({ ...member, preVote: false }, healed), member.livenessMs)
})

test('the seeds that needed it converge after the base bound and within the allowance', async () => {
  // Storms with one entry per MsgApp, at one and at four in flight, one of them without PreVote.
  for (const seed of [0x11068, 0x109ea, 0x1006e]) {
    const r = await runScenario(seed)
    assert.deepEqual(r.violations, [])
    const took = r.convergedAfterMs as number
    assert.ok(took > r.options.livenessMs, `seed ${seed.toString(16)} converged in ${took} ms, within the base bound`)
    assert.ok(took <= (r.livenessBoundMs as number), `seed ${seed.toString(16)}: ${took} ms > ${r.livenessBoundMs}`)
  }
})
