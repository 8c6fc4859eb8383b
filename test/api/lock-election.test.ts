/**
 * v3lock and v3election against §11: requests, responses, and errors passed through as 500 / 2.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Errors } from '../../src/mvcc/errors.ts'
import {
  ApiErrors, concurrencyError, decodeRequest, electionCampaign, electionLeader, electionObserve, electionProclaim,
  electionResign, encodeResponse, encodeStreamResponse, errorResponse, lockLock, lockUnlock,
} from '../../src/api/index.ts'
import { CTX, EMPTY, hdr, kv, throwsEtcd, utf8 } from './helpers.ts'

const leader = { name: utf8('el'), key: utf8('el/1f41'), rev: 14, lease: 8001n }

test('§11.1 lock requests and responses', () => {
  assert.deepEqual(decodeRequest(lockLock, '{"name":"bGs=","lease":7001}'), { name: utf8('lk'), lease: 7001n })
  assert.deepEqual(decodeRequest(lockLock, '{}'), { name: EMPTY, lease: 0n })
  assert.deepEqual(decodeRequest(lockUnlock, '{"key":"bGsvMWI1OQ=="}'), { key: utf8('lk/1b59') })
  assert.deepEqual(decodeRequest(lockUnlock, '{}'), { key: EMPTY })
  assert.equal(encodeResponse(lockLock, { header: { revision: 9 }, key: utf8('lk/1b59') }, CTX), `{${hdr(9)},"key":"bGsvMWI1OQ=="}`)
  assert.equal(encodeResponse(lockUnlock, { header: { revision: 11 } }, CTX), `{${hdr(11)}}`)
})

test('§11.2 election requests', () => {
  assert.deepEqual(decodeRequest(electionCampaign, '{"name":"ZWw=","lease":8001,"value":"djE="}'), { name: utf8('el'), lease: 8001n, value: utf8('v1') })
  assert.deepEqual(decodeRequest(electionCampaign, '{}'), { name: EMPTY, lease: 0n, value: EMPTY })
  assert.deepEqual(decodeRequest(electionLeader, '{"name":"ZWw="}'), { name: utf8('el') })
  assert.deepEqual(decodeRequest(electionObserve, '{"name":"ZWw="}'), { name: utf8('el') })
  assert.deepEqual(
    decodeRequest(electionProclaim, '{"leader":{"name":"ZWw=","key":"ZWwvMWY0MQ==","rev":14,"lease":8001},"value":"djI="}'),
    { leader, value: utf8('v2') },
  )
  assert.deepEqual(decodeRequest(electionResign, '{"leader":{"name":"ZWw=","key":"ZWwvMWY0MQ==","rev":14,"lease":8001}}'), { leader })
})

test('§11.2 resign {} and proclaim without a leader: 500 / 2 "leader" field must be provided', () => {
  throwsEtcd(() => decodeRequest(electionResign, '{}'), 2, '"leader" field must be provided')
  throwsEtcd(() => decodeRequest(electionProclaim, '{"value":"djI="}'), 2, '"leader" field must be provided')
  const r = errorResponse(ApiErrors.leaderNotProvided())
  assert.deepEqual([r.status, r.body], [500, '{"error":"\\"leader\\" field must be provided","message":"\\"leader\\" field must be provided","code":2}'])
})

test('§11 JSON errors in lock/election bodies are still the gateway\'s 400 / 3', () => {
  throwsEtcd(() => decodeRequest(lockLock, '{"name":"!"}'), 3, 'illegal base64 data at input byte 0')
})

test('§11.2 election responses', () => {
  assert.equal(
    encodeResponse(electionCampaign, { header: { revision: 14 }, leader }, CTX),
    `{${hdr(14)},"leader":{"name":"ZWw=","key":"ZWwvMWY0MQ==","rev":"14","lease":"8001"}}`,
  )
  assert.equal(
    encodeResponse(electionCampaign, { header: { revision: 14 }, leader: { ...leader, name: EMPTY } }, CTX),
    `{${hdr(14)},"leader":{"key":"ZWwvMWY0MQ==","rev":"14","lease":"8001"}}`,
  )
  const lkv = kv('el/1f41', { createRevision: 14, modRevision: 14, version: 1, value: utf8('v1'), lease: 8001n })
  const KV = '{"key":"ZWwvMWY0MQ==","create_revision":"14","mod_revision":"14","version":"1","value":"djE=","lease":"8001"}'
  assert.equal(encodeResponse(electionLeader, { header: { revision: 14 }, kv: lkv }, CTX), `{${hdr(14)},"kv":${KV}}`)
  assert.equal(encodeStreamResponse(electionObserve, { header: { revision: 14 }, kv: lkv }, CTX), `{"result":{${hdr(14)},"kv":${KV}}}\n`)
  assert.equal(encodeResponse(electionProclaim, { header: { revision: 15 } }, CTX), `{${hdr(15)}}`)
  assert.equal(encodeResponse(electionResign, { header: { revision: 17 } }, CTX), `{${hdr(17)}}`)
})

const PASSED_THROUGH: readonly [string, ReturnType<typeof Errors.keyNotProvided>][] = [
  ['unlock {}', Errors.keyNotProvided()],
  ['lock with an unknown lease', Errors.leaseNotFound()],
  ['leader with nobody campaigning', ApiErrors.electionNoLeader()],
  ['proclaim by a non-leader', ApiErrors.electionNotLeader()],
]

for (const [name, err] of PASSED_THROUGH) {
  test(`§11 ${name} → 500 / 2 "${err.message}"`, () => {
    const r = errorResponse(concurrencyError(err))
    assert.deepEqual([r.status, r.body], [500, `{"error":"${err.message}","message":"${err.message}","code":2}`])
  })
}
