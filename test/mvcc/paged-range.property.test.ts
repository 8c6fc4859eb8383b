/**
 * A range read in pages (PagedRange, what a member does for a range of many keys) answers exactly
 * as the same range read at once: random stores (puts, overwrites, deletes of keys and ranges,
 * compactions), then random ranges in key order (either direction, with limits, byte caps, keys
 * only, revision filters, at the current or an older revision) read with pages of 1 to 4 keys.
 * Also: pages keep reading the revision the range was opened at while writes land between them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Command, RangeRequest } from '../../src/mvcc/index.ts'
import { openRange, PagedRange, range } from '../../src/mvcc/reader.ts'
import { Sql } from '../../src/mvcc/sql.ts'
import { b, Harness, keys, putReq, rangeReq } from './helpers.ts'

const KEYS = ['a', 'a\u0000', 'ab', 'b', 'ba', 'c', 'cc', 'd']
const key = fc.constantFrom(...KEYS)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(key, fc.string({ maxLength: 5 })).map(([k, v]): Command => ({ type: 'put', request: putReq(k, v) })) },
  { weight: 2, arbitrary: key.map((k): Command => ({ type: 'delete-range', request: { key: b(k), rangeEnd: new Uint8Array(0), prevKv: false } })) },
  { weight: 1, arbitrary: fc.tuple(key, key).map(([k, e]): Command => ({ type: 'delete-range', request: { key: b(k), rangeEnd: b(e), prevKv: false } })) },
  { weight: 1, arbitrary: fc.nat(12).map((r): Command => ({ type: 'compaction', request: { revision: r, physical: true } })) },
)
const read = fc.record({
  from: key,
  end: fc.constantFrom('', '\u0000', 'b', 'c', 'z'),
  desc: fc.boolean(),
  limit: fc.constantFrom(0, 1, 2, 5),
  keysOnly: fc.boolean(),
  minMod: fc.constantFrom(0, 4),
  maxCreate: fc.constantFrom(0, 6),
  back: fc.constantFrom(0, 0, 3),
  maxBytes: fc.constantFrom(Number.POSITIVE_INFINITY, 150),
  pageRows: fc.integer({ min: 1, max: 4 }),
})

test('property: a range read in pages answers as the range read at once', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), fc.array(read, { minLength: 1, maxLength: 8 }), (commands, reads) => {
      const h = new Harness()
      for (const c of commands) h.run(c)
      const sql = new Sql(h.db)
      const view = { rev: h.store.currentRevision(), compactMain: h.store.compactMainRevision() }
      for (const r of reads) {
        const req: RangeRequest = rangeReq(r.from, {
          rangeEnd: b(r.end === '' ? `${r.from}~` : r.end),
          sortOrder: r.desc ? 'DESCEND' : 'ASCEND',
          limit: r.limit,
          keysOnly: r.keysOnly,
          minModRevision: r.minMod,
          maxCreateRevision: r.maxCreate,
          revision: r.back === 0 ? 0 : Math.max(1, view.rev - r.back),
        })
        let want: unknown
        try {
          want = range(sql, view, req, r.maxBytes)
        } catch (e) {
          want = (e as Error).message
        }
        let got: unknown
        try {
          const opened = openRange(sql, view, req, r.maxBytes, r.pageRows)
          got = opened
          if (opened instanceof PagedRange) {
            let pages = 0
            do got = opened.next(r.pageRows)
            while (got === null && ++pages < 100)
          }
        } catch (e) {
          got = (e as Error).message
        }
        assert.deepEqual(got, want, JSON.stringify(r))
      }
    }),
    { numRuns: 300 },
  )
})

test('pages read the revision the range was opened at, whatever is written between them', () => {
  const h = new Harness()
  for (const k of KEYS) h.run({ type: 'put', request: putReq(k, 'old') })
  const sql = new Sql(h.db)
  const view = { rev: h.store.currentRevision(), compactMain: h.store.compactMainRevision() }
  const req = rangeReq('a', { rangeEnd: b('z') })
  const want = range(sql, view, req, Number.POSITIVE_INFINITY)
  const opened = openRange(sql, view, req, Number.POSITIVE_INFINITY, 2)
  assert.ok(opened instanceof PagedRange, 'eight keys in pages of two')
  let got = opened.next(2)
  h.run({ type: 'put', request: putReq('b', 'new') })
  h.run({ type: 'delete-range', request: { key: b('c'), rangeEnd: new Uint8Array(0), prevKv: false } })
  h.run({ type: 'put', request: putReq('bb', 'new') })
  while (got === null) got = opened.next(2)
  assert.deepEqual(got, want)
  assert.deepEqual(keys(got.kvs), KEYS)
})
