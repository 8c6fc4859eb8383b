/**
 * The watch stream against §6: request bodies (several messages back to back), response lines,
 * and the stream's error answer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeRequestStream, encodeStreamResponse, fragments, RequestStream, streamRequestError, watch, type WatchCreateRequest,
  type WatchResponse,
} from '../../src/api/index.ts'
import { protoSize } from '../../src/api/proto-size.ts'
import { WatchResponseSchema } from '../../src/api/watch.ts'
import { CTX, EMPTY, hdr, kv, utf8 } from './helpers.ts'

function create(key: string, fields: Partial<WatchCreateRequest> = {}): { type: 'create'; request: WatchCreateRequest } {
  return {
    type: 'create',
    request: {
      key: utf8(key), rangeEnd: EMPTY, startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0,
      fragment: false, ...fields,
    },
  }
}

const wRange = { rangeEnd: utf8('w0') }

const BODIES: readonly [string, string, unknown[]][] = [
  ['a create with range and prev_kv', '{"create_request":{"key":"dy8=","range_end":"dzA=","prev_kv":true}}', [create('w/', { ...wRange, prevKv: true })]],
  ['a create, then a cancel in the same body', '{"create_request":{"key":"dy9i"}} {"cancel_request":{"watch_id":0}}', [create('w/b'), { type: 'cancel', watchId: 0 }]],
  ['a progress request', '{"progress_request":{}}', [{ type: 'progress' }]],
  ['a start revision', '{"create_request":{"key":"dy8=","range_end":"dzA=","start_revision":26}}', [create('w/', { ...wRange, startRevision: 26 })]],
  ['a NOPUT filter', '{"create_request":{"key":"dy8=","range_end":"dzA=","start_revision":26,"filters":["NOPUT"]}}', [create('w/', { ...wRange, startRevision: 26, filters: ['NOPUT'] })]],
  [
    'a NODELETE filter and a watch ID',
    '{"create_request":{"key":"dy8=","range_end":"dzA=","start_revision":26,"filters":["NODELETE"],"watch_id":7}}',
    [create('w/', { ...wRange, startRevision: 26, filters: ['NODELETE'], watchId: 7 })],
  ],
  ['two creates without whitespace', '{"create_request":{"key":"dy9i"}}{"create_request":{"key":"dy9j","start_revision":29}}', [create('w/b'), create('w/c', { startRevision: 29 })]],
  ['a create and a progress request on two lines', '{"create_request":{"key":"dy9i","start_revision":29}}\n{"progress_request":{}}', [create('w/b', { startRevision: 29 }), { type: 'progress' }]],
  ['an empty key (accepted)', '{"create_request":{}}', [create('')]],
  ['filters by number, progress_notify, fragment', '{"create_request":{"key":"YQ==","filters":[1,0],"progress_notify":true,"fragment":true}}', [create('a', { filters: ['NODELETE', 'NOPUT'], progressNotify: true, fragment: true })]],
  ['a message with no request (ignored by etcd)', '{} {"create_request":null}', [null, null]],
]

for (const [name, body, expected] of BODIES) {
  test(`§6 watch body: ${name}`, () => {
    assert.deepEqual(decodeRequestStream(watch, body), { requests: expected, error: null, byServer: false })
  })
}

test('§6.4 a bad first message is the HTTP 500 / code 2 error body, whatever the decoding error', () => {
  for (const [body, message] of [
    ['{"create_request":{"key":"!!"}}', 'illegal base64 data at input byte 0'],
    ['{"create_request":', 'unexpected EOF'],
    ['{"create_request":{"key":"YQ==","filters":["BOGUS"]}}', 'unknown value "BOGUS" for enum etcdserverpb.WatchCreateRequest_FilterType'],
    ['{"create_request" 1}', "invalid character '1' after object key"],
  ]) {
    const batch = decodeRequestStream(watch, body as string)
    assert.equal(batch.requests.length, 0)
    assert.ok(batch.error !== null)
    assert.deepEqual(streamRequestError(batch.error), {
      status: 500,
      headers: streamRequestError(batch.error).headers,
      body: `{"error":${JSON.stringify(message)},"message":${JSON.stringify(message)},"code":2}`,
    })
    assert.equal(streamRequestError(batch.error).headers['Content-Type'], 'application/json')
  }
})

test('a bad later message ends the requests; the ones before it stand', () => {
  const stream = new RequestStream(watch)
  const first = stream.push('{"create_request":{"key":"YQ=="}}{"create_request":{"key":"!!"}}{"progress_request":{}}')
  assert.deepEqual(first.requests, [create('a')])
  assert.equal(first.error?.message, 'illegal base64 data at input byte 0')
  assert.deepEqual(stream.push('{"progress_request":{}}'), { requests: [], error: null, byServer: false })
  assert.deepEqual(stream.end(), { requests: [], error: null, byServer: false })
})

test('requests arrive as their bytes do', () => {
  const stream = new RequestStream(watch)
  assert.deepEqual(stream.push('{"create_request":{"key":"YQ'), { requests: [], error: null, byServer: false })
  assert.deepEqual(stream.push('=="}}\n{"progr'), { requests: [create('a')], error: null, byServer: false })
  assert.deepEqual(stream.push('ess_request":{}}'), { requests: [{ type: 'progress' }], error: null, byServer: false })
  assert.deepEqual(stream.end(), { requests: [], error: null, byServer: false })
})

function response(fields: Partial<WatchResponse>): WatchResponse {
  return {
    header: { revision: 0 }, watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '',
    fragment: false, events: [], ...fields,
  }
}

const wa1 = kv('w/a', { createRevision: 26, modRevision: 26, version: 1, value: utf8('1') })
const wa2 = kv('w/a', { createRevision: 26, modRevision: 27, version: 2, value: utf8('2') })
const WA1 = '{"key":"dy9h","create_revision":"26","mod_revision":"26","version":"1","value":"MQ=="}'
const WA2 = '{"key":"dy9h","create_revision":"26","mod_revision":"27","version":"2","value":"Mg=="}'

const LINES: readonly [string, WatchResponse, string][] = [
  ['created', response({ header: { revision: 25 }, created: true }), `{${hdr(25)},"created":true}`],
  ['a PUT event has no type', response({ header: { revision: 26 }, events: [{ type: 'PUT', kv: wa1, prevKv: null }] }), `{${hdr(26)},"events":[{"kv":${WA1}}]}`],
  ['a PUT event with prev_kv', response({ header: { revision: 27 }, events: [{ type: 'PUT', kv: wa2, prevKv: wa1 }] }), `{${hdr(27)},"events":[{"kv":${WA2},"prev_kv":${WA1}}]}`],
  [
    'a DELETE event: key and mod_revision only',
    response({ header: { revision: 28 }, events: [{ type: 'DELETE', kv: kv('w/a', { modRevision: 28 }), prevKv: wa2 }] }),
    `{${hdr(28)},"events":[{"type":"DELETE","kv":{"key":"dy9h","mod_revision":"28"},"prev_kv":${WA2}}]}`,
  ],
  [
    'one txn, two events in one message',
    response({
      header: { revision: 29 },
      events: [
        { type: 'PUT', kv: kv('w/b', { createRevision: 29, modRevision: 29, version: 1, value: utf8('x') }), prevKv: null },
        { type: 'PUT', kv: kv('w/c', { createRevision: 29, modRevision: 29, version: 1, value: utf8('y') }), prevKv: null },
      ],
    }),
    `{${hdr(29)},"events":[{"kv":{"key":"dy9i","create_revision":"29","mod_revision":"29","version":"1","value":"eA=="}},` +
      '{"kv":{"key":"dy9j","create_revision":"29","mod_revision":"29","version":"1","value":"eQ=="}}]}',
  ],
  ['a chosen watch ID', response({ header: { revision: 29 }, watchId: 7, created: true }), `{${hdr(29)},"watch_id":"7","created":true}`],
  [
    'a duplicate watch ID',
    response({ header: { revision: 29 }, watchId: -1, created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream' }),
    `{${hdr(29)},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"}`,
  ],
  ['canceled', response({ header: { revision: 29 }, canceled: true }), `{${hdr(29)},"canceled":true}`],
  ['a progress response', response({ header: { revision: 29 }, watchId: -1 }), `{${hdr(29)},"watch_id":"-1"}`],
  ['a progress notification', response({ header: { revision: 30 } }), `{${hdr(30)}}`],
  [
    'a compaction cancel: no header revision',
    response({ canceled: true, compactRevision: 7 }),
    `{${hdr(0)},"canceled":true,"compact_revision":"7"}`,
  ],
  [
    'an auth cancel',
    response({ header: { revision: 29 }, watchId: -1, created: true, canceled: true, cancelReason: 'rpc error: code = InvalidArgument desc = etcdserver: user name is empty' }),
    `{${hdr(29)},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = InvalidArgument desc = etcdserver: user name is empty"}`,
  ],
]

for (const [name, res, json] of LINES) {
  test(`§6 watch response line: ${name}`, () => {
    assert.equal(encodeStreamResponse(watch, res, CTX), `{"result":${json}}\n`)
  })
}

test('fragments: a response at the limit is split into as many events as fit, all but the last marked', () => {
  const event = (key: string, bytes: number) => ({ type: 'DELETE' as const, kv: kv(key), prevKv: kv(key, { value: new Uint8Array(bytes) }) })
  const r: WatchResponse = {
    header: { revision: 9 }, watchId: 3, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false,
    events: [event('f/1', 1000), event('f/2', 1000), event('f/3', 1000)],
  }
  const size = protoSize(WatchResponseSchema, r)
  // Under the limit, or a single event: one response, unchanged.
  assert.deepEqual(fragments(r, size + 1), [r])
  assert.deepEqual(fragments({ ...r, events: r.events.slice(0, 1) }, 10), [{ ...r, events: r.events.slice(0, 1) }])
  // Room for two events but not three: [2 (fragment), 1].
  const two = fragments(r, size - 10)
  assert.deepEqual(two.map((f) => [f.events.length, f.fragment]), [[2, true], [1, false]])
  assert.deepEqual(two.flatMap((f) => f.events), r.events)
  for (const f of two) assert.ok(protoSize(WatchResponseSchema, f) < size - 10)
  // Room for less than one: one event each (a response is never empty).
  assert.deepEqual(fragments(r, 100).map((f) => [f.events.length, f.fragment]), [[1, true], [1, true], [1, false]])
  assert.equal(fragments(r, 100)[0]?.watchId, 3)
})
