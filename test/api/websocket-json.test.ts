/**
 * api/websocket-json.ts with a stand-in runtime: which requests it takes, the body it builds from
 * the messages (up to one JSON value for a unary call, every message for a bidirectional stream),
 * the answer's lines as messages, the token, backpressure, and the end of the call either way.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import type { UpgradeWebSocket, WSContext, WSEvents } from 'hono/ws'
import { HIGH_WATER_BYTES, upgradeToken, webSocketJson, type Serve } from '../../src/api/index.ts'

/** A socket as the bridge sees it: what it was sent, how it was closed. */
class FakeSocket {
  readonly sent: string[] = []
  closedWith: number | null = null
  readonly raw = { bufferedAmount: 0 }
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

  test('a unary call: the messages up to one JSON value are the body, each line of the answer a message, then close', async () => {
    const h = harness(() => new Response('{"first":1}\n\n{"second":2}'))
    await h.app.request('http://m/v3/kv/range?x=1', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, '{"key":')
    await settle()
    assert.equal(h.served.length, 0, 'nothing is asked before a whole value')
    message(h.events(), ws, '"YQ=="}')
    message(h.events(), ws, '{"ignored":true}')
    await settle()
    assert.equal(h.served.length, 1)
    const request = h.served[0] as Request
    assert.equal(request.method, 'POST')
    assert.equal(request.url, 'http://m/v3/kv/range?x=1')
    assert.equal(await request.text(), '{"key":\n"YQ=="}\n')
    assert.deepEqual(ws.sent, ['{"first":1}', '{"second":2}'])
    assert.equal(ws.closedWith, 1000)
  })

  test('binary messages count as their bytes; a value never completed is sent once past maxBodyBytes', async () => {
    const h = harness(() => new Response('too large'), 16)
    await h.app.request('/v3/kv/put', { headers: UPGRADE })
    const ws = new FakeSocket()
    message(h.events(), ws, new TextEncoder().encode('{"key":').buffer as ArrayBuffer)
    await settle()
    assert.equal(h.served.length, 0)
    message(h.events(), ws, '            ')
    await settle()
    assert.equal(await (h.served[0] as Request).text(), '{"key":\n            \n')
    assert.deepEqual(ws.sent, ['too large'])
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
