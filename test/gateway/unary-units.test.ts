/**
 * Small parts of the gateway's unary path: refine's shortcut for range bodies that cannot be
 * serializable, the directory's first endpoint (the head of its candidate order, without the
 * list), the fetch exchange's plain answers, and what the gateway's gRPC calls send and pass on.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeRequest, decodeResponse, encodeRequest, findEndpoint, PROTOBUF_CALL, type AnyEndpoint } from '../../src/api/index.ts'
import { EncodedMessage, encodeProto } from '../../src/api/proto-wire.ts'
import type { GatewayAnswer } from '../../src/gateway/answers.ts'
import type { DecodedCall, Gateway } from '../../src/gateway/app.ts'
import { gatewayGrpcCalls } from '../../src/gateway/grpc-direct.ts'
import { EtcdError } from '../../src/mvcc/index.ts'
import { fetchExchange, type Exchange } from '../../src/gateway/exchange.ts'
import { MemberDirectory } from '../../src/gateway/members.ts'
import { refine, routeOf } from '../../src/gateway/routes.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const ep = (path: string): AnyEndpoint => findEndpoint(path)!

describe('gateway unary units', { timeout: 10_000 }, () => {
  test('refine: only a body that holds "serializable" (or an escape) is parsed; escapes still count', () => {
    const range = ep('/v3/kv/range')
    const target = (body: string): string => refine(range, routeOf(range), enc(body)).target
    assert.equal(target('{"key":"YQ=="}'), 'leader')
    assert.equal(target('{"key":"YQ==","serializable":true}'), 'spread')
    assert.equal(target('{"key":"YQ==", "serializable" : true }'), 'spread')
    assert.equal(target('{"key":"YQ==","serializabl\\u0065":true}'), 'spread')
    assert.equal(target('{"key":"c2VyaWFsaXphYmxl","serializable":false}'), 'leader')
    assert.equal(target('{"key":"YQ==","x":"serializable"}'), 'leader')
    assert.equal(target('{"serializable":true'), 'leader', 'not JSON: left to the member')
    assert.equal(target('serializable'), 'leader')
    assert.equal(target(''), 'leader')
  })

  test('directory: first() is the head of candidates(), and moves the spread cursor the same way', () => {
    const endpoints = ['http://a:1', 'http://b:1', 'http://c:1']
    const noop: Exchange = async () => ({ kind: 'cancelled' })
    const mk = () => new MemberDirectory({ endpoints, exchange: noop, probeTimeoutMs: 10, autoSync: false })
    const one = mk()
    const other = mk()
    for (const down of [[], ['http://b:1'], ['http://a:1', 'http://b:1', 'http://c:1']]) {
      for (const e of endpoints) {
        one.markUp(e)
        other.markUp(e)
      }
      for (const e of down) {
        one.markDown(e)
        other.markDown(e)
      }
      for (let i = 0; i < 5; i++) {
        assert.equal(one.first('spread'), other.candidates('spread')[0], `spread ${i}, down ${down}`)
        assert.equal(one.first('leader'), other.candidates('leader')[0], `leader ${i}, down ${down}`)
        assert.equal(one.first('follower'), other.candidates('follower')[0], `follower ${i}, down ${down}`)
      }
    }
  })

  test('directory: a follower target tries the members that do not lead first, the leader last of the live ones', async () => {
    const endpoints = ['http://a:1', 'http://b:1', 'http://c:1']
    // Every member answers its status: member IDs 1, 2, 3; b (2) leads.
    const status: Exchange = async (r) => ({
      kind: 'answered',
      answer: {
        status: 200,
        headers: {},
        body: new TextEncoder().encode(JSON.stringify({ header: { member_id: String(endpoints.indexOf(r.endpoint) + 1), raft_term: '2' }, leader: '2' })),
      },
    })
    const dir = new MemberDirectory({ endpoints, exchange: status, probeTimeoutMs: 100, autoSync: false })
    assert.equal(await dir.refreshLeader(), 'http://b:1')
    for (let i = 0; i < 4; i++) {
      const order = dir.candidates('follower')
      assert.equal(order[2], 'http://b:1', `round ${i}: ${order}`)
      assert.deepEqual([...order].sort(), endpoints)
      assert.notEqual(dir.first('follower'), 'http://b:1')
    }
    // first() is the head of candidates() with a leader known too.
    const [one, other] = [0, 1].map(() => new MemberDirectory({ endpoints, exchange: status, probeTimeoutMs: 100, autoSync: false })) as [MemberDirectory, MemberDirectory]
    await Promise.all([one.refreshLeader(), other.refreshLeader()])
    for (let i = 0; i < 4; i++) assert.equal(one.first('follower'), other.candidates('follower')[0], `follower ${i}`)
    dir.markDown('http://a:1')
    dir.markDown('http://c:1')
    assert.equal(dir.first('follower'), 'http://b:1', 'only the leader is live')
    assert.equal(dir.candidates('follower')[0], 'http://b:1')
  })

  test('fetch exchange: status, lower-case headers without hop ones, and the bytes', async () => {
    const fake: typeof fetch = async () =>
      new Response('{"a":1}', { status: 201, headers: { 'Content-Type': 'application/json', 'Keep-Alive': 'timeout=5', 'X-Y': 'z' } })
    const outcome = await fetchExchange(fake)({
      method: 'POST',
      endpoint: 'http://m:1',
      path: '/v3/kv/put',
      headers: { 'content-type': 'application/json' },
      body: enc('{}'),
      timeoutMs: 1000,
      signal: new AbortController().signal,
    })
    assert.equal(outcome.kind, 'answered')
    if (outcome.kind !== 'answered') return
    assert.equal(outcome.answer.status, 201)
    assert.deepEqual(outcome.answer.headers, { 'content-type': 'application/json', 'x-y': 'z' })
    assert.equal(new TextDecoder().decode(outcome.answer.body), '{"a":1}')
  })

  test("gRPC calls: sent with their decoded request and protobuf; a protobuf answer passed on undecoded, a JSON one decoded, an error thrown", async () => {
    const range = ep('/v3/kv/range')
    const request = decodeRequest(range, '{"key":"YQ==","serializable":true}')
    const sent: DecodedCall[] = []
    let answer: GatewayAnswer = { status: 200, headers: {}, body: '' }
    const gateway = {
      unaryEndpoint: (path: string) => findEndpoint(path) ?? undefined,
      unary: async (_e: AnyEndpoint, _h: unknown, body: Uint8Array | DecodedCall) => {
        assert.ok(!(body instanceof Uint8Array), 'a gRPC call is given decoded')
        sent.push(body)
        return answer
      },
    } as unknown as Gateway
    const call = gatewayGrpcCalls(gateway)
    const run = () => call(range, request, { get: () => null }, undefined, { signal: new AbortController().signal })!

    const message = new Uint8Array([0x10, 0x01])
    answer = { status: 200, headers: { 'content-type': PROTOBUF_CALL }, body: message }
    const passed = await run()
    assert.ok(passed instanceof EncodedMessage)
    assert.equal(passed.bytes, message, 'the same bytes, not a copy')
    assert.equal(sent[0]?.request, request)
    assert.deepEqual([...(sent[0]?.protobuf.message ?? [])], [...encodeProto(range.request, request)])
    assert.equal(new TextDecoder().decode(sent[0]?.protobuf.json()), encodeRequest(range, request))

    const json = '{"header":{"revision":"7"},"count":"1"}'
    answer = { status: 200, headers: { 'content-type': 'application/json' }, body: enc(json) }
    assert.deepEqual(await run(), decodeResponse(range, json))

    answer = { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"etcdserver: mvcc: required revision has been compacted","code":11}' }
    await assert.rejects(run(), (err: unknown) => err instanceof EtcdError && err.code === 11 && /compacted/.test(err.message))
  })
})
