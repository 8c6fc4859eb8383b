/**
 * The field-decoding toolkit through real endpoints: §2's JSON-level error table verbatim, and
 * the conventions (names, null, unknown fields, int64 forms, enums, bytes, nested messages).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeRequest, kvPut, kvRange, kvTxn, leaseGrant, maintenanceAlarm, memberAdd, watch, type WatchRequest,
} from '../../src/api/index.ts'
import { throwsEtcd, utf8 } from './helpers.ts'

/** §2: body → message, all 400 / 3. */
const REFERENCE_ERRORS: readonly [string, string, string][] = [
  ['a truncated body', '{"key":"Zm9v"', 'unexpected EOF'],
  ['an array body', '[]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
  ['a number for bytes', '{"key":123}', 'json: cannot unmarshal number into Go value of type []uint8'],
  ['non-base64 bytes', '{"key":"!!!"}', 'illegal base64 data at input byte 0'],
  ['unpadded base64', '{"key":"Zm9vYg"}', 'illegal base64 data at input byte 4'],
  ['a string for a bool', '{"keys_only":"true","key":"Zm9v"}', 'json: cannot unmarshal string into Go value of type bool'],
  ['a fraction for an int64', '{"limit":1.5,"key":"Zm9v"}', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
  ['letters in an int64 string', '{"limit":"abc","key":"Zm9v"}', "invalid character 'a' looking for beginning of value"],
  [
    'an int64 string out of range',
    '{"limit":"9223372036854775808","key":"Zm9v"}',
    'json: cannot unmarshal number 9223372036854775808 into Go value of type int64',
  ],
  [
    'an unknown enum name',
    '{"sort_order":"BOGUS","key":"Zm9v"}',
    'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder',
  ],
]

for (const [name, body, message] of REFERENCE_ERRORS) {
  test(`§2: ${name} → 400 / 3 "${message}"`, () => {
    throwsEtcd(() => decodeRequest(kvRange, body), 3, message)
  })
}

const MORE_ERRORS: readonly [string, string, string][] = [
  ['a number for a bool', '{"key":"Zm9v","keys_only":1}', 'json: cannot unmarshal number into Go value of type bool'],
  ['an object for an int64', '{"key":"Zm9v","limit":{}}', 'json: cannot unmarshal object into Go value of type int64'],
  ['a bool for an int64', '{"key":"Zm9v","limit":true}', 'json: cannot unmarshal bool into Go value of type int64'],
  ['an exponent for an int64', '{"key":"Zm9v","limit":1e2}', 'json: cannot unmarshal number 1e2 into Go value of type int64'],
  ['an empty int64 string', '{"key":"Zm9v","limit":""}', 'unexpected end of JSON input'],
  ['trailing letters in an int64 string', '{"key":"Zm9v","limit":"5x"}', "invalid character 'x' after top-level value"],
  ['an escape in an int64 string', '{"key":"Zm9v","limit":"\\u0035"}', "invalid character '\\\\' looking for beginning of value"],
  ['a quoted bool for an int64', '{"key":"Zm9v","limit":"true"}', 'json: cannot unmarshal bool into Go value of type int64'],
  ['a lowercase enum name', '{"key":"Zm9v","sort_order":"descend"}', 'unknown value "descend" for enum etcdserverpb.RangeRequest_SortOrder'],
  ['a quoted enum number', '{"key":"Zm9v","sort_order":"2"}', 'unknown value "2" for enum etcdserverpb.RangeRequest_SortOrder'],
  ['an enum name with an escape (raw text)', '{"key":"Zm9v","sort_order":"\\u0041SCEND"}', 'unknown value "\\\\u0041SCEND" for enum etcdserverpb.RangeRequest_SortOrder'],
  ['an out-of-range enum number (etcd crashed)', '{"key":"Zm9v","sort_target":9}', 'unknown value 9 for enum etcdserverpb.RangeRequest_SortTarget'],
  ['a negative enum number where etcd crashed', '{"key":"Zm9v","sort_target":-1}', 'unknown value -1 for enum etcdserverpb.RangeRequest_SortTarget'],
  ['a sort target etcd crashed on', '{"key":"Zm9v","sort_target":5,"sort_order":"ASCEND"}', 'unknown value 5 for enum etcdserverpb.RangeRequest_SortTarget'],
  ['an enum number beyond int32', '{"key":"Zm9v","sort_order":3000000000}', 'json: cannot unmarshal number 3000000000 into Go value of type etcdserverpb.RangeRequest_SortOrder'],
  ['a bool for an enum', '{"key":"Zm9v","sort_order":true}', 'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder'],
  ['a bool for bytes', '{"key":true}', 'json: cannot unmarshal bool into Go value of type []uint8'],
  ['an object for bytes', '{"key":{}}', 'json: cannot unmarshal object into Go value of type []uint8'],
  ['a byte above 255 in a byte array', '{"key":[256]}', 'json: cannot unmarshal number 256 into Go value of type uint8'],
  ['a string in a byte array', '{"key":["a"]}', 'json: cannot unmarshal string into Go value of type uint8'],
  ['a number body', '5', 'json: cannot unmarshal number into Go value of type map[string]json.RawMessage'],
  ['a string body', '"x"', 'json: cannot unmarshal string into Go value of type map[string]json.RawMessage'],
]

for (const [name, body, message] of MORE_ERRORS) {
  test(`Go decoding: ${name} → "${message}"`, () => {
    throwsEtcd(() => decodeRequest(kvRange, body), 3, message)
  })
}

test('the first error in declaration order wins, not in JSON order', () => {
  throwsEtcd(() => decodeRequest(kvRange, '{"limit":1.5,"key":"!!!"}'), 3, 'illegal base64 data at input byte 0')
})

test('proto name and lowerCamel name are both accepted; the camel one wins when both are given', () => {
  const a = decodeRequest(kvRange, '{"key":"Zm9v","range_end":"Zm9w","keys_only":true}')
  const b = decodeRequest(kvRange, '{"key":"Zm9v","rangeEnd":"Zm9w","keysOnly":true}')
  assert.deepEqual(a, b)
  assert.deepEqual(a.rangeEnd, utf8('fop'))
  const both = decodeRequest(kvRange, '{"key":"Zm9v","range_end":"YQ==","rangeEnd":"Yg=="}')
  assert.deepEqual(both.rangeEnd, utf8('b'))
})

test('other spellings (KeysOnly, lowercase ttl) and unknown fields are ignored', () => {
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","KeysOnly":true,"bogus":{"x":[1]}}').keysOnly, false)
  assert.equal(decodeRequest(leaseGrant, '{"ttl":60}').ttl, 0)
  assert.equal(decodeRequest(leaseGrant, '{"TTL":60}').ttl, 60)
})

test('null means absent, for every kind of field', () => {
  const r = decodeRequest(kvRange, '{"key":"Zm9v","range_end":null,"limit":null,"sort_order":null,"keys_only":null}')
  assert.deepEqual(r, decodeRequest(kvRange, '{"key":"Zm9v"}'))
  assert.deepEqual(decodeRequest(kvRange, '{"key":"Zm9v","limit":"null"}').limit, 0)
  assert.deepEqual(decodeRequest(memberAdd, '{"peerURLs":["http://a:1"],"isLearner":null}').isLearner, false)
  const w = decodeRequest(watch, '{"create_request":{"key":"Zm9v","filters":null}}') as WatchRequest
  assert.equal(w.type === 'create' && w.request.filters.length, 0)
})

test('int64 from a number or a string, negative included; bigint fields keep all 64 bits', () => {
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","limit":"2"}').limit, 2)
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","limit":" 3 "}').limit, 3)
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","revision":-4}').revision, -4)
  assert.equal(decodeRequest(leaseGrant, '{"ID":"-5"}').id, -5n)
  assert.equal(decodeRequest(leaseGrant, '{"ID":9223372036854775807}').id, 9223372036854775807n)
  assert.equal(decodeRequest(maintenanceAlarm, '{"memberID":"18446744073709551615"}').memberId, 18446744073709551615n)
  throwsEtcd(
    () => decodeRequest(maintenanceAlarm, '{"memberID":-1}'),
    3,
    'json: cannot unmarshal number -1 into Go value of type uint64',
  )
})

test('enums by exact name or by number', () => {
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","sort_order":"DESCEND"}').sortOrder, 'DESCEND')
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","sort_order":2}').sortOrder, 'DESCEND')
  assert.equal(decodeRequest(kvRange, '{"key":"Zm9v","sort_target":4}').sortTarget, 'VALUE')
})

test('a sort order number etcd has no name for is taken, as proto3 does, and sorts nothing, as etcd: key order', () => {
  for (const n of [3, 7, -1, 2147483647]) {
    const r = decodeRequest(kvRange, `{"key":"Zm9v","sort_order":${n},"sort_target":"MOD","limit":2}`)
    assert.deepEqual([r.sortOrder, r.sortTarget, r.limit], ['NONE', 'KEY', 2], `sort_order ${n}`)
  }
})

test('watch filters etcd has no name for are ignored, as etcd ignores them', () => {
  const r = decodeRequest(watch, '{"create_request":{"key":"YQ==","filters":[5,"NODELETE",-2,0]}}') as WatchRequest
  assert.equal(r?.type, 'create')
  assert.deepEqual(r?.type === 'create' ? r.request.filters : null, ['NODELETE', 'NOPUT'])
})

test('bytes: base64 with newlines ignored, or (as Go allows) an array of byte values', () => {
  assert.deepEqual(decodeRequest(kvPut, '{"key":"Zm9v\\nYmFy"}').key, utf8('foobar'))
  assert.deepEqual(decodeRequest(kvPut, '{"key":[102,111,111,null]}').key, Uint8Array.of(102, 111, 111, 0))
  assert.deepEqual(decodeRequest(kvPut, '{"key":"Zm9v","value":""}').value, new Uint8Array(0))
})

test('repeated and nested fields: type errors name Go\'s targets', () => {
  throwsEtcd(() => decodeRequest(kvTxn, '{"success":{}}'), 3, 'json: cannot unmarshal object into Go value of type []json.RawMessage')
  throwsEtcd(
    () => decodeRequest(kvTxn, '{"success":[{"request_put":[]}]}'),
    3,
    'json: cannot unmarshal array into Go value of type map[string]json.RawMessage',
  )
  throwsEtcd(() => decodeRequest(memberAdd, '{"peerURLs":[1]}'), 3, 'json: cannot unmarshal number into Go value of type string')
  throwsEtcd(
    () => decodeRequest(watch, '{"create_request":{"filters":["NOPUT","BOGUS"]}}'),
    3,
    'unknown value "BOGUS" for enum etcdserverpb.WatchCreateRequest_FilterType',
  )
})

test('a body of null is an empty request', () => {
  throwsEtcd(() => decodeRequest(kvRange, 'null'), 3, 'etcdserver: key is not provided')
})
