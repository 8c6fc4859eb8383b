/**
 * §13's size limits: gRPC's receive limit on the decoded protobuf size (checked at decoding), and
 * max-request-bytes on the proposal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeRequest, errorResponse, kvPut, kvRange, kvTxn, proposalField, protoSize, requestSizeError, DEFAULT_MAX_REQUEST_BYTES,
} from '../../src/api/index.ts'
import { throwsEtcd } from './helpers.ts'

const PUT = proposalField('kv.put') as number

function putBody(valueBytes: number): string {
  return JSON.stringify({ key: 'YmlnCg==', value: Buffer.alloc(valueBytes, 97).toString('base64') })
}

test('§13 a 2 MiB put → 429 / 8 grpc: received message larger than max (2097163 vs. 2097152)', () => {
  throwsEtcd(() => decodeRequest(kvPut, putBody(2 * 1024 * 1024)), 8, 'grpc: received message larger than max (2097163 vs. 2097152)')
  const r = requestSizeError(2097163, PUT)
  assert.ok(r !== null)
  assert.equal(errorResponse(r).status, 429)
})

test('§13 a 1.5 MiB put decodes, and its proposal is too large: 400 / 3', () => {
  const req = decodeRequest(kvPut, putBody(1536 * 1024))
  const err = requestSizeError(protoSize(kvPut.request, req), PUT)
  assert.ok(err !== null)
  assert.deepEqual([err.code, err.message, errorResponse(err).status], [3, 'etcdserver: request is too large', 400])
})

test('§13 a 1 MiB put and a put of 1.5 MiB − 100 bytes are accepted', () => {
  for (const n of [1024 * 1024, 1536 * 1024 - 100]) {
    const req = decodeRequest(kvPut, putBody(n))
    assert.equal(requestSizeError(protoSize(kvPut.request, req), PUT), null, `${n} bytes`)
  }
})

test('the protobuf size is exact for a put', () => {
  const req = decodeRequest(kvPut, putBody(2 * 1024 * 1024), { maxTxnOps: 128, maxRequestBytes: 4 * 1024 * 1024 })
  assert.equal(protoSize(kvPut.request, req), 2097163)
  assert.equal(protoSize(kvPut.request, decodeRequest(kvPut, '{"key":"Zm9v","lease":-1,"prev_kv":true}')), 5 + 11 + 2)
})

test('the protobuf size counts two-byte tags (Compare.range_end is field 64) and nested lengths', () => {
  const txn = decodeRequest(kvTxn, '{"compare":[{"key":"YQ==","range_end":"Yg==","target":"MOD","mod_revision":300}]}')
  // compare: tag + len + [key 3, range_end 2+1+1, mod_revision 1+2, target 2]
  assert.equal(protoSize(kvTxn.request, txn), 2 + 3 + 4 + 3 + 2)
})

test('max-request-bytes is a parameter; the gRPC limit moves with it', () => {
  const limits = { maxTxnOps: 128, maxRequestBytes: 1000 }
  throwsEtcd(() => decodeRequest(kvPut, putBody(1000 + 512 * 1024), limits), 8, `grpc: received message larger than max (${1000 + 512 * 1024 + 10} vs. ${1000 + 512 * 1024})`)
  assert.equal(requestSizeError(990, PUT, 1000)?.message, 'etcdserver: request is too large')
  assert.equal(requestSizeError(900, PUT, 1000), null)
  assert.equal(DEFAULT_MAX_REQUEST_BYTES, 1572864)
})

test('a range is never too large for the proposal check, only for gRPC', () => {
  const key = Buffer.alloc(1600 * 1024, 98).toString('base64')
  assert.equal(decodeRequest(kvRange, JSON.stringify({ key })).key.length, 1600 * 1024)
})

test('a user name makes the proposal bigger', () => {
  assert.equal(requestSizeError(1572830, PUT), null)
  assert.equal(requestSizeError(1572830, PUT, DEFAULT_MAX_REQUEST_BYTES, 'a-rather-long-user-name')?.code, 3)
})

test("the proposal's size as etcd's: a put of key `big` takes a value of 1572837 bytes, not one more (its tag is one byte, an auth call's two)", () => {
  const put = (n: number): number => protoSize(kvPut.request, decodeRequest(kvPut, JSON.stringify({ key: 'Ymln', value: Buffer.alloc(n, 97).toString('base64') })))
  assert.equal(requestSizeError(put(1572837), PUT), null)
  assert.equal(requestSizeError(put(1572838), PUT)?.code, 3)
  assert.equal(requestSizeError(put(1572837), proposalField('auth.user.add') as number)?.code, 3)
  assert.deepEqual([proposalField('kv.range'), proposalField('lease.grant'), proposalField('auth.role.add')], [null, 8, 1000])
})
