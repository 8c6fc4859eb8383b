/**
 * Point reads through the point cache answer exactly as the tables do: a store with the cache
 * (ample, and tiny so that entries are evicted all the time) and one without it are fed the same
 * random entries — puts with and without leases, deletes of keys and ranges, txns, lease grants
 * and revokes, compactions — with point reads of every key, with random options, in between.
 * Also: the cache stays within its byte budget.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Command, RangeRequest, RangeResponse } from '../../src/mvcc/index.ts'
import { PointCache } from '../../src/mvcc/point-cache.ts'
import { b, cmp, Harness, opDel, opPut, opRange, putReq, rangeReq, txnReq } from './helpers.ts'

const key = fc.constantFrom('a', 'b', 'c', 'ab', 'b~')
const value = fc.string({ maxLength: 6 })
const lease = fc.constantFrom(0n, 1n, 2n)
const op = fc.oneof(
  fc.tuple(key, value).map(([k, v]) => opPut(k, v)),
  key.map((k) => opDel(k)),
  key.map((k) => opRange(k)),
)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(key, value, lease).map(([k, v, l]): Command => ({ type: 'put', request: putReq(k, v, { lease: l }) })) },
  { weight: 1, arbitrary: key.map((k): Command => ({ type: 'put', request: putReq(k, '', { ignoreValue: true }) })) },
  { weight: 2, arbitrary: key.map((k): Command => ({ type: 'delete-range', request: { key: b(k), rangeEnd: new Uint8Array(0), prevKv: false } })) },
  { weight: 1, arbitrary: key.map((k): Command => ({ type: 'delete-range', request: { key: b(k), rangeEnd: b('b0'), prevKv: false } })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ k: key, v: fc.nat(3), success: fc.array(op, { maxLength: 3 }), failure: fc.array(op, { maxLength: 3 }) })
      .map(({ k, v, success, failure }): Command => ({ type: 'txn', request: txnReq({ compare: [cmp(k, { version: v })], success, failure }) })),
  },
  { weight: 1, arbitrary: fc.constantFrom(1n, 2n).map((id): Command => ({ type: 'lease-grant', request: { ttl: 60, id } })) },
  { weight: 1, arbitrary: fc.constantFrom(1n, 2n).map((id): Command => ({ type: 'lease-revoke', request: { id } })) },
  { weight: 1, arbitrary: fc.nat(30).map((r): Command => ({ type: 'compaction', request: { revision: r, physical: false } })) },
)
const read = fc.record({
  k: key,
  keysOnly: fc.boolean(),
  countOnly: fc.boolean(),
  minMod: fc.constantFrom(0, 3, 8),
  maxCreate: fc.constantFrom(0, 5),
  revision: fc.constantFrom('none', 'current', 'future'),
})
type Read = typeof read extends fc.Arbitrary<infer T> ? T : never
const step = fc.oneof({ weight: 3, arbitrary: command.map((c) => ({ command: c })) }, { weight: 2, arbitrary: read.map((r) => ({ read: r })) })

function request(h: Harness, r: Read): RangeRequest {
  const rev = h.store.currentRevision()
  const revision = r.revision === 'none' ? 0 : r.revision === 'current' ? rev : rev + 1
  return rangeReq(r.k, { keysOnly: r.keysOnly, countOnly: r.countOnly, minModRevision: r.minMod, maxCreateRevision: r.maxCreate, revision })
}

function answer(h: Harness, req: RangeRequest): RangeResponse | string {
  try {
    return h.store.range(req)
  } catch (e) {
    return (e as Error).message
  }
}

test('property: point reads through the cache answer as the tables do', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
      const plain = new Harness({ pointCacheBytes: 0 })
      const cached = [new Harness(), new Harness({ pointCacheBytes: 900 })]
      for (const s of steps) {
        if ('command' in s) {
          const want = plain.run(s.command)
          for (const h of cached) assert.deepEqual(h.run(s.command), want, `${s.command.type} applies alike`)
          continue
        }
        const want = answer(plain, request(plain, s.read))
        for (const h of cached) assert.deepEqual(answer(h, request(h, s.read)), want, `read ${JSON.stringify(s.read)}`)
      }
      // Every key once more, plain: whatever the cache kept must still be right.
      for (const k of ['a', 'b', 'c', 'ab', 'b~']) {
        const want = plain.store.range(rangeReq(k))
        for (const h of cached) assert.deepEqual(h.store.range(rangeReq(k)), want, `final read of ${k}`)
      }
    }),
    { numRuns: 300 },
  )
})

test('the cache keeps within its byte budget and drops what it cannot hold', () => {
  const cache = new PointCache(1000)
  const kv = (n: number) => ({ key: b('k'), value: new Uint8Array(n), createRevision: 1, modRevision: 1, version: 1, lease: 0n })
  cache.set('big', kv(200)) // more than an eighth of the budget: not kept
  assert.equal(cache.get('big'), undefined)
  for (let i = 0; i < 20; i++) cache.set(`k${i}`, kv(20))
  assert.ok(cache.size < 20 && cache.size > 0, `evicted down to the budget (${cache.size} kept)`)
  assert.equal(cache.get('k0'), undefined, 'the oldest went first')
  assert.notEqual(cache.get('k19'), undefined, 'the newest stays')
  cache.set('gone', null)
  assert.equal(cache.get('gone'), null, 'a missing key is remembered as null')
  cache.delete('gone')
  assert.equal(cache.get('gone'), undefined)
})
