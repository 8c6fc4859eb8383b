/**
 * etcd's Put and DeleteRange semantics (shared/etcd-v3-http-api.md §5.1, §5.3), case by case.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { KeyValue } from '../../src/mvcc/index.ts'
import { b, Harness, keys, kvText, opPut, putReq, s } from './helpers.ts'

test('put: every put is a new revision and version+1, also with an unchanged value', () => {
  const h = new Harness()
  assert.equal(h.put('foo', 'bar').header.revision, 2)
  assert.equal(h.put('foo', 'bar').header.revision, 3)
  assert.deepEqual(h.get('foo').kvs.map(kvText), ['foo=bar c2 m3 v2'])
})

test('put: prev_kv returns the previous version; none for a new key', () => {
  const h = new Harness()
  assert.equal(h.put('foo', 'bar', { prevKv: true }).prevKv, null)
  const r = h.put('foo', 'baz', { prevKv: true })
  assert.equal(kvText(r.prevKv!), 'foo=bar c2 m2 v1')
  assert.equal(h.put('foo', 'qux').prevKv, null, 'prev_kv only when asked')
})

test('put: a put without value stores an empty value', () => {
  const h = new Harness()
  h.put('foo', '')
  assert.deepEqual(h.get('foo').kvs.map(kvText), ['foo= c2 m2 v1'])
})

test('put: ignore_value rewrites the current value with a new revision and version', () => {
  const h = new Harness()
  h.put('p1', 'v1')
  const r = h.put('p1', '', { ignoreValue: true, prevKv: true })
  assert.equal(kvText(r.prevKv!), 'p1=v1 c2 m2 v1')
  assert.deepEqual(h.get('p1').kvs.map(kvText), ['p1=v1 c2 m3 v2'])
})

test('put: ignore_value combines with a new lease; ignore_lease keeps the lease', () => {
  const h = new Harness()
  h.grant(60, 7n)
  h.put('p1', 'v1')
  h.put('p1', '', { ignoreValue: true, lease: 7n })
  assert.deepEqual(h.get('p1').kvs.map(kvText), ['p1=v1 c2 m3 v2 lease=7'])
  h.put('p1', 'v2', { ignoreLease: true })
  assert.deepEqual(h.get('p1').kvs.map(kvText), ['p1=v2 c2 m4 v3 lease=7'])
  h.put('p1', 'v3')
  assert.deepEqual(h.get('p1').kvs.map(kvText), ['p1=v3 c2 m5 v4'], 'a plain put detaches the lease')
})

const putErrors: [string, () => void, RegExp][] = [
  ['an empty key', () => new Harness().put('', 'x'), /key is not provided/],
  ['ignore_value with a value', () => new Harness().put('k', 'x', { ignoreValue: true }), /value is provided/],
  ['ignore_lease with a lease', () => new Harness().put('k', '', { ignoreLease: true, lease: 123n }), /lease is provided/],
  ['ignore_value on a missing key', () => new Harness().put('k', '', { ignoreValue: true }), /key not found/],
  ['ignore_lease on a missing key', () => new Harness().put('k', 'v', { ignoreLease: true }), /key not found/],
  ['an unknown lease', () => new Harness().put('k', 'v', { lease: 123n }), /requested lease not found/],
  ['an unknown lease wins over ignore_value on a missing key', () => new Harness().put('k', '', { ignoreValue: true, lease: 9n }), /requested lease not found/],
]
for (const [name, run, message] of putErrors) {
  test(`put: refuses ${name}`, () => assert.throws(run, message))
}

test('put: a failed put uses no revision and changes nothing', () => {
  const h = new Harness()
  h.put('a', '1')
  const r = h.run({ type: 'put', request: { key: b('a'), value: b('2'), lease: 5n, prevKv: false, ignoreValue: false, ignoreLease: false } })
  assert.match(r.error!.message, /lease not found/)
  assert.equal(r.error!.code, 5)
  assert.equal(r.revision, 2)
  assert.deepEqual(r.events, [])
  assert.equal(h.store.currentRevision(), 2)
  assert.equal(h.store.appliedIndex(), 2, 'the failed entry still counts as applied')
})

test('delete: one key with prev_kv returns deleted 1 and the previous kv', () => {
  const h = new Harness()
  h.put('p1', 'v0')
  h.put('p1', 'v0')
  h.put('p1', 'v1')
  const r = h.del('p1', { prevKv: true })
  assert.equal(r.header.revision, 5)
  assert.equal(r.deleted, 1)
  assert.deepEqual(r.prevKvs.map(kvText), ['p1=v1 c2 m4 v3'])
})

test('delete: a range deletes several keys in one revision, without prev_kvs unless asked', () => {
  const h = new Harness()
  h.put('r/a', '1')
  h.put('r/b', '2')
  h.put('r/c', '3')
  const r = h.del('r/a', { rangeEnd: b('r/c') })
  assert.deepEqual([r.header.revision, r.deleted, r.prevKvs.length], [5, 2, 0])
  assert.deepEqual(keys(h.get('r/', { rangeEnd: b('r0') }).kvs), ['r/c'])
})

test('delete: nothing matched leaves the revision unchanged', () => {
  const h = new Harness()
  h.put('a', '1')
  const r = h.del('nokey')
  assert.deepEqual([r.header.revision, r.deleted], [2, 0])
  assert.equal(h.store.currentRevision(), 2)
})

test('delete: "\\0" range_end deletes every key ≥ key', () => {
  const h = new Harness()
  for (const k of ['a', 'b', 'c']) h.put(k, k)
  assert.equal(h.del('b', { rangeEnd: new Uint8Array([0]) }).deleted, 2)
  assert.deepEqual(keys(h.get('\0', { rangeEnd: new Uint8Array([0]) }).kvs), ['a'])
})

test('delete: a later put starts a new generation; history before the delete stays readable', () => {
  const h = new Harness()
  h.put('k', 'v1') // 2
  h.put('k', 'v2') // 3
  h.del('k') // 4
  h.put('k', 'v3') // 5
  assert.deepEqual(h.get('k').kvs.map(kvText), ['k=v3 c5 m5 v1'])
  assert.deepEqual(h.get('k', { revision: 3 }).kvs.map(kvText), ['k=v2 c2 m3 v2'])
  assert.deepEqual(h.get('k', { revision: 4 }).kvs, [])
})

test('delete: an empty key is refused', () => {
  assert.throws(() => new Harness().del(''), /key is not provided/)
})

test('events: a put and a delete report type, kv and prevKv for the watch hub', () => {
  const h = new Harness()
  const p1 = h.run({ type: 'put', request: { key: b('w'), value: b('1'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } })
  assert.deepEqual(p1.events.map((e) => [e.type, kvText(e.kv), e.prevKv]), [['PUT', 'w=1 c2 m2 v1', null]])
  const d = h.run({ type: 'delete-range', request: { key: b('w'), rangeEnd: new Uint8Array(0), prevKv: false } })
  assert.deepEqual(
    d.events.map((e) => [e.type, kvText(e.kv), kvText(e.prevKv!)]),
    [['DELETE', 'w= c0 m3 v0', 'w=1 c2 m2 v1']],
  )
})

test('events: with no prev_kv watcher a put reads no previous value: its event carries no prevKv, its answer still the prev_kv asked for', () => {
  const h = new Harness()
  h.store.prevKvWatched = () => false
  assert.equal(h.store.keyCount(), 0) // counted now, then kept by the applied events
  h.put('p', 'old')
  const p = h.run({ type: 'put', request: putReq('p', 'new') })
  assert.deepEqual(p.events.map((e) => [e.type, kvText(e.kv), e.prevKv]), [['PUT', 'p=new c2 m3 v2', null]])
  const asked = h.run({ type: 'put', request: putReq('p', 'newer', { prevKv: true }) })
  assert.deepEqual(asked.events.map((e) => kvText(e.prevKv!)), ['p=new c2 m3 v2'])
  assert.equal((asked.response as unknown as { response: { prevKv: KeyValue } }).response.prevKv.value.length, 3)
  // A txn's puts follow the same rule; ignore_value still finds the value it keeps.
  const t = h.txn({ success: [opPut('p', 'kept'), opPut('q', 'x')] })
  assert.equal(t.succeeded, true)
  h.ok({ type: 'put', request: putReq('p', '', { ignoreValue: true }) })
  assert.equal(s(h.get('p').kvs[0]!.value), 'kept')
  // Keys are counted by their events' versions, prevKv or not: p and q.
  assert.equal(h.store.keyCount(), 2)
  h.store.prevKvWatched = () => true
  const watched = h.run({ type: 'put', request: putReq('q', 'y') })
  assert.deepEqual(watched.events.map((e) => kvText(e.prevKv!)), ['q=x c5 m5 v1'])
  assert.equal(h.store.keyCount(), 2)
})

test('events: with no prev_kv watcher a delete reads no values: its events carry no prevKv, its answer still the prev_kvs asked for', () => {
  const h = new Harness()
  h.store.prevKvWatched = () => false
  for (const k of ['a', 'b', 'c']) h.put(`r/${k}`, k.toUpperCase())
  const d = h.run({ type: 'delete-range', request: { key: b('r/'), rangeEnd: b('r0'), prevKv: false } })
  assert.deepEqual(d.events.map((e) => [e.type, kvText(e.kv), e.prevKv]), [
    ['DELETE', 'r/a= c0 m5 v0', null],
    ['DELETE', 'r/b= c0 m5 v0', null],
    ['DELETE', 'r/c= c0 m5 v0', null],
  ])
  for (const k of ['a', 'b']) h.put(`s/${k}`, k)
  const asked = h.run({ type: 'delete-range', request: { key: b('s/'), rangeEnd: b('s0'), prevKv: true } })
  assert.deepEqual(asked.events.map((e) => kvText(e.prevKv!)), ['s/a=a c6 m6 v1', 's/b=b c7 m7 v1'])
  assert.deepEqual((asked.response as unknown as { response: { prevKvs: KeyValue[] } }).response.prevKvs.map(kvText), ['s/a=a c6 m6 v1', 's/b=b c7 m7 v1'])
  // The tombstones of one delete are numbered in key order, as its events: history replays them so.
  const history = h.store.eventsBetween(5, 8, b('r/'), b('s0'), 100)
  assert.deepEqual(history.map((e) => `${e.type} ${s(e.kv.key)} ${e.kv.modRevision}`), [
    'DELETE r/a 5', 'DELETE r/b 5', 'DELETE r/c 5', 'PUT s/a 6', 'PUT s/b 7', 'DELETE s/a 8', 'DELETE s/b 8',
  ])
  assert.deepEqual(h.get('r/', { rangeEnd: b('s0') }).kvs, [])
})
