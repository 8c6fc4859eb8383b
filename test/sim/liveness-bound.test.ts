/** livenessBoundMs: time for a one-entry-per-message catch-up, and none beyond the base otherwise. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { livenessBoundMs } from './liveness-bound.ts'
import type { NodeStatus } from './node-port.ts'
import type { ScenarioOptions } from './options.ts'
import { scenarioOptions } from './simulator.ts'

function node(id: number, applied: number, lastIndex: number): NodeStatus {
  return {
    id, term: 3, role: 'follower', lead: 0, commit: applied, applied, lastIndex,
    confState: { voters: [1, 2, 3], learners: [] }, progress: null,
  }
}

/** Seed 0x4b6e7118's options (raft driver, a storm) with `maxSizePerMsg` swapped in. */
function options(maxSizePerMsg: number): ScenarioOptions {
  const o = scenarioOptions(0x4b6e7118)
  return { ...o, tuning: { ...o.tuning, maxSizePerMsg } }
}

const healed = [node(1, 3, 516), node(2, 3, 16), node(3, 2, 517)]

test('one entry per message: the bound grows by a round trip and an fsync per entry of the backlog', () => {
  const o = options(1)
  const n = o.cluster.network
  const perEntry = 2 * (2 * n.delayMean - n.delayMin) + o.disk.fsyncMax
  assert.equal(livenessBoundMs(o, healed), o.livenessMs + (517 - 2) * perEntry)
  assert.equal(livenessBoundMs(o, [node(1, 9, 9), node(2, 9, 9)]), o.livenessMs, 'no backlog, no allowance')
})

test('messages that carry many entries, and the member driver, get the base bound', () => {
  assert.equal(livenessBoundMs(options(1024 * 1024), healed), options(1).livenessMs)
  const member = scenarioOptions(0x4b6e7118, null, 'member')
  assert.equal(livenessBoundMs(member, healed), member.livenessMs)
})
