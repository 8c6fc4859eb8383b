/**
 * The lease service against §7: requests (with the TTL checks), responses, the keepalive stream.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Errors } from '../../src/mvcc/errors.ts'
import {
  decodeRequest, decodeRequestStream, encodeResponse, encodeStreamResponse, errorResponse, findEndpoint, leaseGrant,
  leaseKeepAlive, leaseLeases, leaseRevoke, leaseTimeToLive,
} from '../../src/api/index.ts'
import { CTX, hdr, utf8 } from './helpers.ts'

test('§7 grant requests: TTL and ID, ID 0 or absent = the server picks, negative IDs accepted', () => {
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":60}'), { ttl: 60, id: 0n })
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":60,"ID":1000}'), { ttl: 60, id: 1000n })
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":30,"ID":7001}'), { ttl: 30, id: 7001n })
  assert.deepEqual(decodeRequest(leaseGrant, '{"ID":"-5"}'), { ttl: 0, id: -5n })
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":-3}'), { ttl: -3, id: 0n })
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":9000000000}'), { ttl: 9000000000, id: 0n })
})

test('§7 a TTL above 9000000000 decodes; the grant fails when applied → 400 / 11 (test/mvcc/lease.test.ts)', () => {
  // Not refused here: etcd checks the TTL when it applies the grant, after a bad token is reported.
  assert.deepEqual(decodeRequest(leaseGrant, '{"TTL":9000000001}'), { ttl: 9000000001, id: 0n })
  assert.equal(errorResponse(Errors.leaseTtlTooLarge()).status, 400)
})

test('§7 the other lease requests decode', () => {
  assert.deepEqual(decodeRequest(leaseRevoke, '{"ID":1000}'), { id: 1000n })
  assert.deepEqual(decodeRequest(leaseRevoke, '{}'), { id: 0n })
  assert.deepEqual(decodeRequest(leaseTimeToLive, '{"ID":1000,"keys":true}'), { id: 1000n, keys: true })
  assert.deepEqual(decodeRequest(leaseLeases, '{}'), {})
  assert.deepEqual(decodeRequestStream(leaseKeepAlive, '{"ID":1000}'), { requests: [{ id: 1000n }], error: null, byServer: false })
  assert.deepEqual(decodeRequestStream(leaseKeepAlive, '{"ID":1}\n{"ID":"2"}{"ID":3}'), {
    requests: [{ id: 1n }, { id: 2n }, { id: 3n }],
    error: null,
    byServer: false,
  })
})

test('§7 revoke, timetolive and leases are also served under /v3/kv/lease/', () => {
  assert.equal(findEndpoint('/v3/kv/lease/revoke'), leaseRevoke)
  assert.equal(findEndpoint('/v3/kv/lease/timetolive'), leaseTimeToLive)
  assert.equal(findEndpoint('/v3/kv/lease/leases'), leaseLeases)
  assert.equal(findEndpoint('/v3/kv/lease/grant'), null)
})

test('§7 lease responses print as etcd', () => {
  assert.equal(
    encodeResponse(leaseGrant, { header: { revision: 1 }, id: 9041998884539833667n, ttl: 60 }, CTX),
    `{${hdr(1)},"ID":"9041998884539833667","TTL":"60"}`,
  )
  assert.equal(
    encodeResponse(leaseTimeToLive, { header: { revision: 3 }, id: 1000n, ttl: 53, grantedTtl: 60, keys: [utf8('l/a'), utf8('l/b')] }, CTX),
    `{${hdr(3)},"ID":"1000","TTL":"53","grantedTTL":"60","keys":["bC9h","bC9i"]}`,
  )
  assert.equal(
    encodeResponse(leaseTimeToLive, { header: { revision: 3 }, id: 424242n, ttl: -1, grantedTtl: 0, keys: [] }, CTX),
    `{${hdr(3)},"ID":"424242","TTL":"-1"}`,
  )
  assert.equal(
    encodeResponse(leaseLeases, { header: { revision: 3 }, leases: [{ id: 9041998884539833667n }, { id: 1000n }] }, CTX),
    `{${hdr(3)},"leases":[{"ID":"9041998884539833667"},{"ID":"1000"}]}`,
  )
  assert.equal(encodeResponse(leaseLeases, { header: { revision: 3 }, leases: [] }, CTX), `{${hdr(3)}}`)
  assert.equal(encodeResponse(leaseRevoke, { header: { revision: 32 } }, CTX), `{${hdr(32)}}`)
})

test('§7 keepalive answers are stream lines; an unknown lease has no TTL', () => {
  assert.equal(
    encodeStreamResponse(leaseKeepAlive, { header: { revision: 3 }, id: 1000n, ttl: 60 }, CTX),
    `{"result":{${hdr(3)},"ID":"1000","TTL":"60"}}\n`,
  )
  assert.equal(
    encodeStreamResponse(leaseKeepAlive, { header: { revision: 3 }, id: 424242n, ttl: 0 }, CTX),
    `{"result":{${hdr(3)},"ID":"424242"}}\n`,
  )
})

test('§7 lease errors from the store: already exists 412 / 9, not found 404 / 5', () => {
  assert.deepEqual(
    [errorResponse(Errors.leaseExists()).status, errorResponse(Errors.leaseExists()).body],
    [412, '{"error":"etcdserver: lease already exists","message":"etcdserver: lease already exists","code":9}'],
  )
  assert.deepEqual(
    [errorResponse(Errors.leaseNotFound()).status, errorResponse(Errors.leaseNotFound()).body],
    [404, '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'],
  )
})
