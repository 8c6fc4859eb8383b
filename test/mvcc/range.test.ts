/**
 * etcd's Range semantics, case by case, over the reference fixture: keys r/a … r/e with r/b
 * written three times and r/d twice (shared/etcd-v3-http-api.md §5.2 and the appendix).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { b, Harness, keys, kvText, putReq, rangeReq, s } from './helpers.ts'
import type { RangeRequest } from '../../src/mvcc/index.ts'

// rev 2..9: a, b, c, d, e, b, d, b. Final: a c2 m2 v1 'x3', b c3 m9 v3 'x1', c c4 m4 v1 'x5',
// d c5 m8 v2 'x2', e c6 m6 v1 'x4'.
function fixture(): Harness {
  const h = new Harness()
  const writes: [string, string][] = [
    ['r/a', 'x3'],
    ['r/b', 'b1'],
    ['r/c', 'x5'],
    ['r/d', 'd1'],
    ['r/e', 'x4'],
    ['r/b', 'b2'],
    ['r/d', 'x2'],
    ['r/b', 'x1'],
  ]
  for (const [k, v] of writes) h.put(k, v)
  h.put('foo', 'bar')
  return h
}

const R = { rangeEnd: b('r0') }

interface Case {
  readonly name: string
  readonly req: RangeRequest
  readonly keys: string[]
  readonly count: number
  readonly more?: boolean
  readonly noValues?: boolean
}

const cases: Case[] = [
  { name: 'no range_end selects exactly the key', req: rangeReq('r/b'), keys: ['r/b'], count: 1 },
  { name: 'a missing key gives no kvs and count 0', req: rangeReq('nonexist'), keys: [], count: 0 },
  { name: 'prefix r/ → r0 selects the five keys in order', req: rangeReq('r/', R), keys: ['r/a', 'r/b', 'r/c', 'r/d', 'r/e'], count: 5 },
  { name: 'limit 2 returns two, more, and the total count', req: rangeReq('r/', { ...R, limit: 2 }), keys: ['r/a', 'r/b'], count: 5, more: true },
  { name: 'limit equal to the count sets no more', req: rangeReq('r/', { ...R, limit: 5 }), keys: ['r/a', 'r/b', 'r/c', 'r/d', 'r/e'], count: 5 },
  { name: 'limit ≤ 0 means no limit', req: rangeReq('r/', { ...R, limit: -3 }), keys: ['r/a', 'r/b', 'r/c', 'r/d', 'r/e'], count: 5 },
  {
    name: 'DESCEND by MOD, keys_only: newest first, no values',
    req: rangeReq('r/', { ...R, sortOrder: 'DESCEND', sortTarget: 'MOD', keysOnly: true }),
    keys: ['r/b', 'r/d', 'r/e', 'r/c', 'r/a'],
    count: 5,
    noValues: true,
  },
  {
    name: 'a non-KEY target with order NONE sorts ascending by it',
    req: rangeReq('r/', { ...R, sortTarget: 'MOD', keysOnly: true }),
    keys: ['r/a', 'r/c', 'r/e', 'r/d', 'r/b'],
    count: 5,
  },
  {
    name: 'order NONE, a non-KEY target and a limit: etcd fetches limit + 1 keys in key order, then sorts those',
    req: rangeReq('r/', { ...R, sortTarget: 'VALUE', limit: 2 }),
    keys: ['r/b', 'r/a'],
    count: 5,
    more: true,
  },
  {
    name: 'the same with a revision filter: etcd fetches every key, then sorts and limits',
    req: rangeReq('r/', { ...R, sortTarget: 'VALUE', limit: 2, minModRevision: 1 }),
    keys: ['r/b', 'r/d'],
    count: 5,
    more: true,
  },
  {
    name: 'DESCEND by VALUE works with keys_only',
    req: rangeReq('r/', { ...R, sortOrder: 'DESCEND', sortTarget: 'VALUE', keysOnly: true }),
    keys: ['r/c', 'r/e', 'r/a', 'r/d', 'r/b'],
    count: 5,
    noValues: true,
  },
  {
    name: 'sorting happens before limit: DESCEND CREATE limit 3',
    req: rangeReq('r/', { ...R, sortOrder: 'DESCEND', sortTarget: 'CREATE', limit: 3 }),
    keys: ['r/e', 'r/d', 'r/c'],
    count: 5,
    more: true,
  },
  {
    name: 'ASCEND by VERSION breaks ties by key',
    req: rangeReq('r/', { ...R, sortOrder: 'ASCEND', sortTarget: 'VERSION' }),
    keys: ['r/a', 'r/c', 'r/e', 'r/d', 'r/b'],
    count: 5,
  },
  {
    name: 'DESCEND with no target is descending by key',
    req: rangeReq('r/', { ...R, sortOrder: 'DESCEND' }),
    keys: ['r/e', 'r/d', 'r/c', 'r/b', 'r/a'],
    count: 5,
  },
  {
    name: 'min/max mod revision filter kvs but not count',
    req: rangeReq('r/', { ...R, minModRevision: 6, maxModRevision: 8, keysOnly: true }),
    keys: ['r/d', 'r/e'],
    count: 5,
  },
  {
    name: 'min/max create revision filter kvs but not count',
    req: rangeReq('r/', { ...R, minCreateRevision: 5, maxCreateRevision: 6 }),
    keys: ['r/d', 'r/e'],
    count: 5,
  },
  {
    name: 'a filter that matches nothing leaves only count',
    req: rangeReq('r/', { ...R, minModRevision: 1000 }),
    keys: [],
    count: 5,
  },
  {
    name: 'filters apply before limit; more counts filtered kvs only',
    req: rangeReq('r/', { ...R, minModRevision: 4, limit: 2 }),
    keys: ['r/b', 'r/c'],
    count: 5,
    more: true,
  },
  { name: 'filters on a single key keep count 1', req: rangeReq('r/a', { minModRevision: 3 }), keys: [], count: 1 },
  { name: 'revision 5 reads the store as of 5', req: rangeReq('r/', { ...R, revision: 5, keysOnly: true }), keys: ['r/a', 'r/b', 'r/c', 'r/d'], count: 4 },
  { name: 'count_only gives count and no kvs', req: rangeReq('r/', { ...R, countOnly: true, limit: 1 }), keys: [], count: 5 },
  { name: 'serializable is accepted and changes nothing', req: rangeReq('r/', { ...R, serializable: true, countOnly: true }), keys: [], count: 5 },
  {
    name: '"\\0" as range_end with "\\0" as key is the whole keyspace',
    req: rangeReq('\0', { rangeEnd: new Uint8Array([0]), keysOnly: true }),
    keys: ['foo', 'r/a', 'r/b', 'r/c', 'r/d', 'r/e'],
    count: 6,
  },
  { name: '"\\0" as range_end means every key ≥ key', req: rangeReq('r/d', { rangeEnd: new Uint8Array([0]) }), keys: ['r/d', 'r/e'], count: 2 },
  { name: 'range_end < key is empty, not an error', req: rangeReq('r/c', { rangeEnd: b('r/a') }), keys: [], count: 0 },
  { name: 'range_end == key is empty', req: rangeReq('r/c', { rangeEnd: b('r/c') }), keys: [], count: 0 },
  {
    name: 'DESCEND by VERSION keeps ties in ascending key order, as etcd does',
    req: rangeReq('r/', { ...R, sortOrder: 'DESCEND', sortTarget: 'VERSION', keysOnly: true }),
    keys: ['r/b', 'r/d', 'r/a', 'r/c', 'r/e'],
    count: 5,
  },
  {
    name: 'a historical read with a limit and sort',
    req: rangeReq('r/', { ...R, revision: 7, sortOrder: 'DESCEND', sortTarget: 'VERSION', limit: 1 }),
    keys: ['r/b'],
    count: 5,
    more: true,
  },
]

for (const c of cases) {
  test(`range: ${c.name}`, () => {
    const h = fixture()
    const r = h.store.range(c.req)
    assert.deepEqual(keys(r.kvs), c.keys)
    assert.equal(r.count, c.count)
    assert.equal(r.more, c.more ?? false)
    assert.equal(r.header.revision, 10, 'a read carries the current revision, also when historical')
    if (c.noValues) for (const kv of r.kvs) assert.equal(kv.value.length, 0)
  })
}

test('range: kvs carry create/mod revision, version and value', () => {
  const h = fixture()
  assert.deepEqual(h.get('r/', R).kvs.map(kvText), [
    'r/a=x3 c2 m2 v1',
    'r/b=x1 c3 m9 v3',
    'r/c=x5 c4 m4 v1',
    'r/d=x2 c5 m8 v2',
    'r/e=x4 c6 m6 v1',
  ])
  assert.deepEqual(h.get('r/b', { revision: 7 }).kvs.map(kvText), ['r/b=b2 c3 m7 v2'])
})

test('range: an empty store is at revision 1', () => {
  const h = new Harness()
  assert.equal(h.get('a').header.revision, 1)
})

test('range: a future revision is an error, and so is a compacted one; exactly the compacted one reads', () => {
  const h = fixture()
  assert.throws(() => h.get('r/', { ...R, revision: 100 }), /required revision is a future revision/)
  h.compact(5)
  assert.throws(() => h.get('r/', { ...R, revision: 4 }), /required revision has been compacted/)
  assert.deepEqual(keys(h.get('r/', { ...R, revision: 5 }).kvs), ['r/a', 'r/b', 'r/c', 'r/d'])
  assert.deepEqual(h.get('r/b', { revision: 5 }).kvs.map(kvText), ['r/b=b1 c3 m3 v1'])
})

test('range: an empty key is refused even with a range_end', () => {
  const h = fixture()
  assert.throws(() => h.get('', { rangeEnd: b('z') }), /key is not provided/)
})

test('range: binary keys compare as unsigned bytes', () => {
  const h = new Harness()
  for (const key of [[0x61, 0xff], [0x61, 0x80], [0x62]]) {
    h.ok({ type: 'put', request: { ...putReq('', 'v'), key: new Uint8Array(key) } })
  }
  const r = h.store.range(rangeReq('a', { rangeEnd: b('b') }))
  assert.deepEqual(r.kvs.map((kv) => [...kv.key]), [[0x61, 0x80], [0x61, 0xff]])
})

test('range: a response over maxResponseBytes returns fewer kvs with more, exact count', () => {
  const h = new Harness({ maxResponseBytes: 1000 })
  for (let i = 0; i < 20; i++) h.put(`big/${String(i).padStart(2, '0')}`, 'v'.repeat(200))
  const r = h.get('big/', { rangeEnd: b('big0') })
  assert.equal(r.count, 20)
  assert.equal(r.more, true)
  assert.ok(r.kvs.length >= 1 && r.kvs.length < 20)
  const one = new Harness({ maxResponseBytes: 10 })
  one.put('k1', 'x'.repeat(100))
  one.put('k2', 'x'.repeat(100))
  const r1 = one.get('k', { rangeEnd: b('l') })
  assert.deepEqual([keys(r1.kvs), r1.more, r1.count], [['k1'], true, 2], 'at least one kv always comes back')
  assert.equal(s(r1.kvs[0]!.value).length, 100)
})
