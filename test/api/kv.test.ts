/**
 * The KV service against the reference's §5: every request example decodes to the typed request,
 * every response example encodes to etcd's exact text, and every error row gives etcd's answer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Errors } from '../../src/mvcc/errors.ts'
import type { RangeRequest, RequestOp, ResponseOp, TxnRequest } from '../../src/mvcc/kv.ts'
import {
  decodeRequest, encodeRequest, encodeResponse, errorResponse, kvCompaction, type AnyEndpoint, kvDeleteRange, kvPut, kvRange, kvTxn,
} from '../../src/api/index.ts'
import { CTX, EMPTY, hdr, kv, throwsEtcd, utf8 } from './helpers.ts'
import { b64, startSingleMember } from '../auth/single-member.ts'

function range(fields: Partial<RangeRequest>): RangeRequest {
  return {
    key: EMPTY, rangeEnd: EMPTY, limit: 0, revision: 0, sortOrder: 'NONE', sortTarget: 'KEY', serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    ...fields,
  }
}

const put = (key: string, fields: Partial<{ value: string; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean }> = {}) => ({
  key: utf8(key), value: utf8(fields.value ?? ''), lease: fields.lease ?? 0n, prevKv: fields.prevKv ?? false,
  ignoreValue: fields.ignoreValue ?? false, ignoreLease: fields.ignoreLease ?? false,
})

const R = '"key":"ci8=","range_end":"cjA="'
const rAll = { key: utf8('r/'), rangeEnd: utf8('r0') }

test('§5.1 put requests decode', () => {
  assert.deepEqual(decodeRequest(kvPut, '{"key":"Zm9v","value":"YmFy"}'), put('foo', { value: 'bar' }))
  assert.deepEqual(decodeRequest(kvPut, '{"key":"Zm9v","value":"YmF6","prev_kv":true}'), put('foo', { value: 'baz', prevKv: true }))
  assert.deepEqual(decodeRequest(kvPut, '{"key":"cDE=","ignore_value":true,"prev_kv":true}'), put('p1', { ignoreValue: true, prevKv: true }))
  assert.deepEqual(decodeRequest(kvPut, '{"key":"cDE=","lease":"123"}'), put('p1', { lease: 123n }))
  assert.deepEqual(decodeRequest(kvPut, '{"key":"bC9h","value":"MQ==","lease":1000}'), put('l/a', { value: '1', lease: 1000n }))
})

const RANGE_REQUESTS: readonly [string, RangeRequest][] = [
  ['{"key":"Zm9v"}', range({ key: utf8('foo') })],
  ['{"key":"bm9uZXhpc3Q="}', range({ key: utf8('nonexist') })],
  [`{${R},"limit":2}`, range({ ...rAll, limit: 2 })],
  [`{${R},"sort_order":"DESCEND","sort_target":"MOD","keys_only":true}`, range({ ...rAll, sortOrder: 'DESCEND', sortTarget: 'MOD', keysOnly: true })],
  [`{${R},"sort_target":"MOD","keys_only":true}`, range({ ...rAll, sortTarget: 'MOD', keysOnly: true })],
  [`{${R},"sort_order":2,"sort_target":"VALUE","keys_only":true}`, range({ ...rAll, sortOrder: 'DESCEND', sortTarget: 'VALUE', keysOnly: true })],
  [`{${R},"sort_order":"DESCEND","sort_target":"CREATE","limit":3}`, range({ ...rAll, sortOrder: 'DESCEND', sortTarget: 'CREATE', limit: 3 })],
  [`{${R},"min_mod_revision":6,"max_mod_revision":8,"keys_only":true}`, range({ ...rAll, minModRevision: 6, maxModRevision: 8, keysOnly: true })],
  [`{${R},"min_create_revision":5,"max_create_revision":6}`, range({ ...rAll, minCreateRevision: 5, maxCreateRevision: 6 })],
  [`{${R},"revision":5,"keys_only":true}`, range({ ...rAll, revision: 5, keysOnly: true })],
  [`{${R},"serializable":true,"count_only":true}`, range({ ...rAll, serializable: true, countOnly: true })],
  [`{${R},"revision":100}`, range({ ...rAll, revision: 100 })],
  ['{"key":"AA==","range_end":"AA==","keys_only":true}', range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), keysOnly: true })],
  ['{"key":"Zm9v","keysOnly":true}', range({ key: utf8('foo'), keysOnly: true })],
  ['{"key":"Zm9v","limit":"2","bogus":1}', range({ key: utf8('foo'), limit: 2 })],
  [`{${R},"min_mod_revision":1000}`, range({ ...rAll, minModRevision: 1000 })],
]

for (const [body, expected] of RANGE_REQUESTS) {
  test(`§5.2 range request ${body} decodes`, () => {
    assert.deepEqual(decodeRequest(kvRange, body), expected)
  })
}

test('§5.3 deleterange requests decode', () => {
  assert.deepEqual(decodeRequest(kvDeleteRange, '{"key":"cDE=","prev_kv":true}'), { key: utf8('p1'), rangeEnd: EMPTY, prevKv: true })
  assert.deepEqual(decodeRequest(kvDeleteRange, '{"key":"ci9h","range_end":"ci9j"}'), { key: utf8('r/a'), rangeEnd: utf8('r/c'), prevKv: false })
  assert.deepEqual(decodeRequest(kvDeleteRange, '{"key":"bm9rZXk="}'), { key: utf8('nokey'), rangeEnd: EMPTY, prevKv: false })
})

const compare = (key: string, fields: object = {}) => ({
  key: utf8(key), rangeEnd: EMPTY, target: 'VERSION', result: 'EQUAL', version: 0, createRevision: 0, modRevision: 0,
  value: EMPTY, lease: 0n, ...fields,
})

const TXN_EXAMPLE = '{"compare":[{"key":"dDE=","target":"VERSION","result":"EQUAL","version":0}],' +
  '"success":[{"request_put":{"key":"dDE=","value":"b25l"}}],"failure":[{"request_range":{"key":"dDE="}}]}'

test('§5.4 the txn example decodes', () => {
  const expected: TxnRequest = {
    compare: [compare('t1')] as TxnRequest['compare'],
    success: [{ type: 'put', request: put('t1', { value: 'one' }) }],
    failure: [{ type: 'range', request: range({ key: utf8('t1') }) }],
  }
  assert.deepEqual(decodeRequest(kvTxn, TXN_EXAMPLE), expected)
})

test('§5.4 compare: target/result default to VERSION/EQUAL, only the given union member is kept', () => {
  assert.deepEqual(decodeRequest(kvTxn, '{"compare":[{"key":"dDE="}]}').compare, [compare('t1')])
  const c = decodeRequest(kvTxn, '{"compare":[{"key":"dDE=","range_end":"dDI=","target":"VALUE","result":"NOT_EQUAL","value":"b25l"}]}')
  assert.deepEqual(c.compare, [compare('t1', { rangeEnd: utf8('t2'), target: 'VALUE', result: 'NOT_EQUAL', value: utf8('one') })])
  const m = decodeRequest(kvTxn, '{"compare":[{"key":"dDE=","target":"MOD","result":"GREATER","mod_revision":"7"}]}')
  assert.deepEqual(m.compare, [compare('t1', { target: 'MOD', result: 'GREATER', modRevision: 7 })])
  const l = decodeRequest(kvTxn, '{"compare":[{"key":"dDE=","target":"LEASE","lease":8001,"createRevision":3}]}')
  assert.deepEqual(l.compare, [compare('t1', { target: 'LEASE', lease: 8001n })])
})

test('§5.4 a nested txn (request_txn) decodes', () => {
  const r = decodeRequest(kvTxn, '{"success":[{"request_txn":{"success":[{"request_delete_range":{"key":"dDE="}}]}}]}')
  const nested: RequestOp = { type: 'delete-range', request: { key: utf8('t1'), rangeEnd: EMPTY, prevKv: false } }
  assert.deepEqual(r.success, [{ type: 'txn', request: { compare: [], success: [nested], failure: [] } }])
})

test('§5.5 compaction requests decode', () => {
  assert.deepEqual(decodeRequest(kvCompaction, '{"revision":5}'), { revision: 5, physical: false })
  assert.deepEqual(decodeRequest(kvCompaction, '{"revision":7,"physical":true}'), { revision: 7, physical: true })
  assert.deepEqual(decodeRequest(kvCompaction, '{}'), { revision: 0, physical: false })
})

const fooBar = kv('foo', { createRevision: 2, modRevision: 2, version: 1, value: utf8('bar') })
const FOO_BAR = '{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}'

test('§5.1 put responses print as etcd', () => {
  assert.equal(encodeResponse(kvPut, { header: { revision: 2 }, prevKv: null }, CTX), `{${hdr(2)}}`)
  assert.equal(encodeResponse(kvPut, { header: { revision: 3 }, prevKv: fooBar }, CTX), `{${hdr(3)},"prev_kv":${FOO_BAR}}`)
})

test('§5.2 range responses print as etcd (zero values left out)', () => {
  assert.equal(
    encodeResponse(kvRange, { header: { revision: 2 }, kvs: [fooBar], more: false, count: 1 }, CTX),
    `{${hdr(2)},"kvs":[${FOO_BAR}],"count":"1"}`,
  )
  assert.equal(encodeResponse(kvRange, { header: { revision: 2 }, kvs: [], more: false, count: 0 }, CTX), `{${hdr(2)}}`)
  const a = kv('r/a', { createRevision: 3, modRevision: 3, version: 1, value: utf8('1') })
  const b = kv('r/b', { createRevision: 4, modRevision: 6, version: 3, lease: 8001n })
  assert.equal(
    encodeResponse(kvRange, { header: { revision: 9 }, kvs: [a, b], more: true, count: 5 }, CTX),
    `{${hdr(9)},"kvs":[{"key":"ci9h","create_revision":"3","mod_revision":"3","version":"1","value":"MQ=="},` +
      '{"key":"ci9i","create_revision":"4","mod_revision":"6","version":"3","lease":"8001"}],"more":true,"count":"5"}',
  )
  assert.equal(encodeResponse(kvRange, { header: { revision: 9 }, kvs: [], more: false, count: 3 }, CTX), `{${hdr(9)},"count":"3"}`)
})

test('§5.3 deleterange responses print as etcd', () => {
  const p1 = kv('p1', { createRevision: 10, modRevision: 12, version: 3, value: utf8('v1') })
  assert.equal(
    encodeResponse(kvDeleteRange, { header: { revision: 13 }, deleted: 1, prevKvs: [p1] }, CTX),
    `{${hdr(13)},"deleted":"1","prev_kvs":[{"key":"cDE=","create_revision":"10","mod_revision":"12","version":"3","value":"djE="}]}`,
  )
  assert.equal(encodeResponse(kvDeleteRange, { header: { revision: 15 }, deleted: 2, prevKvs: [] }, CTX), `{${hdr(15)},"deleted":"2"}`)
  assert.equal(encodeResponse(kvDeleteRange, { header: { revision: 12 }, deleted: 0, prevKvs: [] }, CTX), `{${hdr(12)}}`)
})

test('§5.4 txn responses: inner headers carry only the revision, a nested txn\'s header is {}', () => {
  const putOp: ResponseOp = { type: 'put', response: { header: { revision: 16 }, prevKv: null } }
  assert.equal(
    encodeResponse(kvTxn, { header: { revision: 16 }, succeeded: true, responses: [putOp] }, CTX),
    `{${hdr(16)},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"16"}}}]}`,
  )
  const t1 = kv('t1', { createRevision: 16, modRevision: 16, version: 1, value: utf8('one') })
  const rangeOp: ResponseOp = { type: 'range', response: { header: { revision: 16 }, kvs: [t1], more: false, count: 1 } }
  assert.equal(
    encodeResponse(kvTxn, { header: { revision: 16 }, succeeded: false, responses: [rangeOp] }, CTX),
    `{${hdr(16)},"responses":[{"response_range":{"header":{"revision":"16"},` +
      '"kvs":[{"key":"dDE=","create_revision":"16","mod_revision":"16","version":"1","value":"b25l"}],"count":"1"}}]}',
  )
  assert.equal(encodeResponse(kvTxn, { header: { revision: 16 }, succeeded: true, responses: [] }, CTX), `{${hdr(16)},"succeeded":true}`)
  const nested: ResponseOp = { type: 'txn', response: { header: { revision: 17 }, succeeded: true, responses: [putOp] } }
  assert.equal(
    encodeResponse(kvTxn, { header: { revision: 17 }, succeeded: true, responses: [nested] }, CTX),
    `{${hdr(17)},"succeeded":true,"responses":[{"response_txn":{"header":{},"succeeded":true,` +
      '"responses":[{"response_put":{"header":{"revision":"16"}}}]}}]}',
  )
})

test('§5.5 compaction responses print the header only', () => {
  assert.equal(encodeResponse(kvCompaction, { header: { revision: 29 } }, CTX), `{${hdr(29)}}`)
})

/** §5.1 / §5.2 / §5.4 rows decided before the store: body → 400 / 3 message. */
const REQUEST_ERRORS: readonly [string, AnyEndpoint, string, string][] = [
  ['put: key missing', kvPut, '{"value":"YmFy"}', 'etcdserver: key is not provided'],
  ['put: key ""', kvPut, '{"key":""}', 'etcdserver: key is not provided'],
  ['put: empty body', kvPut, '', 'etcdserver: key is not provided'],
  ['put: ignore_value + value', kvPut, '{"key":"cDE=","ignore_value":true,"value":"YQ=="}', 'etcdserver: value is provided'],
  ['put: ignore_lease + lease', kvPut, '{"key":"cDE=","ignore_lease":true,"lease":"123"}', 'etcdserver: lease is provided'],
  ['range: key missing', kvRange, '{}', 'etcdserver: key is not provided'],
  ['range: key missing even with range_end', kvRange, '{"range_end":"Zm9v"}', 'etcdserver: key is not provided'],
  ['range: empty body', kvRange, '', 'etcdserver: key is not provided'],
  ['deleterange: key missing', kvDeleteRange, '{"range_end":"Zm9v"}', 'etcdserver: key is not provided'],
  ['txn: missing key in a compare', kvTxn, '{"compare":[{"target":"VERSION"}]}', 'etcdserver: key is not provided'],
  ['txn: missing key in an op', kvTxn, '{"success":[{"request_range":{}}]}', 'etcdserver: key is not provided'],
  ['txn: empty RequestOp {}', kvTxn, '{"success":[{}]}', 'etcdserver: key not found'],
  ['txn: null RequestOp', kvTxn, '{"failure":[null]}', 'etcdserver: key not found'],
  ['txn: RequestOp with a null request', kvTxn, '{"success":[{"request_put":null}]}', 'etcdserver: key not found'],
  ['txn: ignore_value + value in an op', kvTxn, '{"success":[{"request_put":{"key":"YQ==","ignore_value":true,"value":"YQ=="}}]}', 'etcdserver: value is provided'],
  ['txn: unknown compare target', kvTxn, '{"compare":[{"key":"YQ==","target":"BOGUS"}]}', 'unknown value "BOGUS" for enum etcdserverpb.Compare_CompareTarget'],
  ['txn: unknown compare result', kvTxn, '{"compare":[{"key":"YQ==","result":"BOGUS"}]}', 'unknown value "BOGUS" for enum etcdserverpb.Compare_CompareResult'],
  ['txn: two puts of one key', kvTxn, '{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}]}', 'etcdserver: duplicate key given in txn request'],
  [
    'txn: a put inside a range deleted in the same list',
    kvTxn,
    '{"failure":[{"request_delete_range":{"key":"YQ==","range_end":"Yw=="}},{"request_put":{"key":"Yg=="}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: a put of a deleted key',
    kvTxn,
    '{"success":[{"request_put":{"key":"YQ=="}},{"request_delete_range":{"key":"YQ=="}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: a put repeated in a nested txn',
    kvTxn,
    '{"success":[{"request_put":{"key":"YQ=="}},{"request_txn":{"success":[{"request_put":{"key":"YQ=="}}]}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: a nested put inside a range the parent deletes',
    kvTxn,
    '{"success":[{"request_delete_range":{"key":"YQ==","range_end":"Yw=="}},{"request_txn":{"failure":[{"request_put":{"key":"Yg=="}}]}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: a parent put inside a range a nested txn deletes',
    kvTxn,
    '{"success":[{"request_txn":{"success":[{"request_delete_range":{"key":"YQ==","range_end":"Yw=="}}]}},{"request_put":{"key":"Yg=="}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: the first nested txn\'s failure puts what a second nested txn\'s success puts',
    kvTxn,
    '{"success":[{"request_txn":{"failure":[{"request_put":{"key":"YQ=="}}]}},{"request_txn":{"success":[{"request_put":{"key":"YQ=="}}]}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
  [
    'txn: a put inside a delete up to "\\0" (etcd 3.4 lets it through; the store, which changes a key once per revision, cannot)',
    kvTxn,
    '{"success":[{"request_delete_range":{"key":"YQ==","range_end":"AA=="}},{"request_put":{"key":"Yg=="}}]}',
    'etcdserver: duplicate key given in txn request',
  ],
]

for (const [name, ep, body, message] of REQUEST_ERRORS) {
  test(`400 / 3 ${name} → "${message}"`, () => {
    throwsEtcd(() => decodeRequest(ep, body), 3, message)
  })
}

const ALLOWED_TXNS: readonly [string, string][] = [
  ['two deletes of one key', '{"success":[{"request_delete_range":{"key":"YQ=="}},{"request_delete_range":{"key":"YQ=="}}]}'],
  ['one key in success and failure', '{"success":[{"request_put":{"key":"YQ=="}}],"failure":[{"request_put":{"key":"YQ=="}}]}'],
  ['a put and a range of one key', '{"success":[{"request_put":{"key":"YQ=="}},{"request_range":{"key":"YQ=="}}]}'],
  ['a put next to a range deleted only up to it', '{"success":[{"request_delete_range":{"key":"YQ==","range_end":"Yg=="}},{"request_put":{"key":"Yg=="}}]}'],
  ['a nested txn putting one key in both branches', '{"success":[{"request_txn":{"success":[{"request_put":{"key":"YQ=="}}],"failure":[{"request_put":{"key":"YQ=="}}]}}]}'],
  ['{}', '{}'],
]

for (const [name, body] of ALLOWED_TXNS) {
  test(`txn allowed: ${name}`, () => {
    assert.doesNotThrow(() => decodeRequest(kvTxn, body))
  })
}

function ops(n: number, prefix = 'm/'): string {
  return Array.from({ length: n }, (_, i) => `{"request_put":{"key":"${Buffer.from(prefix + i).toString('base64')}","value":"eA=="}}`).join(',')
}

function compares(n: number): string {
  return Array.from({ length: n }, (_, i) => `{"key":"${Buffer.from('c/' + i).toString('base64')}"}`).join(',')
}

test('§5.4 129 entries in compare, success or failure → too many operations; 128 and 65+65 pass', () => {
  const tooMany = 'etcdserver: too many operations in txn request'
  throwsEtcd(() => decodeRequest(kvTxn, `{"success":[${ops(129)}]}`), 3, tooMany)
  throwsEtcd(() => decodeRequest(kvTxn, `{"failure":[${ops(129)}]}`), 3, tooMany)
  throwsEtcd(() => decodeRequest(kvTxn, `{"compare":[${compares(129)}]}`), 3, tooMany)
  assert.equal(decodeRequest(kvTxn, `{"compare":[${compares(128)}],"success":[${ops(128)}],"failure":[${ops(128)}]}`).success.length, 128)
  assert.equal(decodeRequest(kvTxn, `{"success":[${ops(65)}],"failure":[${ops(65, 'n/')}]}`).failure.length, 65)
})

test('max-txn-ops is a parameter, and a nested txn gets what its parent leaves', () => {
  throwsEtcd(() => decodeRequest(kvTxn, `{"success":[${ops(3)}]}`, { maxTxnOps: 2, maxRequestBytes: 1572864 }), 3, 'etcdserver: too many operations in txn request')
  const nested = (n: number): string => `{"success":[{"request_txn":{"success":[${ops(n)}]}}]}`
  assert.doesNotThrow(() => decodeRequest(kvTxn, nested(127)))
  throwsEtcd(() => decodeRequest(kvTxn, nested(128)), 3, 'etcdserver: too many operations in txn request')
})

test('etcd\'s check order: sizes, then compare keys, then ops in order, then duplicates', () => {
  throwsEtcd(() => decodeRequest(kvTxn, `{"compare":[{}],"success":[${ops(129)}]}`), 3, 'etcdserver: too many operations in txn request')
  throwsEtcd(() => decodeRequest(kvTxn, '{"compare":[{}],"success":[{}]}'), 3, 'etcdserver: key is not provided')
  throwsEtcd(() => decodeRequest(kvTxn, '{"success":[{},{"request_put":{}}]}'), 3, 'etcdserver: key not found')
  throwsEtcd(() => decodeRequest(kvTxn, '{"success":[{"request_put":{}},{}]}'), 3, 'etcdserver: key is not provided')
  throwsEtcd(
    () => decodeRequest(kvTxn, '{"success":[{"request_txn":{"success":[{},{},{}]}}]}', { maxTxnOps: 3, maxRequestBytes: 1572864 }),
    3,
    'etcdserver: too many operations in txn request',
  )
  throwsEtcd(
    () => decodeRequest(kvTxn, '{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}],"failure":[{}]}'),
    3,
    'etcdserver: key not found',
  )
})

test('a txn nested absurdly deep is refused as too many operations, without overflowing the stack', () => {
  const depth = 3000
  const body = '{"success":[{"request_txn":'.repeat(depth) + '{}' + '}]}'.repeat(depth)
  throwsEtcd(() => decodeRequest(kvTxn, body), 3, 'etcdserver: too many operations in txn request')
})

/** Errors the store raises: the answer the member gives with them. */
const STORE_ERRORS: readonly [string, ReturnType<typeof Errors.keyNotFound>, number][] = [
  ['ignore_value/ignore_lease on a missing key', Errors.keyNotFound(), 400],
  ['an unknown lease', Errors.leaseNotFound(), 404],
  ['a future revision', Errors.futureRev(), 400],
  ['a compacted revision', Errors.compacted(), 400],
]

for (const [name, err, status] of STORE_ERRORS) {
  test(`§5 store error, ${name} → ${status} / ${err.code} "${err.message}"`, () => {
    assert.deepEqual(errorResponse(err).status, status)
    assert.equal(errorResponse(err).body, `{"error":"${err.message}","message":"${err.message}","code":${err.code}}`)
  })
}

test('client side: a txn request encodes with proto names, int64 as strings, the chosen compare member even when 0', () => {
  assert.equal(
    encodeRequest(kvTxn, decodeRequest(kvTxn, TXN_EXAMPLE)),
    '{"compare":[{"key":"dDE=","version":"0"}],"success":[{"request_put":{"key":"dDE=","value":"b25l"}}],' +
      '"failure":[{"request_range":{"key":"dDE="}}]}',
  )
  assert.equal(
    encodeRequest(kvRange, range({ key: utf8('foo'), limit: 2, sortOrder: 'DESCEND', keysOnly: true })),
    '{"key":"Zm9v","limit":"2","sort_order":"DESCEND","keys_only":true}',
  )
})

test('txn compares whose target or result etcd has no name for are judged as etcd judges them', async () => {
  const solo = await startSingleMember()
  try {
    for (const k of ['r/a', 'r/b']) assert.equal((await solo.call('/v3/kv/put', { key: b64(k), value: b64('v') })).status, 200)
    const holds = async (compare: Record<string, unknown>): Promise<boolean> => {
      const r = await solo.call('/v3/kv/txn', { compare: [compare] })
      assert.equal(r.status, 200, r.text)
      return r.json.succeeded === true
    }
    const key = { key: b64('r/a') }
    const none = { key: b64('s/'), range_end: b64('s0') }
    const both = { key: b64('r/'), range_end: b64('r0') }
    // An unknown target compares equal: only EQUAL holds, present key or not.
    assert.deepEqual([await holds({ ...key, target: 5, result: 'EQUAL' }), await holds({ ...key, target: 5, result: 'LESS' })], [true, false])
    assert.deepEqual([await holds({ ...none, target: -1, result: 'EQUAL' }), await holds({ ...none, target: 8, result: 'NOT_EQUAL' })], [true, false])
    // An unknown result holds for every key in range; a VALUE compare still fails where no key is.
    assert.deepEqual([await holds({ ...key, target: 'VERSION', result: -3, version: '99' }), await holds({ ...none, target: 'MOD', result: 7 })], [true, true])
    assert.deepEqual([await holds({ ...both, target: 'VALUE', result: 7 }), await holds({ ...none, target: 'VALUE', result: 7 })], [true, false])
    assert.equal(await holds({ key: b64('missing'), target: 'VALUE', result: 9, value: b64('x') }), false)
  } finally {
    await solo.stop()
  }
})
