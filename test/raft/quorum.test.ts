/** Unit tests for quorum/majority.ts, including a randomized comparison with a naive definition. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { committedIndex, hasMajority, majoritySize, voteResult } from '../../src/raft/quorum/majority.ts'
import { seededRand } from './network.ts'

test('majoritySize is floor(n/2)+1', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majoritySize), [1, 2, 2, 3, 3, 4, 4])
})

test('committedIndex: table', () => {
  const cases: { voters: number[]; match: Record<number, number>; want: number }[] = [
    { voters: [], match: {}, want: 0 },
    { voters: [1], match: { 1: 5 }, want: 5 },
    { voters: [1, 2], match: { 1: 5, 2: 3 }, want: 3 },
    { voters: [1, 2, 3], match: { 1: 5, 2: 3, 3: 1 }, want: 3 },
    { voters: [1, 2, 3], match: { 1: 5, 2: 5, 3: 1 }, want: 5 },
    { voters: [1, 2, 3, 4], match: { 1: 9, 2: 8, 3: 2, 4: 1 }, want: 2 },
    { voters: [1, 2, 3, 4, 5], match: { 1: 9, 2: 8, 3: 7, 4: 1, 5: 0 }, want: 7 },
    // A member without a known match counts as 0.
    { voters: [1, 2, 3], match: { 1: 4 }, want: 0 },
  ]
  for (const c of cases) {
    assert.equal(committedIndex(c.voters, (id) => c.match[id] ?? 0), c.want, JSON.stringify(c))
  }
})

test('committedIndex agrees with "the largest index held by a majority" on 20,000 random cases', () => {
  const rand = seededRand(7)
  for (let n = 0; n < 20_000; n++) {
    const size = 1 + rand(7)
    const voters = Array.from({ length: size }, (_, i) => i + 1)
    const match = voters.map(() => rand(10))
    const naive = Math.max(
      0,
      ...[...new Set(match)].filter((idx) => match.filter((m) => m >= idx).length >= majoritySize(size)),
    )
    assert.equal(committedIndex(voters, (id) => match[id - 1] as number), naive)
  }
})

test('voteResult: won, lost, pending; non-voters ignored', () => {
  const v = (entries: [number, boolean][]): Map<number, boolean> => new Map(entries)
  assert.equal(voteResult([1, 2, 3], v([[1, true]])), 'pending')
  assert.equal(voteResult([1, 2, 3], v([[1, true], [2, true]])), 'won')
  assert.equal(voteResult([1, 2, 3], v([[1, true], [2, false]])), 'pending')
  assert.equal(voteResult([1, 2, 3], v([[1, true], [2, false], [3, false]])), 'lost')
  assert.equal(voteResult([1, 2, 3, 4], v([[1, true], [2, true]])), 'pending')
  assert.equal(voteResult([1, 2, 3, 4], v([[1, true], [2, false], [3, false]])), 'lost')
  assert.equal(voteResult([1, 2, 3], v([[1, true], [9, true], [8, true]])), 'pending')
  assert.equal(voteResult([1], v([[1, true]])), 'won')
  assert.equal(voteResult([], v([])), 'lost')
})

test('hasMajority counts only voters satisfying the predicate', () => {
  assert.equal(hasMajority([1, 2, 3], (id) => id !== 3), true)
  assert.equal(hasMajority([1, 2, 3], (id) => id === 1), false)
  assert.equal(hasMajority([1, 2, 3, 4], (id) => id <= 2), false)
  assert.equal(hasMajority([], () => true), false)
})
