/**
 * The maintenance service against §9: status, hash (uint32 as a number), alarm and defragment
 * without header, snapshot stream lines, transfer-leadership.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Errors } from '../../src/mvcc/errors.ts'
import {
  alarmText, decodeRequest, encodeResponse, encodeStreamResponse, errorResponse, findEndpoint, maintenanceAlarm,
  maintenanceDefragment, maintenanceHash, maintenanceHashKv, maintenanceSnapshot, maintenanceStatus,
  maintenanceTransferLeadership,
} from '../../src/api/index.ts'
import { CTX, hdr, throwsEtcd } from './helpers.ts'

test('§9 maintenance requests decode', () => {
  assert.deepEqual(decodeRequest(maintenanceStatus, '{}'), {})
  assert.deepEqual(decodeRequest(maintenanceHash, '{"revision":5}'), {})
  assert.deepEqual(decodeRequest(maintenanceHashKv, '{"revision":5}'), { revision: 5 })
  assert.deepEqual(decodeRequest(maintenanceAlarm, '{"action":"GET"}'), { action: 'GET', memberId: 0n, alarm: 'NONE' })
  assert.deepEqual(decodeRequest(maintenanceAlarm, '{}'), { action: 'GET', memberId: 0n, alarm: 'NONE' })
  assert.deepEqual(decodeRequest(maintenanceAlarm, '{"action":"ACTIVATE","memberID":"1","alarm":"NOSPACE"}'), {
    action: 'ACTIVATE', memberId: 1n, alarm: 'NOSPACE',
  })
  assert.deepEqual(decodeRequest(maintenanceAlarm, '{"action":"DEACTIVATE","memberID":"1","alarm":"NOSPACE"}'), {
    action: 'DEACTIVATE', memberId: 1n, alarm: 'NOSPACE',
  })
  assert.deepEqual(decodeRequest(maintenanceDefragment, '{}'), {})
  assert.deepEqual(decodeRequest(maintenanceSnapshot, '{}'), {})
  assert.deepEqual(decodeRequest(maintenanceTransferLeadership, '{"targetID":"1"}'), { targetId: 1n })
  throwsEtcd(
    () => decodeRequest(maintenanceAlarm, '{"action":"BOGUS"}'),
    3,
    'unknown value "BOGUS" for enum etcdserverpb.AlarmRequest_AlarmAction',
  )
  throwsEtcd(() => decodeRequest(maintenanceAlarm, '{"alarm":"FULL"}'), 3, 'unknown value "FULL" for enum etcdserverpb.AlarmType')
})

test('§9 status prints camelCase proto names', () => {
  assert.equal(
    encodeResponse(maintenanceStatus, {
      header: { revision: 8 }, version: '3.4.23', dbSize: 20480, leader: 15985099378392235387n, raftIndex: 8, raftTerm: 2,
      raftAppliedIndex: 8, errors: [], dbSizeInUse: 16384, isLearner: false,
    }, CTX),
    `{${hdr(8)},"version":"3.4.23","dbSize":"20480","leader":"15985099378392235387","raftIndex":"8",` +
      '"raftTerm":"2","raftAppliedIndex":"8","dbSizeInUse":"16384"}',
  )
})

test('§9 hash is a JSON number', () => {
  assert.equal(encodeResponse(maintenanceHash, { header: { revision: 8 }, hash: 4115841888 }, CTX), `{${hdr(8)},"hash":4115841888}`)
  assert.equal(
    encodeResponse(maintenanceHashKv, { header: { revision: 8 }, hash: 1, compactRevision: 3, hashRevision: 8 }, CTX),
    `{${hdr(8)},"hash":1,"compact_revision":"3","hash_revision":"8"}`,
  )
})

test('§9 alarm and defragment answers have no header', () => {
  assert.equal(encodeResponse(maintenanceAlarm, { alarms: [] }, CTX), '{}')
  assert.equal(encodeResponse(maintenanceAlarm, { alarms: [{ memberId: 1n, alarm: 'NOSPACE' }] }, CTX), '{"alarms":[{"memberID":"1","alarm":"NOSPACE"}]}')
  assert.equal(encodeResponse(maintenanceDefragment, {}, CTX), '{}')
})

test('§9 snapshot lines: no header, remaining_bytes only while > 0', () => {
  assert.equal(
    encodeStreamResponse(maintenanceSnapshot, { remainingBytes: 32, blob: Uint8Array.of(1, 2, 3) }, CTX),
    '{"result":{"remaining_bytes":"32","blob":"AQID"}}\n',
  )
  assert.equal(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: 0, blob: Uint8Array.of(1) }, CTX), '{"result":{"blob":"AQ=="}}\n')
})

test('§9 transfer-leadership: its answer has no header (etcd 3.4: `{}`), and the bad transferee error (412 / 9)', () => {
  assert.equal(encodeResponse(maintenanceTransferLeadership, {}, CTX), '{}')
  const r = errorResponse(Errors.badLeaderTransferee())
  assert.deepEqual([r.status, r.body], [412, '{"error":"etcdserver: bad leader transferee","message":"etcdserver: bad leader transferee","code":9}'])
})

test('§9 NOSPACE: database space exceeded is 429 / 8', () => {
  const r = errorResponse(Errors.noSpace())
  assert.deepEqual([r.status, r.body], [429, '{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}'])
})

test('§9 paths: movereader does not exist', () => {
  assert.equal(findEndpoint('/v3/maintenance/movereader'), null)
  assert.equal(findEndpoint('/v3/maintenance/transfer-leadership'), maintenanceTransferLeadership)
})

test("an alarm's text (a status's errors, etcdctl's alarm list) is protobuf's text format: zero fields left out", () => {
  assert.equal(alarmText({ memberId: 10276657743932975437n, alarm: 'NOSPACE' }), 'memberID:10276657743932975437 alarm:NOSPACE ')
  assert.equal(alarmText({ memberId: 1n, alarm: 'NONE' }), 'memberID:1 ')
  assert.equal(alarmText({ memberId: 0n, alarm: 'CORRUPT' }), 'alarm:CORRUPT ')
})
