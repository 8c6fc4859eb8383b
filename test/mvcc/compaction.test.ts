/**
 * Compaction (shared/etcd-v3-http-api.md §5.5): which revisions may be compacted, what survives,
 * batching and resumption, and reclaiming the freed pages.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MvccStore } from '../../src/mvcc/index.ts'
import { b, Harness, keys, kvText, opRange, SQL } from './helpers.ts'

function history(h: Harness): string[] {
  const rows = h.db.exec('SELECT CAST(key AS TEXT), main, tombstone FROM mvcc_rev ORDER BY main, sub')[0]
  return (rows?.values ?? []).map(([k, m, t]) => `${k}@${m}${t === 1 ? 't' : ''}`)
}

// a@2 a@3 b@4 b@5(t) c@6 a@7(t) a@8 c@9
function fixture(config = {}): Harness {
  const h = new Harness(config)
  h.put('a', '1')
  h.put('a', '2')
  h.put('b', '1')
  h.del('b')
  h.put('c', '1')
  h.del('a')
  h.put('a', '3')
  h.put('c', '2')
  return h
}

test('compaction: keeps the newest version of live keys, drops older rows and tombstones below it', () => {
  const h = fixture()
  h.compact(7)
  // The tombstone at exactly 7 stays (a watcher resuming at 7 must see it) until the next compaction.
  assert.deepEqual(history(h), ['c@6', 'a@7t', 'a@8', 'c@9'])
  h.compact(9)
  assert.deepEqual(history(h), ['a@8', 'c@9'])
})

test('compaction: a tombstone above the compacted revision stays', () => {
  const h = fixture()
  h.compact(4)
  assert.deepEqual(history(h), ['a@3', 'b@4', 'b@5t', 'c@6', 'a@7t', 'a@8', 'c@9'])
})

test('compaction: reads at and above the compacted revision are unchanged', () => {
  const h = fixture()
  const before = [6, 7, 8, 9].map((rev) => h.get('a', { rangeEnd: b('z'), revision: rev }).kvs.map(kvText))
  h.compact(6)
  const after = [6, 7, 8, 9].map((rev) => h.get('a', { rangeEnd: b('z'), revision: rev }).kvs.map(kvText))
  assert.deepEqual(after, before)
  assert.throws(() => h.get('a', { revision: 5 }), /has been compacted/)
  assert.throws(() => h.txn({ success: [opRange('a', { revision: 5 })] }), /has been compacted/)
})

test('compaction: at the current revision is allowed; above it is a future revision', () => {
  const h = fixture()
  assert.throws(() => h.compact(10), /future revision/)
  assert.equal(h.compact(9).header.revision, 9)
  assert.deepEqual(keys(h.get('a', { rangeEnd: b('z') }).kvs), ['a', 'c'])
})

test('compaction: at or below the last compacted revision (also 0) is refused', () => {
  const h = fixture()
  h.compact(5)
  assert.throws(() => h.compact(5), /has been compacted/)
  assert.throws(() => h.compact(3), /has been compacted/)
  assert.throws(() => h.compact(0), /has been compacted/)
  assert.equal(h.store.compactRevision(), 5)
})

test('compaction: revision 0 on a never-compacted store succeeds', () => {
  const h = fixture()
  assert.equal(h.compact(0).header.revision, 9)
  assert.equal(h.store.compactRevision(), 0)
  assert.throws(() => h.compact(0), /has been compacted/)
})

test('compaction: does not change the revision and uses none', () => {
  const h = fixture()
  const r = h.run({ type: 'compaction', request: { revision: 5, physical: true } })
  assert.deepEqual([r.revision, r.events.length, h.store.currentRevision()], [9, 0, 9])
})

test('compaction: batches of any size give the same history and hash', () => {
  const one = fixture({ compactBatchRows: 1 })
  const big = fixture()
  for (const h of [one, big]) {
    h.compact(6)
    h.put('d', '1')
    h.compact(10)
  }
  assert.deepEqual(history(one), history(big))
  assert.equal(one.store.hash(), big.store.hash())
})

test('compaction: an interrupted compaction is finished when the store is opened again', () => {
  const h = fixture()
  const expected = fixture()
  expected.compact(7)
  // As if the process stopped right after scheduling, before any batch ran.
  h.db.run("INSERT OR REPLACE INTO mvcc_meta VALUES ('compact_scheduled', x'0000000000000007')")
  const reopened = new MvccStore(new SQL.Database(h.db.export()))
  assert.equal(reopened.compactRevision(), 7)
  assert.equal(reopened.hash(), expected.store.hash())
  assert.equal(reopened.hashKv(0).hash, expected.store.hashKv(0).hash)
})

test('compaction: watch history below the compacted revision is refused', () => {
  const h = fixture()
  h.compact(6)
  assert.throws(() => h.store.eventsBetween(5, 9, b('a'), b('z'), 100), /has been compacted/)
  assert.deepEqual(
    h.store.eventsBetween(6, 9, b('a'), b('z'), 100).map((e) => `${e.type} ${kvText(e.kv)}`),
    ['PUT c=1 c6 m6 v1', 'DELETE a= c0 m7 v0', 'PUT a=3 c8 m8 v1', 'PUT c=2 c6 m9 v2'],
  )
})

test('compaction: freed pages go back to the file in bounded steps after compaction', () => {
  const h = new Harness({ vacuumPagesPerEntry: 64 })
  const value = 'x'.repeat(1000)
  for (let i = 0; i < 20; i++) for (let k = 0; k < 50; k++) h.put(`k${k}`, value)
  const pages = () => h.db.exec('PRAGMA page_count')[0]!.values[0]![0] as number
  const before = pages()
  h.compact(h.store.currentRevision())
  const afterCompact = pages()
  assert.ok(before - afterCompact <= 64, 'one entry reclaims at most the configured pages')
  for (let i = 0; i < 30; i++) h.run({ type: 'lease-checkpoint', request: { checkpoints: [] } })
  assert.equal(h.db.exec('PRAGMA freelist_count')[0]!.values[0]![0], 0)
  assert.ok(pages() < before / 5, `file shrank from ${before} to ${pages()} pages`)
})

test('HashKV walked a few rows at a time equals HashKV in one go, at every revision, compacted or not', () => {
  const h = fixture()
  const paged = (rev: number, pageRows: number): number => {
    const walk = h.store.hashKvWalk(rev)
    let hash = walk.walk.next(pageRows)
    while (hash === null) hash = walk.walk.next(pageRows)
    return h.store.hashKvAnswer(walk, hash).hash
  }
  const check = (): void => {
    for (let rev = Math.max(h.store.compactMainRevision() + 1, 1); rev <= h.store.currentRevision(); rev++)
      for (const pageRows of [1, 2, 3, 100]) assert.equal(paged(rev, pageRows), h.store.hashKv(rev).hash, `rev ${rev}, pages of ${pageRows}`)
  }
  check()
  h.compact(5)
  check()
  assert.notEqual(paged(9, 1), paged(8, 1), 'different revisions hash differently')
})
