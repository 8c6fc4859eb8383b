/** Unit tests for log-unstable.ts and log.ts (RaftLog over a MemoryStorage). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UnstableLog } from '../../src/raft/log-unstable.ts'
import { RaftLog, limitSize } from '../../src/raft/log.ts'
import { CompactedError, MemoryStorage, UnavailableError, type Entry, type Snapshot } from '../../src/raft/index.ts'

const e = (term: number, index: number, data = ''): Entry => ({
  term,
  index,
  type: 'normal',
  data: new TextEncoder().encode(data),
})
/** Entries with the given terms, starting at index `from`. */
const ents = (from: number, ...terms: number[]): Entry[] => terms.map((t, i) => e(t, from + i))
const terms = (es: readonly Entry[]): number[] => es.map((x) => x.term)
const snap = (index: number, term: number): Snapshot => ({
  metadata: { index, term, confState: { voters: [1], learners: [] } },
  data: new Uint8Array(0),
})

function logWith(stored: Entry[], unstable: Entry[] = [], committed = 0): RaftLog {
  const s = new MemoryStorage()
  s.append(stored)
  const log = new RaftLog(s, committed)
  log.append(unstable)
  return log
}

test('unstable: append, truncate in the middle, truncate before offset', () => {
  const u = new UnstableLog(5)
  u.truncateAndAppend(ents(5, 1, 1, 1))
  assert.equal(u.maybeLastIndex(), 7)
  u.truncateAndAppend(ents(7, 2, 2))
  assert.deepEqual(terms(u.entries), [1, 1, 2, 2])
  u.truncateAndAppend(ents(6, 3))
  assert.deepEqual(terms(u.entries), [1, 3])
  u.truncateAndAppend(ents(3, 4))
  assert.equal(u.offset, 3)
  assert.deepEqual(terms(u.entries), [4])
})

test('unstable: stableTo ignores a replaced entry and moves past a matching one', () => {
  const u = new UnstableLog(1)
  u.truncateAndAppend(ents(1, 1, 1, 1))
  u.stableTo(2, 9)
  assert.equal(u.offset, 1, 'term mismatch: not the entry that was persisted')
  u.stableTo(2, 1)
  assert.equal(u.offset, 3)
  assert.deepEqual(terms(u.entries), [1])
})

test('unstable: a snapshot defines first and last index until persisted', () => {
  const u = new UnstableLog(1)
  u.restore(snap(10, 3))
  assert.equal(u.maybeFirstIndex(), 11)
  assert.equal(u.maybeLastIndex(), 10)
  assert.equal(u.maybeTerm(10), 3)
  assert.equal(u.maybeTerm(9), null)
  u.truncateAndAppend(ents(11, 3))
  assert.equal(u.maybeLastIndex(), 11)
  assert.throws(() => u.truncateAndAppend(ents(10, 4)), /snapshot/)
  u.stableSnapTo(10)
  assert.equal(u.snapshot, null)
})

test('limitSize keeps at least one entry, then whatever fits', () => {
  const es = [e(1, 1, 'aaaa'), e(1, 2, 'bbbb'), e(1, 3, 'cc')]
  assert.equal(limitSize(es, 0).length, 1)
  assert.equal(limitSize(es, 8).length, 2)
  assert.equal(limitSize(es, 10).length, 3)
})

test('log: term lookups across storage and unstable, with compaction and range errors', () => {
  const log = logWith(ents(1, 1, 1, 2), ents(4, 3, 3))
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => log.term(i)), [0, 1, 1, 2, 3, 3])
  assert.throws(() => log.term(6), UnavailableError)
  assert.equal(log.termOrNull(6), null)
  assert.equal(log.lastIndex(), 5)
  assert.equal(log.lastTerm(), 3)
})

test('log: isUpToDate compares last term first, then last index (§5.4.1)', () => {
  const log = logWith(ents(1, 1, 2, 2))
  assert.equal(log.isUpToDate(3, 2), true)
  assert.equal(log.isUpToDate(2, 2), false)
  assert.equal(log.isUpToDate(1, 3), true)
  assert.equal(log.isUpToDate(10, 1), false)
})

test('log: findConflict returns the first mismatching or new entry', () => {
  const log = logWith(ents(1, 1, 2, 3))
  assert.equal(log.findConflict([]), 0)
  assert.equal(log.findConflict(ents(1, 1, 2, 3)), 0)
  assert.equal(log.findConflict(ents(2, 2, 3, 4)), 4)
  assert.equal(log.findConflict(ents(2, 2, 4)), 3)
  assert.equal(log.findConflict(ents(1, 4)), 1)
})

test('log: findConflictByTerm finds the last index with a term at or below the probe', () => {
  // terms: 1:1 2:1 3:2 4:2 5:4 6:4
  const log = logWith(ents(1, 1, 1, 2, 2, 4, 4))
  assert.deepEqual(log.findConflictByTerm(6, 3), { index: 4, term: 2 })
  assert.deepEqual(log.findConflictByTerm(6, 4), { index: 6, term: 4 })
  assert.deepEqual(log.findConflictByTerm(6, 1), { index: 2, term: 1 })
  assert.deepEqual(log.findConflictByTerm(6, 0), { index: 0, term: 0 })
})

test('log: maybeAppend checks (prevIndex, prevTerm), truncates a conflicting tail, commits to min', () => {
  const log = logWith(ents(1, 1, 1, 1))
  assert.equal(log.maybeAppend(3, 2, 3, ents(4, 2)), null, 'prev term mismatch')
  assert.equal(log.maybeAppend(4, 1, 3, ents(5, 1)), null, 'prev index beyond log')
  assert.equal(log.maybeAppend(1, 1, 10, ents(2, 2, 2)), 3)
  assert.deepEqual(terms(log.slice(1, 4, Infinity)), [1, 2, 2])
  assert.equal(log.committed, 3, 'commit limited to the last new entry')
  assert.equal(log.maybeAppend(1, 1, 10, ents(2, 2)), 2, 'a prefix of what we have changes nothing')
  assert.equal(log.lastIndex(), 3)
})

test('log: a conflict at or below commit is a fatal invariant violation', () => {
  const log = logWith(ents(1, 1, 1, 1), [], 2)
  assert.throws(() => log.maybeAppend(1, 1, 2, ents(2, 5)), /conflicts with committed/)
})

test('log: commit never decreases and never passes the last index', () => {
  const log = logWith(ents(1, 1, 1))
  log.commitTo(2)
  log.commitTo(1)
  assert.equal(log.committed, 2)
  assert.throws(() => log.commitTo(3), /out of range/)
})

test('log: maybeCommit needs the entry to be of the given term unless anyTerm', () => {
  const log = logWith(ents(1, 1, 2))
  assert.equal(log.maybeCommit(1, 2, false), false)
  assert.equal(log.maybeCommit(2, 2, false), true)
  const log2 = logWith(ents(1, 1, 2))
  assert.equal(log2.maybeCommit(1, 2, true), true)
})

test('log: committed entries are handed out once, bounded by size, then applied', () => {
  const log = logWith([e(1, 1, 'aa'), e(1, 2, 'bb'), e(1, 3, 'cc')], [], 3)
  assert.equal(log.hasNextCommittedEntries(), true)
  const first = log.nextCommittedEntries(3)
  assert.deepEqual(first.map((x) => x.index), [1])
  log.acceptApplying(1)
  assert.deepEqual(log.nextCommittedEntries(100).map((x) => x.index), [2, 3])
  log.acceptApplying(3)
  assert.equal(log.hasNextCommittedEntries(), false)
  log.appliedTo(3)
  assert.equal(log.applied, 3)
  assert.throws(() => log.appliedTo(2), /out of range/)
})

test('log: slice spans storage and unstable, respects compaction', () => {
  const s = new MemoryStorage()
  s.append(ents(1, 1, 1, 1, 1, 1))
  s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array(0))
  s.compact(2)
  const log = new RaftLog(s, 0)
  log.append(ents(6, 2, 2))
  assert.deepEqual(log.slice(3, 8, Infinity).map((x) => x.index), [3, 4, 5, 6, 7])
  assert.throws(() => log.slice(2, 4, Infinity), CompactedError)
  assert.equal(log.term(2), 1, 'the compaction point keeps its term')
  assert.equal(log.termOrNull(1), null)
})

test('log: restore replaces the log with a snapshot; persistedIndex is 0 until it is stable', () => {
  const log = logWith(ents(1, 1, 1))
  assert.equal(log.persistedIndex(), 2)
  log.restore(snap(10, 3))
  assert.deepEqual([log.firstIndex(), log.lastIndex(), log.committed, log.term(10)], [11, 10, 10, 3])
  assert.equal(log.persistedIndex(), 0)
  assert.equal(log.hasNextCommittedEntries(), false, 'nothing to apply while the snapshot is pending')
  log.stableSnapTo(10)
  log.appliedTo(10)
  assert.equal(log.applied, 10)
})

test('log: appending must not truncate committed entries or leave a gap', () => {
  const log = logWith(ents(1, 1, 1, 1), [], 2)
  assert.throws(() => log.append(ents(2, 2)), /committed/)
  assert.throws(() => log.append(ents(5, 2)), /gap/)
  assert.equal(log.append(ents(3, 2)), 3)
})
