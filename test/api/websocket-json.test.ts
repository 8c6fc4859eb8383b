/**
 * api/websocket-json.ts with a stand-in runtime: which requests it takes, when the call starts,
 * the body it builds from the messages (ending with one JSON value for a unary call, every message
 * for a bidirectional stream), the answer's lines as messages, the token and subprotocol,
 * backpressure both ways, and the end of the call either way.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import type { UpgradeWebSocket, WSContext, WSEvents } from 'hono/ws'
import {
  acceptedProtocol, BODY_HIGH_WATER_BYTES, bearerOnly, HIGH_WATER_BYTES, upgradeToken, webSocketJson, type Serve,
} from '../../src/api/index.ts'

/** A socket as the bridge sees it (Node's ws: it can be paused): what it was sent, how it was closed. */
class FakeSocket {
  readonly sent: string[] = []
  closedWith: number | null = null
  readonly raw = {
    bufferedAmount: 0,
    paused: false,
    pause(): void {
      this.paused = true
    },
    resume(): void {
      this.paused = false
    },
  }
  readonly ctx = {
    send: (m: string) => void this.sent.push(m),
    close: (code?: number) => void (this.closedWith = code ?? 1005),
    raw: this.raw,
  } as unknown as WSContext<unknown>
}

interface Harness {
  readonly app: Hono
  /** The events the bridge gave the last upgrade. */
  events(): WSEvents<unknown>
  /** The requests `serve` got, with their bodies as text once read (streams: as far as read). */
  readonly served: Request[]
}

function harness(serve: Serve, maxBodyBytes = 1024): Harness {
  let last: WSEvents<unknown> | null = null
  const upgrade = (async (_c: unknown, events: WSEvents<unknown>) => {
    last = events
    return new Response(null, { status: 200 })
  }) as unknown as UpgradeWebSocket<unknown>
  const served: Request[] = []
  const app = new Hono()
  app.use('*', webSocketJson(upgrade, (request, env) => (served.push(request), serve(request, env)), { maxBodyBytes }))
  app.all('*', (c) => c.text('not upgraded', 418))
  return {
    app,
    served,
    events: () => {
      assert.ok(last !== null, 'upgraded')
      return last
    },
  }
}

const UPGRADE = { upgrade: 'websocket', connection: 'Upgrade' }

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

function message(events: WSEvents<unknown>, ws: FakeSocket, data: string | ArrayBuffer): void {
  events.onMessage?.(new MessageEvent('message', { data }), ws.ctx)
}

describe('the JSON API over WebSocket (bridge)', () => {
  test('only upgrades of API paths are taken', async () => {
    const h = harness(() => new Response('x'))
    assert.equal((await h.app.request('/v3/kv/range', { method: 'POST' })).status, 418, 'no upgrade')
    assert.equal((await h.app.request('/health', { headers: UPGRADE })).status, 418, 'not an API path')
    assert.equal((await h.app.request('/v3/kv/range', { headers: UPGRADE })).status, 200)
    assert.equal((await h.app.request('/v3beta/watch', { headers: UPGRADE })).status, 200)
  })

  test('a unary call starts at once; its body ends with the first JSON value; each answer line is a message, then close', async () => {
    const h = harness(async (request) => new Response(`{"got":${JSON.stringify(await request.text())}}\n\n{"second":2}`))
    await h.app.request('http://m/v3/kv/range?x=1', { headers: UPGRADE })
    const ws = new FakeSocket()
    h.events().onOpen?.(new Event('open'), ws.ctx)
    assert.equal(h.served.length, 1, 'the call starts as the socket opens')
    const request = h.served[0] as Request
    assert.equal(request.method, 'POST')
    assert.equal(request.url, 'http://m/v3/kv/range?x=1')
    message(h.events(), ws, '{"key":')
    await settle()
    assert.deepEqual(ws.sent, [], 'the body is still open before a whole value')
    message(h.events(), ws, '"YQ=="} {"ignored"')
    message(h.events(), ws, 'true}')
    await settle()
    assert.deepEqual(ws.sent, [JSON.stringify({ got: '{"key":\n"YQ=="} {"ignored"\n' }), '{"second":2}'])
    assert.equal(ws.closedWith, 1000)
    assert.equal(h.served.length, 1)
  })

  test('without an open event (Workers) the call starts with the first message; binary messages count as their bytes', async () => {
    const h = harness(async (request) => new Response(await request.text()))
    await h.app.request('/v3/kv/range', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, new TextEncoder().encode('{"key":"YQ=="}').buffer as ArrayBuffer)
    await settle()
    assert.deepEqual(ws.sent, ['{"key":"YQ=="}'])
  })

  test('a value never completed ends the body once past maxBodyBytes', async () => {
    const h = harness(async (request) => new Response(`${(await request.text()).length} bytes`), 16)
    await h.app.request('/v3/kv/put', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, '{"key":')
    await settle()
    assert.deepEqual(ws.sent, [])
    message(h.events(), ws, '            ')
    await settle()
    assert.deepEqual(ws.sent, ['21 bytes'])
  })

  test('an unclean path is refused before the upgrade (301), as Go\'s mux', async () => {
    const h = harness(() => new Response('x'))
    const res = await h.app.request('/v3//kv/range', { headers: UPGRADE })
    assert.equal(res.status, 301)
    assert.equal(res.headers.get('location'), '/v3/kv/range')
    assert.equal(h.served.length, 0)
  })

  test('a bidirectional stream: every message goes into the open body; the client closing aborts the call', async () => {
    let signal: AbortSignal | null = null
    const answer = new TransformStream<Uint8Array, Uint8Array>()
    const writer = answer.writable.getWriter()
    const h = harness((request) => {
      signal = request.signal
      return new Response(answer.readable)
    })
    await h.app.request('/v3/watch', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, '{"create_request":{}}')
    message(h.events(), ws, '{"progress_request":{}}')
    await settle()
    assert.equal(h.served.length, 1)
    const reader = (h.served[0] as Request).body!.getReader()
    const decoder = new TextDecoder()
    let body = ''
    while (!body.endsWith('{"progress_request":{}}\n')) body += decoder.decode((await reader.read()).value)
    assert.equal(body, '{"create_request":{}}\n{"progress_request":{}}\n')
    await writer.write(new TextEncoder().encode('{"result":1}\n{"res'))
    await writer.write(new TextEncoder().encode('ult":2}\n'))
    await settle()
    assert.deepEqual(ws.sent, ['{"result":1}', '{"result":2}'])
    h.events().onClose?.(new Event('close') as CloseEvent, ws.ctx)
    assert.equal((signal as AbortSignal | null)?.aborted, true, 'the call is aborted')
    assert.equal((await reader.read()).done, true, 'the body ends')
    assert.equal(ws.closedWith, null, 'a socket the client closed is not closed again')
  })

  test('the answer is not read further while the socket holds more than HIGH_WATER_BYTES', async () => {
    const answer = new TransformStream<Uint8Array, Uint8Array>()
    const writer = answer.writable.getWriter()
    const h = harness(() => new Response(answer.readable))
    await h.app.request('/v3/watch', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, '{}')
    await settle()
    ws.raw.bufferedAmount = HIGH_WATER_BYTES + 1
    await writer.write(new TextEncoder().encode('one\n'))
    await settle()
    assert.deepEqual(ws.sent, ['one'])
    void writer.write(new TextEncoder().encode('two\n'))
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.deepEqual(ws.sent, ['one'], 'held while the socket is full')
    ws.raw.bufferedAmount = 0
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.deepEqual(ws.sent, ['one', 'two'])
  })

  test('an answer that fails closes the socket with 1011', async () => {
    const h = harness(() => Promise.reject(new Error('boom')))
    await h.app.request('/v3/kv/range', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, '{}')
    await settle()
    assert.equal(ws.closedWith, 1011)
  })

  test('a stream stops reading the socket while the app has not taken BODY_HIGH_WATER_BYTES; a message over maxBodyBytes closes it', async () => {
    let body: ReadableStream<Uint8Array> | null = null
    const h = harness((request) => ((body = request.body), new Response(new ReadableStream())), 2 * BODY_HIGH_WATER_BYTES)
    await h.app.request('/v3/watch', { headers: UPGRADE })
    const ws = new FakeSocket()
    const chunk = 'x'.repeat(256 * 1024)
    for (let i = 0; i < 3; i++) message(h.events(), ws, chunk)
    assert.equal(ws.raw.paused, false)
    message(h.events(), ws, chunk)
    message(h.events(), ws, chunk)
    assert.equal(ws.raw.paused, true, 'paused past the high-water mark')
    const reader = (body as ReadableStream<Uint8Array> | null)!.getReader()
    for (let i = 0; i < 5; i++) await reader.read()
    assert.equal(ws.raw.paused, false, 'resumed once the app reads')
    message(h.events(), ws, 'y'.repeat(2 * BODY_HIGH_WATER_BYTES))
    assert.equal(ws.closedWith, 1009)
  })

  test('the subprotocol answered: Bearer when the offer starts with it, else none (as etcd)', () => {
    assert.equal(acceptedProtocol('Bearer, tok'), 'Bearer')
    assert.equal(acceptedProtocol('chat, Bearer'), null)
    assert.equal(acceptedProtocol(undefined), null)
    const offer = (header: string | undefined): string | false => bearerOnly(new Set(), { headers: { 'sec-websocket-protocol': header } })
    assert.equal(offer('Bearer,tok'), 'Bearer')
    assert.equal(offer('foo'), false)
  })

  test('the token: the token cookie, else a Bearer subprotocol (with or without a space)', async () => {
    const tokenOf = async (headers: Record<string, string>): Promise<string | null> => {
      const app = new Hono()
      let token: string | null | undefined
      app.get('*', (c) => ((token = upgradeToken(c)), c.text('')))
      await app.request('/v3/kv/range', { headers })
      return token as string | null
    }
    assert.equal(await tokenOf({ 'sec-websocket-protocol': 'Bearer, abc.1' }), 'abc.1')
    assert.equal(await tokenOf({ 'sec-websocket-protocol': 'Bearer,abc.2' }), 'abc.2')
    assert.equal(await tokenOf({ cookie: 'a=b; token=abc.3' }), 'abc.3')
    assert.equal(await tokenOf({ 'sec-websocket-protocol': 'Bearer, abc.4', cookie: 'token=abc.5' }), 'abc.5')
    assert.equal(await tokenOf({ 'sec-websocket-protocol': 'chat' }), null)
    const h = harness(() => new Response('ok'))
    await h.app.request('/v3/kv/range', { headers: { ...UPGRADE, 'sec-websocket-protocol': 'Bearer, tok' } })
    message(h.events(), new FakeSocket(), '{}')
    await settle()
    assert.equal((h.served[0] as Request).headers.get('authorization'), 'tok')
  })
})
