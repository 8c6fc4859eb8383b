/**
 * Properties (fast-check): KV requests and responses survive encode → decode; the JSON layer
 * agrees with JSON.parse on what is valid; chunking never changes a request stream; and no body,
 * however broken, makes any decoder throw anything but an EtcdError.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EtcdError } from '../../src/mvcc/errors.ts'
import type {
  Compare, DeleteRangeRequest, Event, KeyValue, PutRequest, RangeRequest, RequestOp, ResponseHeader, ResponseOp,
  TxnRequest, TxnResponse,
} from '../../src/mvcc/kv.ts'
import { decodeMessage } from '../../src/api/fields.ts'
import type { Kind, MessageSchema } from '../../src/api/schema.ts'
import {
  decodeRequest, decodeRequestStream, decodeResponse, decodeStreamResponse, encodeRequest, encodeResponse,
  encodeStreamResponse, ENDPOINTS, kvCompaction, kvDeleteRange, kvPut, kvRange, kvTxn, parseJson, RequestStream,
  watch, type AnyEndpoint, type FullResponseHeader, type WatchResponse,
} from '../../src/api/index.ts'
import { CTX } from './helpers.ts'

/** Records with Object.prototype, so deepStrictEqual compares them with decoded objects. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true })
}

const bytes = fc.uint8Array({ maxLength: 12 })
const int64 = fc.oneof(fc.integer(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
const lease = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })

const rangeRequest: fc.Arbitrary<RangeRequest> = rec({
  key: bytes, rangeEnd: bytes, limit: int64, revision: int64,
  sortOrder: fc.constantFrom('NONE', 'ASCEND', 'DESCEND'),
  sortTarget: fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'),
  serializable: fc.boolean(), keysOnly: fc.boolean(), countOnly: fc.boolean(),
  minModRevision: int64, maxModRevision: int64, minCreateRevision: int64, maxCreateRevision: int64,
})

const putRequest: fc.Arbitrary<PutRequest> = rec({
  key: bytes, value: bytes, lease, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean(),
})

const deleteRangeRequest: fc.Arbitrary<DeleteRangeRequest> = rec({ key: bytes, rangeEnd: bytes, prevKv: fc.boolean() })

/** A flat Compare holds only the union member its target names. */
const compare: fc.Arbitrary<Compare> = fc
  .record({
    key: bytes, rangeEnd: bytes, target: fc.constantFrom('VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'),
    result: fc.constantFrom('EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'), n: int64, value: bytes, lease,
  })
  .map(({ n, value, lease: l, ...c }) => ({
    ...c,
    version: c.target === 'VERSION' ? n : 0,
    createRevision: c.target === 'CREATE' ? n : 0,
    modRevision: c.target === 'MOD' ? n : 0,
    value: c.target === 'VALUE' ? value : new Uint8Array(0),
    lease: c.target === 'LEASE' ? l : 0n,
  }))

const { txn: txnRequest } = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  txn: rec({
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rangeRequest.map((request): RequestOp => ({ type: 'range', request })),
    putRequest.map((request): RequestOp => ({ type: 'put', request })),
    deleteRangeRequest.map((request): RequestOp => ({ type: 'delete-range', request })),
    tie('txn').map((request): RequestOp => ({ type: 'txn', request })),
  ),
}))

/** Decodes without etcd's checks: the property is about the wire format. */
function roundTrip<T>(ep: { request: MessageSchema<T> } & AnyEndpoint, value: T): T {
  return decodeMessage(ep.request, parseJson(encodeRequest(ep, value)))
}

test('property: every KV request survives encodeRequest → decode', () => {
  fc.assert(fc.property(rangeRequest, (r) => assert.deepEqual(roundTrip(kvRange, r), r)))
  fc.assert(fc.property(putRequest, (r) => assert.deepEqual(roundTrip(kvPut, r), r)))
  fc.assert(fc.property(deleteRangeRequest, (r) => assert.deepEqual(roundTrip(kvDeleteRange, r), r)))
  fc.assert(fc.property(rec({ revision: int64, physical: fc.boolean() }), (r) => assert.deepEqual(roundTrip(kvCompaction, r), r)))
  fc.assert(fc.property(txnRequest, (r) => assert.deepEqual(roundTrip(kvTxn, r), r)))
})

test('property: a valid KV request decodes through its endpoint, checks included', () => {
  const valid = putRequest.filter((r) => r.key.length > 0 && !(r.ignoreValue && r.value.length > 0) && !(r.ignoreLease && r.lease !== 0n))
  fc.assert(fc.property(valid, (r) => assert.deepEqual(decodeRequest(kvPut, encodeRequest(kvPut, r)), r)))
})

const keyValue: fc.Arbitrary<KeyValue> = rec({
  key: bytes, createRevision: int64, modRevision: int64, version: int64, value: bytes, lease,
})
const header: fc.Arbitrary<ResponseHeader> = rec({ revision: int64 })

const { txn: txnResponse } = fc.letrec<{ txn: TxnResponse; op: ResponseOp }>((tie) => ({
  txn: rec({ header, succeeded: fc.boolean(), responses: fc.array(tie('op'), { maxLength: 3 }) }),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rec({ header, kvs: fc.array(keyValue, { maxLength: 2 }), more: fc.boolean(), count: int64 })
      .map((response): ResponseOp => ({ type: 'range', response })),
    rec({ header, prevKv: fc.option(keyValue, { nil: null }) }).map((response): ResponseOp => ({ type: 'put', response })),
    rec({ header, deleted: int64, prevKvs: fc.array(keyValue, { maxLength: 2 }) })
      .map((response): ResponseOp => ({ type: 'delete-range', response })),
    tie('txn').map((response): ResponseOp => ({ type: 'txn', response })),
  ),
}))

const full = (h: ResponseHeader): FullResponseHeader => ({ ...CTX, revision: h.revision })
const inner = (revision: number): FullResponseHeader => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0 })

/** What a txn response decodes back to: inner headers reduced as etcd prints them. */
function printedOps(ops: readonly ResponseOp[]): ResponseOp[] {
  return ops.map((op): ResponseOp => op.type === 'txn'
    ? { type: 'txn', response: { ...op.response, header: inner(0), responses: printedOps(op.response.responses) } }
    : { ...op, response: { ...op.response, header: inner(op.response.header.revision) } } as ResponseOp)
}

test('property: every KV response survives encodeResponse → decodeResponse', () => {
  fc.assert(fc.property(rec({ header, kvs: fc.array(keyValue, { maxLength: 3 }), more: fc.boolean(), count: int64 }), (r) =>
    assert.deepEqual(decodeResponse(kvRange, encodeResponse(kvRange, r, CTX)), { ...r, header: full(r.header) })))
  fc.assert(fc.property(rec({ header, prevKv: fc.option(keyValue, { nil: null }) }), (r) =>
    assert.deepEqual(decodeResponse(kvPut, encodeResponse(kvPut, r, CTX)), { ...r, header: full(r.header) })))
  fc.assert(fc.property(rec({ header, deleted: int64, prevKvs: fc.array(keyValue, { maxLength: 3 }) }), (r) =>
    assert.deepEqual(decodeResponse(kvDeleteRange, encodeResponse(kvDeleteRange, r, CTX)), { ...r, header: full(r.header) })))
  fc.assert(fc.property(txnResponse, (r) =>
    assert.deepEqual(decodeResponse(kvTxn, encodeResponse(kvTxn, r, CTX)), { ...r, header: full(r.header), responses: printedOps(r.responses) })))
})

test('property: watch responses survive a stream line', () => {
  const event: fc.Arbitrary<Event> = rec({ type: fc.constantFrom('PUT', 'DELETE'), kv: keyValue, prevKv: fc.option(keyValue, { nil: null }) })
  const response: fc.Arbitrary<WatchResponse> = rec({
    header, watchId: int64, created: fc.boolean(), canceled: fc.boolean(), compactRevision: int64,
    cancelReason: fc.string(), fragment: fc.boolean(), events: fc.array(event, { maxLength: 3 }),
  })
  fc.assert(fc.property(response, (r) => {
    const line = encodeStreamResponse(watch, r, CTX)
    assert.ok(line.endsWith('}\n'))
    assert.deepEqual(decodeStreamResponse(watch, line), { ...r, header: full(r.header) })
  }))
})

/** The tree with numbers as JS numbers, for comparing with JSON.parse. */
function asJs(text: string): unknown {
  const toJs = (v: ReturnType<typeof parseJson>): unknown => {
    switch (v.kind) {
      case 'object': return Object.fromEntries([...v.entries].map(([k, x]) => [k, toJs(x)]))
      case 'array': return v.items.map(toJs)
      case 'number': return Number(v.text)
      case 'null': return null
      default: return v.value
    }
  }
  return toJs(parseJson(text))
}

test('property: parseJson reads what JSON.stringify writes, like JSON.parse', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const text = JSON.stringify(v)
    assert.deepEqual(asJs(text), JSON.parse(text))
  }))
})

test('property: parseJson accepts exactly the texts JSON.parse accepts', () => {
  const texts = fc.oneof(
    fc.string(),
    fc.json().chain((j) => fc.tuple(fc.nat(j.length), fc.string({ maxLength: 3 })).map(([i, s]) => j.slice(0, i) + s + j.slice(i))),
  )
  fc.assert(fc.property(texts, (text) => {
    let ok = true
    try {
      JSON.parse(text)
    } catch {
      ok = false
    }
    try {
      parseJson(text)
      assert.ok(ok, `parseJson accepted ${JSON.stringify(text)}`)
    } catch (err) {
      assert.ok(err instanceof EtcdError)
      assert.ok(!ok, `parseJson refused ${JSON.stringify(text)}: ${err.message}`)
    }
  }), { numRuns: 2000 })
})

test('property: a request stream gives the same requests however its body is chunked', () => {
  const body = fc.array(fc.constantFrom(
    '{"create_request":{"key":"YQ==","start_revision":"5"}}', '{"cancel_request":{"watch_id":3}}', ' ', '\n',
    '{"progress_request":{}}', '{}', '{"create_request":{"key":"IQ"}}', '{"create_',
  ), { maxLength: 6 }).map((parts) => parts.join(''))
  fc.assert(fc.property(body, fc.array(fc.nat(), { maxLength: 5 }), (text, cuts) => {
    const whole = decodeRequestStream(watch, text)
    const stream = new RequestStream(watch)
    const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
    const requests: unknown[] = []
    let error: string | null = null
    let from = 0
    for (const to of [...points, text.length]) {
      const batch = stream.push(text.slice(from, to))
      requests.push(...batch.requests)
      error ??= batch.error?.message ?? null
      from = to
    }
    const last = stream.end()
    requests.push(...last.requests)
    error ??= last.error?.message ?? null
    assert.deepEqual({ requests, error }, { requests: whole.requests, error: whole.error?.message ?? null })
  }))
})

/** Every field name of every request schema, to aim garbage at real fields. */
function fieldNames(): string[] {
  const names = new Set<string>()
  const seen = new Set<MessageSchema<unknown>>()
  const visitKind = (k: Kind): void => {
    if (k.t === 'message') visit(k.schema())
    if (k.t === 'repeated') visitKind(k.of)
  }
  const visit = (s: MessageSchema<unknown>): void => {
    if (seen.has(s)) return
    seen.add(s)
    for (const f of s.fields) {
      names.add(f.name)
      names.add(f.json)
      visitKind(f.kind)
    }
  }
  for (const ep of ENDPOINTS) visit(ep.request)
  return [...names]
}

function onlyEtcdErrors(run: () => unknown): void {
  try {
    run()
  } catch (err) {
    if (!(err instanceof EtcdError)) throw err
  }
}

test('property: garbage bodies never make a decoder throw anything but an EtcdError', () => {
  const names = fieldNames()
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('Zm9v', '!!', 'Zm9vYg', '-1', '1.5', '9223372036854775808', 'DESCEND', 'NOPUT', 'BOGUS', 'http://a:1'),
      fc.dictionary(fc.constantFrom(...names), tie('value'), { maxKeys: 4 }),
      fc.array(tie('value'), { maxLength: 3 }),
    ),
  }))
  const bodies = fc.oneof(
    value.map((v) => JSON.stringify(v)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    value.chain((v) => {
      const text = JSON.stringify(v) ?? ''
      return fc.nat(text.length).map((n) => text.slice(0, n))
    }),
  )
  fc.assert(fc.property(bodies, fc.constantFrom(...ENDPOINTS), (body, ep: AnyEndpoint) => {
    onlyEtcdErrors(() => decodeRequest(ep, body))
    onlyEtcdErrors(() => decodeRequestStream(ep, body))
  }), { numRuns: 3000 })
})
