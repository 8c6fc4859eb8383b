/**
 * Reconnect delay bounds.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay } from '../../src/mesh/backoff.ts'

test('delays stay within [ceiling/2, ceiling] and the ceiling doubles up to the cap', () => {
  const policy = { initialMs: 50, maxMs: 5000 }
  const rows: [number, number, number][] = [
    [0, 25, 50],
    [1, 50, 100],
    [3, 200, 400],
    [7, 2500, 5000],
    [60, 2500, 5000],
  ]
  for (const [attempt, lo, hi] of rows) {
    assert.equal(backoffDelay(attempt, policy, () => 0), lo)
    assert.equal(backoffDelay(attempt, policy, () => 0.999999), hi)
  }
})
