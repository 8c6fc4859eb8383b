/**
 * Long values stored in parts (src/mvcc/value-parts.ts): every read path gives back the exact
 * bytes whatever the layout, compaction removes parts with their rows, a database written before
 * parts existed opens and keeps working, and a 4 KiB value costs about its own size in the file.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Database } from 'sql.js'
import type { KeyValue, RangeRequest } from '../../src/mvcc/index.ts'
import { valueLayout } from '../../src/mvcc/value-parts.ts'
import { assertPartsConsistent, b, count, Harness, putReq, SQL } from './helpers.ts'

/** Bytes from a fixed xorshift sequence, a quarter of them zero (SQLite text would stop there). */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = (x & 3) === 0 ? 0 : x >>> 24
  }
  return out
}

function dbWithPages(pageBytes: number): Database {
  const db = new SQL.Database()
  db.exec(`PRAGMA page_size=${pageBytes}`)
  return db
}

function putBytes(h: Harness, key: string, value: Uint8Array, o: { prevKv?: boolean; lease?: bigint } = {}) {
  return h.ok({ type: 'put', request: { ...putReq(key, ''), value, prevKv: o.prevKv ?? false, lease: o.lease ?? 0n } })
}

function valueOf(kvs: readonly KeyValue[]): Uint8Array {
  assert.equal(kvs.length, 1)
  return (kvs[0] as KeyValue).value
}

for (const pageBytes of [4096, 8192]) {
  test(`${pageBytes}-byte pages: values of every length come back byte for byte from every read path`, () => {
    const layout = valueLayout(pageBytes)
    const key = 'k'
    const inline = layout.inlineBytes - key.length
    const lengths = [0, 1, 255, inline, inline + 1, layout.partBytes, 2 * layout.partBytes, 2 * layout.partBytes + 1, 4096, 10_000, 200_000]
    const h = new Harness({}, dbWithPages(pageBytes))
    let prev: Uint8Array | null = null
    let seed = 7
    for (const length of lengths) {
      const value = bytes(length, seed++)
      const put = putBytes(h, key, value, { prevKv: true })
      if (prev !== null) assert.deepEqual(put.prevKv?.value, prev, `prev_kv before the ${length}-byte value`)
      const rev = put.header.revision
      assert.deepEqual(valueOf(h.get(key).kvs), value, `latest, ${length} bytes`)
      // The latest point read is served from the cache the second time; a range is not.
      assert.deepEqual(valueOf(h.get(key).kvs), value)
      assert.deepEqual(valueOf(h.get(key, { rangeEnd: b('l') }).kvs), value, `latest range, ${length} bytes`)
      const [event] = h.store.eventsBetween(rev, rev, b(key), new Uint8Array(0), 10)
      assert.deepEqual(event?.kv.value, value, `watch history, ${length} bytes`)
      if (prev !== null) assert.deepEqual(event?.prevKv?.value, prev, `watch history prev_kv, ${length} bytes`)
      const stored = count(h.db, `SELECT parts FROM mvcc_rev WHERE main = ${rev}`)
      assert.equal(stored > 0, length > inline, `${length} bytes stored ${stored > 0 ? 'in parts' : 'inline'}`)
      prev = value
    }
    // Older revisions: each value as it was.
    const first = h.store.currentRevision() - lengths.length + 1
    lengths.forEach((length, i) => {
      assert.deepEqual(valueOf(h.get(key, { revision: first + i }).kvs), bytes(length, 7 + i), `revision ${first + i}`)
    })
    // A txn compares the whole value, and put with ignore_value keeps it.
    const long = bytes(200_000, 7 + lengths.length - 1)
    const cmp = h.txn({
      compare: [{ key: b(key), rangeEnd: new Uint8Array(0), result: 'EQUAL', target: 'VALUE', version: 0, createRevision: 0, modRevision: 0, value: long, lease: 0n }],
    })
    assert.equal(cmp.succeeded, true)
    h.ok({ type: 'put', request: putReq(key, '', { ignoreValue: true }) })
    assert.deepEqual(valueOf(h.get(key).kvs), long)
    const del = h.ok({ type: 'delete-range', request: { key: b(key), rangeEnd: new Uint8Array(0), prevKv: true } })
    assert.deepEqual(valueOf(del.prevKvs), long)
    assertPartsConsistent(h.db)
  })
}

test('the same history on 4 KiB and 8 KiB pages hashes the same, and moves between them as etcd contents', () => {
  const small = new Harness({}, dbWithPages(4096))
  const large = new Harness({}, dbWithPages(8192))
  for (const h of [small, large]) {
    for (let i = 0; i < 30; i++) putBytes(h, `key/${i % 7}`, bytes(i * 397, i + 1))
    h.del('key/3')
    h.compact(12)
  }
  assert.ok(count(small.db, 'SELECT count(*) FROM mvcc_value') > count(large.db, 'SELECT count(*) FROM mvcc_value'))
  assert.equal(small.store.hashKv(0).hash, large.store.hashKv(0).hash)
  assert.equal(small.store.hash(), large.store.hash())

  // A snapshot's contents read from one layout and loaded into the other.
  const rows: Parameters<Parameters<Harness['store']['historyPage']>[3]>[0][] = []
  let at = large.store.historyPage(null, large.store.currentRevision(), 4, (row) => rows.push(row))
  while (at !== null) at = large.store.historyPage(at, large.store.currentRevision(), 4, (row) => rows.push(row))
  const copy = new Harness({}, dbWithPages(4096))
  copy.store.loadContents(rows, large.store.summary())
  assert.equal(copy.store.hashKv(0).hash, large.store.hashKv(0).hash)
  assert.deepEqual(copy.get('key/', { rangeEnd: b('key0') }).kvs, large.get('key/', { rangeEnd: b('key0') }).kvs)
  assertPartsConsistent(copy.db)
})

test('compaction and deletes remove the parts of the rows they remove, and only those', () => {
  const h = new Harness({ compactBatchRows: 3 }, dbWithPages(8192))
  for (let i = 0; i < 12; i++) putBytes(h, `k${i % 3}`, bytes(5000 + i, i + 1))
  assert.equal(count(h.db, 'SELECT count(*) FROM mvcc_value'), 12 * 3)
  h.compact(h.store.currentRevision())
  assertPartsConsistent(h.db)
  assert.equal(count(h.db, 'SELECT count(*) FROM mvcc_value'), 3 * 3, 'the three live values keep their parts')
  for (let k = 0; k < 3; k++) assert.deepEqual(valueOf(h.get(`k${k}`).kvs), bytes(5000 + 9 + k, 10 + k))
  h.del('k', { rangeEnd: b('l') })
  h.compact(h.store.currentRevision())
  assert.equal(count(h.db, 'SELECT count(*) FROM mvcc_value'), 0)
  assertPartsConsistent(h.db)
})

test('sorting by value compares long values past their first part, inside a limit too', () => {
  const h = new Harness({}, dbWithPages(4096))
  const prefix = bytes(3000, 99)
  const values = [5, 1, 4, 2, 3].map((last) => new Uint8Array([...prefix, last]))
  values.forEach((v, i) => putBytes(h, `s${i}`, v))
  const sorted = (o: Partial<RangeRequest>) => h.get('s', { rangeEnd: b('t'), sortTarget: 'VALUE', ...o }).kvs.map((kv) => kv.value.at(-1))
  assert.deepEqual(sorted({ sortOrder: 'ASCEND' }), [1, 2, 3, 4, 5])
  assert.deepEqual(sorted({ sortOrder: 'DESCEND', limit: 2 }), [5, 4])
  // Order NONE with a limit sorts the first limit + 1 keys only, ascending (etcd's order of work).
  assert.deepEqual(sorted({ limit: 3 }), [1, 2, 4])
  assert.deepEqual(sorted({ sortOrder: 'ASCEND', revision: h.store.currentRevision() - 1 }), [1, 2, 4, 5])
})

test('a database written before values had parts opens, keeps its values and stores long ones in parts', () => {
  const old = new Harness({}, dbWithPages(8192))
  old.put('a', 'short')
  old.put('b', 'x'.repeat(3000))
  // The schema as it was: no parts column, no mvcc_value, no trigger (every value inline).
  old.db.exec(`UPDATE mvcc_rev SET value = CAST('${'x'.repeat(3000)}' AS BLOB), parts = 0 WHERE key = CAST('b' AS BLOB);
    DELETE FROM mvcc_value; DROP TRIGGER mvcc_rev_parts; DROP TABLE mvcc_value; ALTER TABLE mvcc_rev DROP COLUMN parts`)
  const fresh = new Harness({}, dbWithPages(8192))
  const columns = (db: Database) => db.exec("SELECT name FROM pragma_table_info('mvcc_rev')")[0]?.values.flat()
  assert.notDeepEqual(columns(old.db), columns(fresh.db))

  const h = new Harness({}, new SQL.Database(old.db.export()))
  assert.deepEqual(columns(h.db), columns(fresh.db))
  h.index = old.index
  assert.equal(h.get('a').kvs[0]?.value.length, 5)
  assert.deepEqual(h.get('b').kvs[0]?.value, b('x'.repeat(3000)))
  putBytes(h, 'c', bytes(9000, 5))
  assert.deepEqual(valueOf(h.get('c').kvs), bytes(9000, 5))
  assert.ok(count(h.db, 'SELECT count(*) FROM mvcc_value') > 0)
  assertPartsConsistent(h.db)
})

test('a 4 KiB value takes little more than its own size in the file', () => {
  const h = new Harness({}, dbWithPages(8192))
  const before = h.store.fileSize()
  for (let i = 0; i < 200; i++) putBytes(h, `/registry/pods/default/pod-${i}`, bytes(4096, i + 1))
  const perPut = (h.store.fileSize() - before) / 200
  // Inline, the tail of each value spilled into an overflow page of its own: ~9 KiB per put.
  assert.ok(perPut < 5 * 1024, `${perPut.toFixed(0)} bytes per put`)
})
