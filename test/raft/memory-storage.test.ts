/** Unit tests for memory-storage.ts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CompactedError, MemoryStorage, UnavailableError, bootstrapSnapshot, type Entry } from '../../src/raft/index.ts'

const e = (term: number, index: number): Entry => ({ term, index, type: 'normal', data: new Uint8Array([index]) })
const range = (from: number, to: number, term = 1): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => e(term, from + i))
const cs = { voters: [1, 2, 3], learners: [] }

test('an empty storage has the dummy entry 0 of term 0', () => {
  const s = new MemoryStorage()
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(0)], [1, 0, 0])
  assert.deepEqual(s.initialState().hardState, { term: 0, vote: 0, commit: 0 })
  assert.throws(() => s.term(1), UnavailableError)
})

test('append truncates a conflicting tail and rejects gaps and non-contiguous batches', () => {
  const s = new MemoryStorage()
  s.append(range(1, 5))
  s.append([e(2, 4)])
  assert.equal(s.lastIndex(), 4)
  assert.equal(s.term(4), 2)
  assert.throws(() => s.append([e(2, 6)]), /missing/)
  assert.throws(() => s.append([e(2, 5), e(2, 7)]), /contiguous/)
})

test('entries honours [lo, hi), compaction and the byte limit (at least one entry)', () => {
  const s = new MemoryStorage()
  s.append(range(1, 5))
  assert.deepEqual(s.entries(2, 5, Infinity).map((x) => x.index), [2, 3, 4])
  assert.deepEqual(s.entries(2, 5, 0).map((x) => x.index), [2])
  assert.deepEqual(s.entries(2, 5, 2).map((x) => x.index), [2, 3])
  assert.throws(() => s.entries(2, 7, Infinity), UnavailableError)
  s.createSnapshot(3, cs, new Uint8Array(0))
  s.compact(3)
  assert.throws(() => s.entries(3, 5, Infinity), CompactedError)
  assert.deepEqual([s.firstIndex(), s.term(3)], [4, 1])
  assert.throws(() => s.term(2), CompactedError)
})

test('compaction is bounded by the snapshot and cannot go backwards', () => {
  const s = new MemoryStorage()
  s.append(range(1, 5))
  assert.throws(() => s.compact(2), /beyond the snapshot/)
  s.createSnapshot(4, cs, new Uint8Array([9]))
  s.compact(2)
  assert.throws(() => s.compact(2), CompactedError)
  s.compact(4)
  assert.equal(s.firstIndex(), 5)
  assert.throws(() => s.createSnapshot(4, cs, new Uint8Array(0)), /out of date/)
})

test('applySnapshot replaces the log, and records its membership', () => {
  const s = new MemoryStorage()
  s.append(range(1, 3))
  s.applySnapshot({ metadata: { index: 10, term: 4, confState: cs }, data: new Uint8Array(0) })
  assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(10)], [11, 10, 4])
  assert.deepEqual(s.initialState().confState, cs)
  assert.throws(
    () => s.applySnapshot({ metadata: { index: 9, term: 4, confState: cs }, data: new Uint8Array(0) }),
    /out of date/,
  )
  s.append([e(4, 11)])
  assert.equal(s.lastIndex(), 11)
})

test('append skips entries already compacted', () => {
  const s = new MemoryStorage()
  s.applySnapshot({ metadata: { index: 5, term: 2, confState: cs }, data: new Uint8Array(0) })
  s.append(range(3, 7, 2))
  assert.deepEqual(s.allEntries().map((x) => x.index), [6, 7])
  s.append(range(1, 4, 2))
  assert.equal(s.lastIndex(), 7)
})

test('bootstrap starts from a snapshot at index 1 term 1 with the founding membership', () => {
  const s = MemoryStorage.bootstrap(cs)
  assert.deepEqual(s.snapshot().metadata, bootstrapSnapshot(cs).metadata)
  assert.deepEqual(s.initialState(), { hardState: { term: 1, vote: 0, commit: 1 }, confState: cs })
  assert.deepEqual([s.firstIndex(), s.lastIndex()], [2, 1])
  s.setConfState({ voters: [1, 2, 3, 4], learners: [] })
  assert.deepEqual(s.initialState().confState.voters, [1, 2, 3, 4])
})
