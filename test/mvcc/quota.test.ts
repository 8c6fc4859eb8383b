/**
 * The space quota and the NOSPACE alarm (shared/etcd-v3-http-api.md §9): usage is measured by the
 * member before proposing, the alarm is replicated, apply refuses writes that need space while it
 * is raised, and it stays raised until it is deactivated, as in etcd, even once compaction and
 * reclaim brought usage back under.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MvccStore, type Command } from '../../src/mvcc/index.ts'
import { b, cmp, Harness, opDel, opPut, opRange, putReq, SQL, txnReq } from './helpers.ts'

const MEMBER = 1n
const alarm = (action: 'ACTIVATE' | 'DEACTIVATE'): Extract<Command, { type: 'alarm' }> => ({
  type: 'alarm',
  request: { action, memberId: MEMBER, alarm: 'NOSPACE' },
})

const QUOTA = 256 * 1024

function full(): Harness {
  const h = new Harness({ quotaBytes: QUOTA })
  h.ok({ type: 'lease-grant', request: { ttl: 60, id: 1n } })
  h.put('keep', 'v')
  for (let i = 0; h.store.spaceUsed() <= QUOTA; i++) h.put(`fill/${i % 20}`, 'x'.repeat(2000))
  return h
}

test('quota: over quota, admit refuses writes that need space, and the member is to raise NOSPACE', () => {
  const h = full()
  const put: Command = { type: 'put', request: putReq('k', 'v') }
  assert.throws(() => h.store.admit(put), /database space exceeded/)
  assert.throws(() => h.store.admit({ type: 'lease-grant', request: { ttl: 5, id: 0n } }), /space exceeded/)
  assert.doesNotThrow(() => h.store.admit({ type: 'delete-range', request: { key: b('k'), rangeEnd: new Uint8Array(0), prevKv: false } }))
  assert.equal(h.store.fits(put), false)
  assert.deepEqual(h.store.noSpaceAlarm(MEMBER), alarm('ACTIVATE'))
})

test('quota: admit measures usage again once something was applied since its last measure', () => {
  const h = new Harness({ quotaBytes: 256 * 1024 })
  const put: Command = { type: 'put', request: putReq('k', 'v') }
  assert.doesNotThrow(() => h.store.admit(put))
  for (let i = 0; h.store.spaceUsed() <= QUOTA; i++) h.put(`fill/${i % 20}`, 'x'.repeat(2000))
  assert.throws(() => h.store.admit(put), /database space exceeded/)
})

test("quota: a write that would cross the quota is refused, as etcd counts its cost (256 bytes + key + value; a txn's costlier branch)", () => {
  const h = new Harness({ quotaBytes: QUOTA })
  const room = QUOTA - h.store.spaceUsed()
  const sized = (n: number): Command => ({ type: 'put', request: putReq('k', 'x'.repeat(n)) })
  assert.doesNotThrow(() => h.store.admit(sized(room - 256 - 2)))
  assert.equal(h.store.fits(sized(room - 256 - 1)), false)
  assert.throws(() => h.store.admit(sized(room - 256 - 1)), /database space exceeded/)
  const txn = (success: number, failure: number): Command => ({
    type: 'txn',
    request: txnReq({ success: [opPut('a', 'x'.repeat(success))], failure: [opPut('b', 'x'.repeat(failure))] }),
  })
  assert.doesNotThrow(() => h.store.admit(txn(room - 256 - 2, 10)))
  assert.throws(() => h.store.admit(txn(10, room - 256 - 1)), /database space exceeded/)
  assert.deepEqual(h.store.noSpaceAlarm(MEMBER), alarm('ACTIVATE'), 'the member raises its alarm on such a refusal')
  h.ok(alarm('ACTIVATE'))
  assert.equal(h.store.noSpaceAlarm(MEMBER), null, 'once')
})

const refused: [string, Command][] = [
  ['a put', { type: 'put', request: putReq('k', 'v') }],
  ['a txn with a put', { type: 'txn', request: txnReq({ success: [opRange('k')], failure: [opPut('k', 'v')] }) }],
  ['a txn with a put in a nested txn', { type: 'txn', request: txnReq({ success: [{ type: 'txn', request: txnReq({ success: [opPut('k', 'v')] }) }] }) }],
  ['a lease grant', { type: 'lease-grant', request: { ttl: 5, id: 0n } }],
]
for (const [name, c] of refused) {
  test(`quota: while NOSPACE is raised, apply refuses ${name} with ResourceExhausted`, () => {
    const h = full()
    h.ok(alarm('ACTIVATE'))
    const r = h.run(c)
    assert.deepEqual([r.error?.message, r.error?.code], ['etcdserver: mvcc: database space exceeded', 8])
  })
}

test('quota: while NOSPACE is raised, reads, read-only txns, deletes, revokes and compaction work', () => {
  const h = full()
  h.ok(alarm('ACTIVATE'))
  assert.equal(h.get('keep').count, 1)
  assert.equal(h.txn({ compare: [cmp('keep', { version: 1 })], success: [opRange('keep')] }).succeeded, true)
  assert.equal(h.txn({ success: [opDel('fill/1')] }).responses.length, 1)
  assert.equal(h.del('fill/', { rangeEnd: b('fill0') }).deleted, 19)
  assert.equal(h.revoke(1n).header.revision, h.store.currentRevision())
  assert.doesNotThrow(() => h.compact(h.store.currentRevision()))
})

test('quota: alarm activate/deactivate answer with the alarm; GET lists what is raised', () => {
  const h = new Harness()
  assert.deepEqual(h.ok(alarm('ACTIVATE')).alarms, [{ memberId: MEMBER, alarm: 'NOSPACE' }])
  assert.deepEqual(h.store.alarms(), [{ memberId: MEMBER, alarm: 'NOSPACE' }])
  assert.deepEqual(h.ok(alarm('DEACTIVATE')).alarms, [{ memberId: MEMBER, alarm: 'NOSPACE' }])
  assert.deepEqual(h.ok(alarm('DEACTIVATE')).alarms, [], 'nothing to deactivate')
  assert.deepEqual(h.store.alarms(), [])
})

test('quota: under the quota again after compaction, the alarm stays until it is deactivated (as etcd)', () => {
  const h = full()
  h.ok(alarm('ACTIVATE'))
  assert.equal(h.store.noSpaceAlarm(MEMBER), null, 'raised already: nothing to propose')
  h.del('fill/', { rangeEnd: b('fill0') })
  h.compact(h.store.currentRevision())
  for (let i = 0; i < 5; i++) h.run({ type: 'lease-checkpoint', request: { checkpoints: [] } })
  assert.ok(h.store.spaceUsed() <= QUOTA, 'compaction and reclaim made room')
  assert.deepEqual(h.store.alarms(), [{ memberId: MEMBER, alarm: 'NOSPACE' }], 'the operator disarms')
  assert.throws(() => h.store.admit({ type: 'put', request: putReq('k', 'v') }), /database space exceeded/)
  h.ok(alarm('DEACTIVATE'))
  assert.equal(h.put('k', 'v').header.revision, h.store.currentRevision())
})

test('quota: a NOSPACE alarm raised by hand on a member under quota stays raised', () => {
  const h = new Harness()
  h.ok(alarm('ACTIVATE'))
  assert.equal(h.store.noSpaceAlarm(MEMBER), null)
  assert.deepEqual(h.store.alarms(), [{ memberId: MEMBER, alarm: 'NOSPACE' }])
})

test('quota: alarms of member IDs of 2^63 and more (uint64s) are kept apart, listed and cleared exactly, and reopen the same', () => {
  const h = new Harness()
  const ids = [2n ** 64n - 1n, 2n ** 63n, 2n ** 63n - 1n]
  const raise = (memberId: bigint, action: 'ACTIVATE' | 'DEACTIVATE' = 'ACTIVATE') =>
    h.ok({ type: 'alarm', request: { action, memberId, alarm: 'NOSPACE' } })
  for (const id of ids) raise(id)
  raise(ids[0] as bigint) // raised already: not a second row
  const listed = (store: MvccStore): bigint[] => store.alarms().map((a) => a.memberId).sort((x, y) => (x < y ? -1 : 1))
  assert.deepEqual(listed(h.store), [...ids].sort((x, y) => (x < y ? -1 : 1)))
  assert.deepEqual(listed(new MvccStore(new SQL.Database(h.db.export()))), listed(h.store))
  assert.deepEqual(raise(2n ** 64n - 1n, 'DEACTIVATE').alarms, [{ memberId: 2n ** 64n - 1n, alarm: 'NOSPACE' }])
  assert.deepEqual(listed(h.store), [2n ** 63n - 1n, 2n ** 63n])
})
