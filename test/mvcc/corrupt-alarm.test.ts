/**
 * The CORRUPT alarm (observed on etcd 3.4.23): while it is raised, every change to keys or leases
 * is refused with 500 / 15 `etcdserver: corrupt cluster` and changes nothing; reads, read-only
 * txns and lease checkpoints go on; deactivating it lifts it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Command } from '../../src/mvcc/index.ts'
import { b, cmp, Harness, opDel, opPut, opRange, putReq, txnReq } from './helpers.ts'

const corrupt = (action: 'ACTIVATE' | 'DEACTIVATE'): Extract<Command, { type: 'alarm' }> => ({
  type: 'alarm',
  request: { action, memberId: 7n, alarm: 'CORRUPT' },
})

function raised(): Harness {
  const h = new Harness()
  h.ok({ type: 'lease-grant', request: { ttl: 60, id: 1n } })
  h.put('keep', 'v')
  h.ok(corrupt('ACTIVATE'))
  return h
}

const refused: [string, Command][] = [
  ['a put', { type: 'put', request: putReq('k', 'v') }],
  ['a delete', { type: 'delete-range', request: { key: b('keep'), rangeEnd: new Uint8Array(0), prevKv: false } }],
  ['a txn with a delete in its failure branch', { type: 'txn', request: txnReq({ success: [opRange('k')], failure: [opDel('keep')] }) }],
  ['a txn with a put in a nested txn', { type: 'txn', request: txnReq({ success: [{ type: 'txn', request: txnReq({ success: [opPut('k', 'v')] }) }] }) }],
  ['a compaction', { type: 'compaction', request: { revision: 1, physical: false } }],
  ['a lease grant', { type: 'lease-grant', request: { ttl: 5, id: 0n } }],
  ['a lease revoke', { type: 'lease-revoke', request: { id: 1n } }],
]
for (const [name, c] of refused) {
  test(`while CORRUPT is raised, apply refuses ${name} with DataLoss and changes nothing`, () => {
    const h = raised()
    const before = [h.store.currentRevision(), h.store.hash(), h.store.leaseLeases().leases.length]
    const r = h.run(c)
    assert.deepEqual([r.error?.message, r.error?.code], ['etcdserver: corrupt cluster', 15])
    assert.deepEqual([h.store.currentRevision(), h.store.hash(), h.store.leaseLeases().leases.length], before)
  })
}

test('while CORRUPT is raised, reads and read-only txns work; once deactivated, writes do again', () => {
  const h = raised()
  assert.equal(h.get('keep').count, 1)
  const t = h.txn({ compare: [cmp('keep', { version: 1 })], success: [opRange('keep')], failure: [opRange('k')] })
  assert.equal(t.succeeded, true)
  assert.equal(h.run({ type: 'lease-checkpoint', request: { checkpoints: [{ id: 1n, remainingMs: 30_000 }] } }).error, null)
  assert.deepEqual(h.ok(corrupt('DEACTIVATE')).alarms, [{ memberId: 7n, alarm: 'CORRUPT' }])
  assert.equal(h.run({ type: 'put', request: putReq('k', 'v') }).error, null)
})
