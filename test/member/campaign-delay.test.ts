/**
 * The delay before a follower campaigns when its leader's connections close: two followers that
 * notice together must rarely draw delays so close that both campaign before either hears the
 * other (a split vote, then a whole election timeout).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { campaignDelayMs } from '../../src/member/campaign-delay.ts'
import { seededRand } from '../raft/network.ts'

test('two followers draw campaign delays under half an election timeout, rarely within a round trip of each other', () => {
  const electionTicks = 10
  const tickMs = 100
  const a = seededRand(1)
  const b = seededRand(2)
  const trials = 2000
  let close = 0
  for (let i = 0; i < trials; i++) {
    const x = campaignDelayMs(a, electionTicks, tickMs)
    const y = campaignDelayMs(b, electionTicks, tickMs)
    for (const d of [x, y]) assert.ok(d >= 0 && d < (electionTicks * tickMs) / 2, `delay ${d}`)
    // A pre-vote round trip on loopback takes well under 5 ms.
    if (Math.abs(x - y) < 5) close++
  }
  // Uniform over 500 ms: about 2 % of pairs lie within 5 ms; whole ticks gave 20 %.
  assert.ok(close / trials < 0.04, `${((100 * close) / trials).toFixed(1)} % of pairs within 5 ms`)
})
