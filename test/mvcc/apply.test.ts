/**
 * Applying raft entries: the applied index travels with the effects, replays are no-ops, batches
 * equal one-by-one application, the codec is exact for int64 IDs, and the hashes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeCommand, encodeCommand, MvccStore, type Command } from '../../src/mvcc/index.ts'
import { b, cmp, Harness, opDel, opPut, opRange, opTxn, putReq, SQL, txnReq } from './helpers.ts'

const commands: Command[] = [
  { type: 'lease-grant', request: { ttl: 60, id: -(2n ** 63n) } },
  { type: 'put', request: putReq('a', 'x', { lease: -(2n ** 63n), prevKv: true }) },
  { type: 'put', request: { ...putReq('a', ''), ignoreValue: true, ignoreLease: true } },
  { type: 'delete-range', request: { key: b('a'), rangeEnd: new Uint8Array([0]), prevKv: true } },
  {
    type: 'txn',
    request: txnReq({
      compare: [
        cmp('a', { target: 'LEASE', result: 'NOT_EQUAL', lease: 2n ** 63n - 1n }),
        cmp('a', { target: 'VALUE', result: 'GREATER', value: b('v') }),
        cmp('a', { target: 'MOD', result: 'LESS', modRevision: 2 ** 40 }),
        cmp('a', { target: 'CREATE', createRevision: 3 }),
      ],
      success: [
        opRange('a', {
          rangeEnd: b('z'),
          limit: 3,
          revision: 2,
          sortOrder: 'DESCEND',
          sortTarget: 'VALUE',
          keysOnly: true,
          countOnly: true,
          serializable: true,
          minModRevision: 1,
          maxModRevision: 2,
          minCreateRevision: 3,
          maxCreateRevision: 4,
        }),
        opTxn({ success: [opPut('n', 'v')], failure: [opDel('n')] }),
      ],
      failure: [opPut('f', 'v')],
    }),
  },
  { type: 'compaction', request: { revision: 3, physical: true } },
  { type: 'lease-revoke', request: { id: 12345678901234567n } },
  { type: 'lease-checkpoint', request: { checkpoints: [{ id: -1n, remainingMs: 2 ** 40 }] } },
  { type: 'alarm', request: { action: 'DEACTIVATE', memberId: 2n ** 63n - 1n, alarm: 'NOSPACE' } },
]

test('command codec: every command round-trips exactly, int64 IDs included', () => {
  for (const c of commands) {
    const decoded = decodeCommand(encodeCommand(c))
    assert.deepEqual(decoded, c)
  }
  assert.throws(() => decodeCommand(encodeCommand(commands[0]!).subarray(0, 1)))
})

test('apply: re-applying an index at or below the applied one is a no-op', () => {
  const h = new Harness()
  const put = encodeCommand({ type: 'put', request: putReq('k', 'v') })
  assert.equal(h.store.apply(1, put)!.revision, 2)
  assert.equal(h.store.apply(1, put), null)
  assert.deepEqual(h.store.applyBatch([{ index: 1, data: put }, { index: 2, data: put }]).map((r) => r?.revision ?? null), [null, 3])
  assert.equal(h.store.appliedIndex(), 2)
})

test('apply: an empty entry advances the applied index only', () => {
  const h = new Harness()
  const r = h.store.apply(5, new Uint8Array(0))!
  assert.deepEqual([r.response, r.error, r.revision, h.store.appliedIndex()], [null, null, 1, 5])
})

test('apply: an export taken between applies carries its applied index and reopens to the same state', () => {
  const h = new Harness()
  h.put('a', '1')
  h.grant(30, 9n)
  h.put('b', '2', { lease: 9n })
  h.ok({ type: 'alarm', request: { action: 'ACTIVATE', memberId: 3n, alarm: 'NOSPACE' } })
  const copy = new MvccStore(new SQL.Database(h.db.export()))
  assert.equal(copy.appliedIndex(), h.store.appliedIndex())
  assert.equal(copy.currentRevision(), h.store.currentRevision())
  assert.equal(copy.hash(), h.store.hash())
  assert.deepEqual(copy.leaseLeases(), h.store.leaseLeases())
  assert.deepEqual(copy.alarms(), h.store.alarms())
})

test('apply: a batch gives the same bytes, hash and results as one entry at a time', () => {
  const entries = commands.map((c, i) => ({ index: i + 1, data: encodeCommand(c) }))
  const one = new Harness()
  const batch = new Harness()
  const singles = entries.map((e) => one.store.apply(e.index, e.data))
  const batched = batch.store.applyBatch(entries)
  assert.deepEqual(batched, singles)
  assert.equal(batch.store.hash(), one.store.hash())
  assert.deepEqual(batch.db.export(), one.db.export())
})

test('apply: an unexpected failure rolls the whole batch back and keeps the caches consistent', () => {
  const h = new Harness()
  h.put('a', '1')
  const before = h.db.export()
  const good = encodeCommand({ type: 'lease-grant', request: { ttl: 10, id: 4n } })
  assert.throws(() => h.store.applyBatch([{ index: 2, data: good }, { index: 3, data: new Uint8Array([0xc1]) }]))
  assert.deepEqual([h.store.appliedIndex(), h.store.currentRevision(), h.store.leaseLeases().leases], [1, 2, []])
  assert.deepEqual(h.db.export(), before)
  assert.equal(h.store.apply(2, good)!.error, null, 'the entry can be applied again')
})

test('hashKv: depends only on history up to the revision; compacted and future revisions are refused', () => {
  const x = new Harness()
  const y = new Harness()
  for (const h of [x, y]) {
    h.put('a', '1')
    h.put('b', '2')
  }
  const at3 = x.store.hashKv(3).hash
  y.put('c', '3')
  assert.equal(y.store.hashKv(3).hash, at3)
  assert.notEqual(y.store.hashKv(0).hash, at3)
  assert.deepEqual({ ...y.store.hashKv(4), hash: 0 }, { header: { revision: 4 }, hash: 0, compactRevision: -1, hashRevision: 4 })
  assert.throws(() => y.store.hashKv(5), /future revision/)
  y.compact(3)
  assert.throws(() => y.store.hashKv(2), /has been compacted/)
  assert.throws(() => y.store.hashKv(3), /has been compacted/, 'as etcd: the compacted revision itself too')
  assert.equal(y.store.hashKv(4).compactRevision, 3)
})

test("hashKv: etcd's HashKV byte for byte (values observed on etcd 3.4.23 for the same history)", () => {
  const h = new Harness()
  assert.equal(h.store.hashKv(0).hash, 1084519789, 'empty')
  h.put('a', '1')
  assert.equal(h.store.hashKv(0).hash, 2587454935)
  h.put('b', '2')
  h.del('a')
  h.put('x', '1')
  h.put('a', '2')
  h.put('a', '3')
  h.put('z', '9')
  h.compact(6)
  h.put('b', '5')
  h.put('x', '7')
  // After the compaction, a row at or below it counts only as its key's latest at the revision.
  assert.deepEqual([0, 9, 7].map((r) => h.store.hashKv(r).hash), [3440054494, 1044197425, 931990338])
})

test('hash: members that applied the same log agree; a different value differs', () => {
  const x = new Harness()
  const y = new Harness()
  x.put('k', 'v1')
  y.put('k', 'v2')
  assert.notEqual(x.store.hash(), y.store.hash())
})

test('eventsBetween: ordered by revision, never splits a revision, prevKv filled', () => {
  const h = new Harness()
  h.put('a', '1') // 2
  h.txn({ success: [opPut('a', '2'), opPut('b', '1')] }) // 3
  h.del('a') // 4
  const ev = (max: number) =>
    h.store.eventsBetween(2, 4, b('a'), b('c'), max).map((e) => `${e.type} ${new TextDecoder().decode(e.kv.key)}@${e.kv.modRevision}${e.prevKv ? ` prev@${e.prevKv.modRevision}` : ''}`)
  assert.deepEqual(ev(100), ['PUT a@2', 'PUT a@3 prev@2', 'PUT b@3', 'DELETE a@4 prev@3'])
  assert.deepEqual(ev(2), ['PUT a@2', 'PUT a@3 prev@2', 'PUT b@3'], 'revision 3 is not split')
  assert.deepEqual(ev(1), ['PUT a@2'])
  assert.deepEqual(h.store.eventsBetween(3, 3, b('b'), new Uint8Array(0), 10).length, 1)
})
