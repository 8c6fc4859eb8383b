/**
 * The member's end of the call channel (src/member/call-channel.ts), served from a real port in
 * front of one in-process member: a batch of calls gets the answers the app gives the same
 * requests, in one message when they are ready together; calls the member does not answer itself
 * go through the app; a message that is not a batch of calls closes the channel. And the
 * gateway's channel exchange (src/gateway/channel-exchange.ts) against it: once the channel is
 * open, calls no longer use HTTP.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import WebSocket, { WebSocketServer } from 'ws'
import {
  CALL_CHANNEL_PATH, decodeAnswers, decodeRequest, decodeResponse, encodeCalls, findEndpoint, kvRange, PROTOBUF_CALL, type ChannelAnswer, type ChannelCall,
} from '../../src/api/index.ts'
import { encodeProto } from '../../src/api/proto-wire.ts'
import { callChannelRoute } from '../../src/member/index.ts'
import { HIGH_WATER_BYTES } from '../../src/member/call-channel.ts'
import { channelExchange } from '../../src/gateway/channel-exchange.ts'
import type { Exchange, UnaryOutcome } from '../../src/gateway/exchange.ts'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

const JSON_HEADERS = { 'content-type': 'application/json' }

describe('member call channel', () => {
  let s: SingleMember
  let server: ServerType
  let endpoint: string
  const fast: string[] = []

  before(async () => {
    s = await startSingleMember()
    const app = new Hono()
    const route = callChannelRoute(s.context, upgradeWebSocket, {
      connection: (req) => ({ address: req.socket.remoteAddress ?? 'unknown', commonName: null }),
      onRequest: (path) => fast.push(path),
      serve: (request, env) => s.app.fetch(request, env),
    })
    app.get(route.path, route.handler)
    app.all('*', (c) => s.app.fetch(c.req.raw, c.env))
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: new WebSocketServer({ noServer: true }) } }, () => resolve())
    })
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    ;(server as Server | undefined)?.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    await s?.stop()
  })

  /** A raw channel: sends `calls` in one message, resolves with every answer message until each call has one. */
  const exchangeRaw = async (calls: readonly ChannelCall[]): Promise<ChannelAnswer[][]> => {
    const ws = await openChannel()
    const messages: ChannelAnswer[][] = []
    let answered = 0
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const batch = decodeAnswers(data)
        messages.push(batch)
        answered += batch.length
        if (answered >= calls.length) resolve()
      })
      ws.on('close', () => reject(new Error('closed')))
    })
    ws.send(encodeCalls(calls))
    await done
    ws.terminate()
    return messages
  }
  const openChannel = async (): Promise<WebSocket> => {
    const ws = new WebSocket(`${endpoint.replace('http', 'ws')}${CALL_CHANNEL_PATH}`)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    return ws
  }
  const viaApp = async (path: string, body: string, headers: Record<string, string> = JSON_HEADERS) => {
    const res = await s.app.request(path, { method: 'POST', body, headers })
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  }
  const asAnswer = (a: ChannelAnswer) => ({ status: a.status, type: a.headers['content-type'] ?? null, body: new TextDecoder().decode(a.body) })
  /** Revisions, lease IDs and raft indexes move on between two calls of the same request. */
  const stable = (a: { status: number; type: string | null; body: string }) => ({
    ...a,
    body: a.body.replace(/"(revision|ID|raftIndex|raftAppliedIndex|dbSize|dbSizeInUse)":"\d+"/g, '"$1":"N"'),
  })
  const call = (id: number, path: string, body: string, headers: Record<string, string> = JSON_HEADERS): ChannelCall => ({
    id,
    path,
    headers,
    body: new TextEncoder().encode(body),
  })

  test('a batch of calls: each answered as the app answers it, by id, ready together in one message', async () => {
    const cases: Array<[string, string]> = [
      ['/v3/kv/put', JSON.stringify({ key: b64('a'), value: b64('1') })],
      ['/v3/kv/range', JSON.stringify({ key: b64('a'), serializable: true, count_only: true })],
      ['/v3/kv/put', '{"key":'],
      ['/v3/kv/put', JSON.stringify({ key: '***', value: b64('1') })],
      ['/v3/kv/txn', JSON.stringify({ success: Array.from({ length: 200 }, (_, i) => ({ request_put: { key: b64(`k${i}`) } })) })],
      ['/v3/maintenance/status', '{}'],
    ]
    // Ids need not be small or in order.
    const calls = cases.map(([path, body], i) => call(1000 - i * 7, path, body))
    // The calls of a batch run at once, as HTTP requests that arrive together: the range reads what was there before.
    assert.equal((await s.call('/v3/kv/put', { key: b64('a'), value: b64('1') })).status, 200)
    const before = fast.length
    const messages = await exchangeRaw(calls)
    const answers = new Map(messages.flat().map((a) => [a.id, a]))
    assert.equal(answers.size, calls.length, 'one answer per call')
    for (const [i, [path, body]] of cases.entries()) {
      const got = answers.get((calls[i] as ChannelCall).id) as ChannelAnswer
      assert.deepEqual(stable(asAnswer(got)), stable(await viaApp(path, body)), `${path} ${body.slice(0, 40)}`)
    }
    assert.equal(fast.length - before, cases.length, 'all served by serveUnary')
    // The serializable range and the refusals are ready at once: they share a message.
    assert.ok(messages.length < calls.length, `${messages.length} messages for ${calls.length} answers`)
  })

  test('calls the member does not answer itself go through the app: a deadline header, an unknown path', async () => {
    const before = fast.length
    const put = JSON.stringify({ key: b64('d'), value: b64('1') })
    const messages = await exchangeRaw([
      call(1, '/v3/kv/put', put, { ...JSON_HEADERS, 'grpc-timeout': '5S' }),
      call(2, '/v3/kv/nothing', '{}'),
      call(3, '/v3/kv/range', JSON.stringify({ key: b64('d') }), { ...JSON_HEADERS, 'grpc-timeout': 'bad' }),
    ])
    const answers = new Map(messages.flat().map((a) => [a.id, asAnswer(a)]))
    assert.equal(answers.get(1)?.status, 200)
    assert.match(answers.get(1)?.body ?? '', /"revision":"\d+"/)
    assert.deepEqual(answers.get(2), await viaApp('/v3/kv/nothing', '{}'))
    assert.deepEqual(answers.get(3), await viaApp('/v3/kv/range', JSON.stringify({ key: b64('d') }), { ...JSON_HEADERS, 'grpc-timeout': 'bad' }))
    assert.equal(fast.length, before, 'none went through serveUnary')
  })


  test('calls carried as protobuf: a 200 answer is the protobuf of what the JSON call answers, served here or through the app; errors are JSON', async () => {
    assert.equal((await s.call('/v3/kv/put', { key: b64('p'), value: b64('proto') })).status, 200)
    const protobuf = { 'content-type': PROTOBUF_CALL }
    const rangeJson = JSON.stringify({ key: b64('p') })
    const put = findEndpoint('/v3/kv/put')!
    const putJson = JSON.stringify({ key: b64('q'), value: b64('\u0001'), lease: '12345' })
    const before = fast.length
    const messages = await exchangeRaw([
      { id: 1, path: '/v3/kv/range', headers: protobuf, body: encodeProto(kvRange.request, decodeRequest(kvRange, rangeJson)) },
      // A deadline header sends it through the app, as JSON.
      { id: 2, path: '/v3/kv/range', headers: { ...protobuf, 'grpc-timeout': '5S' }, body: encodeProto(kvRange.request, decodeRequest(kvRange, rangeJson)) },
      { id: 3, path: '/v3/kv/put', headers: protobuf, body: encodeProto(put.request, decodeRequest(put, putJson)) },
      { id: 4, path: '/v3/kv/range', headers: protobuf, body: new Uint8Array([0x0a, 0x05, 0x61]) },
    ])
    const answers = new Map(messages.flat().map((a) => [a.id, a]))
    const expected = decodeResponse(kvRange, (await viaApp('/v3/kv/range', rangeJson)).body)
    for (const id of [1, 2]) {
      const a = answers.get(id)!
      assert.equal(a.status, 200, `call ${id}`)
      assert.equal(a.headers['content-type'], PROTOBUF_CALL, `call ${id}`)
      assert.equal(Buffer.from(a.body).toString('hex'), Buffer.from(encodeProto(kvRange.response, expected)).toString('hex'), `call ${id}`)
    }
    const refused = asAnswer(answers.get(3)!)
    assert.deepEqual(stable(refused), stable(await viaApp('/v3/kv/put', putJson)))
    assert.match(refused.body, /requested lease not found/)
    const malformed = asAnswer(answers.get(4)!)
    assert.notEqual(malformed.status, 200)
    assert.equal(malformed.type, 'application/json')
    assert.match(malformed.body, /"code":\d+/)
    assert.equal(fast.length - before, 3, 'calls 1, 3 and 4 served here, call 2 through the app')
  })
  test('streams and calls that wait on other clients are refused, and leave nothing behind', async () => {
    const watch = JSON.stringify({ create_request: { key: b64('w') } })
    const lock = JSON.stringify({ name: b64('held'), lease: '1' })
    const messages = await exchangeRaw([call(1, '/v3/watch', watch), call(2, '/v3/lock/lock', lock), call(3, '/v3/lease/keepalive', '{"ID":"1"}')])
    const answers = messages.flat().sort((a, b) => a.id - b.id).map(asAnswer)
    for (const [i, path] of ['/v3/watch', '/v3/lock/lock', '/v3/lease/keepalive'].entries()) {
      assert.equal(answers[i]?.status, 400)
      assert.deepEqual(JSON.parse(answers[i]?.body ?? ''), {
        error: `edgecd: ${path} is not carried by the call channel`,
        message: `edgecd: ${path} is not carried by the call channel`,
        code: 3,
      })
    }
    const held = await s.call('/v3/kv/range', { key: b64('held'), range_end: b64('helf') })
    assert.equal(held.json.count, undefined, 'no lock waiter was created')
  })

  test('a gateway that stops reading: the member stops reading its calls, and what waits in its socket stays bounded', async () => {
    assert.equal((await s.call('/v3/kv/put', { key: b64('ten-k'), value: Buffer.alloc(10_000, 1).toString('base64') })).status, 200)
    const sockets = new Set<Socket>()
    const onConnection = (socket: Socket): void => void sockets.add(socket)
    server.on('connection', onConnection)
    const ws = await openChannel()
    server.off('connection', onConnection)
    ws.pause()
    const range = JSON.stringify({ key: b64('ten-k'), serializable: true })
    // ~13.5 KB of answer each: 300 MB unbounded.
    for (let b = 0; b < 200; b++) ws.send(encodeCalls(Array.from({ length: 100 }, (_, i) => call(b * 100 + i, '/v3/kv/range', range))))
    await new Promise((r) => setTimeout(r, 2_000))
    const waiting = Math.max(...[...sockets].map((socket) => socket.writableLength))
    ws.terminate()
    assert.ok(waiting > 0, 'answers wait in the member\'s socket')
    // The high-water mark, plus the answers to what was already read from the socket when it paused (a few messages).
    assert.ok(waiting < HIGH_WATER_BYTES + 24 * 1024 * 1024, `${waiting} bytes wait in the member's socket`)
  })

  test('an oversized body is refused as the app refuses it', async () => {
    const body = JSON.stringify({ key: b64('big'), value: 'A'.repeat(3_000_000) })
    const [[answer]] = (await exchangeRaw([call(9, '/v3/kv/put', body)])) as [[ChannelAnswer]]
    assert.equal(answer.status, 429)
    assert.match(JSON.parse(new TextDecoder().decode(answer.body)).message, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/)
  })

  for (const [what, message] of [
    ['a text message', 'hello'],
    ['bytes that are not msgpack', new Uint8Array([0xc1])],
    ['a call without a path', encodeCalls([{ id: 1, path: 5 as unknown as string, headers: {}, body: new Uint8Array(0) }])],
  ] as const)
    test(`${what} closes the channel (1008), and the member serves on`, async () => {
      const ws = await openChannel()
      const code = await new Promise<number>((resolve) => {
        ws.on('close', (c: number) => resolve(c))
        ws.send(message)
      })
      assert.equal(code, 1008)
      assert.equal((await s.call('/v3/kv/range', { key: b64('a') })).status, 200)
    })

  test("the gateway's channel exchange: the first call goes over HTTP, the next ones over the channel", async () => {
    const overHttp: string[] = []
    const fallback: Exchange = async (r) => {
      overHttp.push(r.path)
      const res = await fetch(r.endpoint + r.path, { method: r.method, headers: r.headers, body: r.body as Uint8Array<ArrayBuffer> })
      const headers: Record<string, string> = {}
      res.headers.forEach((v, k) => (headers[k] = v))
      return { kind: 'answered', answer: { status: res.status, headers, body: new Uint8Array(await res.arrayBuffer()) } }
    }
    const channels = channelExchange(fallback)
    const put = (key: string): Promise<UnaryOutcome> =>
      channels.exchange({
        method: 'POST',
        endpoint,
        path: '/v3/kv/put',
        headers: JSON_HEADERS,
        body: new TextEncoder().encode(JSON.stringify({ key: b64(key), value: b64('v') })),
        timeoutMs: 5_000,
        signal: new AbortController().signal,
      })
    try {
      assert.equal((await put('first')).kind, 'answered')
      assert.deepEqual(overHttp, ['/v3/kv/put'], 'the channel was not open yet')
      const deadline = Date.now() + 5_000
      for (let i = 0; overHttp.length > i && Date.now() < deadline; i++) {
        overHttp.length = 0
        await new Promise((r) => setTimeout(r, 20))
        await put(`wait${i}`)
      }
      assert.deepEqual(overHttp, [], 'the channel opened')
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => put(`k${i}`)))
      assert.deepEqual(overHttp, [])
      const revisions = outcomes.map((o) => {
        assert.equal(o.kind, 'answered')
        const answer = (o as Extract<UnaryOutcome, { kind: 'answered' }>).answer
        assert.equal(answer.status, 200)
        return Number(JSON.parse(new TextDecoder().decode(answer.body)).header.revision)
      })
      assert.equal(new Set(revisions).size, 20, 'twenty distinct writes')
      assert.equal((await s.call('/v3/kv/range', { key: b64('k19') })).json.count, '1')
    } finally {
      channels.close()
    }
  })
})
