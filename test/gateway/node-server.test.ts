/**
 * The gateway as workers/gateway-node.ts serves it: node:http with the unary fast path and the
 * members' keep-alive pool (src/gateway/node-server.ts, node-exchange.ts).
 *
 * 1. The whole gateway suite (gateway.suite.ts) against it: the fast path must answer as the Hono
 *    app does. (The one test that spies on an injected fetch gets the fetch exchange, through
 *    the same fast path.)
 * 2. The exchange itself: bytes and headers through untouched, one pooled connection reused,
 *    connect errors `unsent`, a hung member `lost` at the deadline, a reset `lost`, a cancel, and
 *    a deadline that passes before the request has a connection `unsent`; with every member
 *    down, writes under short deadlines are always `unhealthy cluster`.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { nodeExchange } from '../../src/gateway/node-exchange.ts'
import { runGatewaySuite } from './gateway.suite.ts'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post, startNodeGateway, type RunningGateway } from './serve-gateway.ts'

runGatewaySuite('node:http fast path', startNodeGateway)

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

/** A member stand-in on a free port: every request goes to `handler` with its whole body. */
async function fakeMember(handler: Handler): Promise<{ url: string; sockets: Set<Socket>; server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handler(req, res, Buffer.concat(chunks)))
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, server }
}

const never = new AbortController().signal
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('node exchange', { timeout: 20_000 }, () => {
  const pool = nodeExchange()
  after(() => pool.close())

  test('the body and headers pass through untouched, hop headers dropped; connections are reused', async () => {
    const seen: Array<{ headers: IncomingMessage['headers']; body: string; path: string | undefined }> = []
    const member = await fakeMember((req, res, body) => {
      seen.push({ headers: req.headers, body: body.toString(), path: req.url })
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Member': 'm1', 'Keep-Alive': 'timeout=5' })
      res.end('{"ok":true}')
    })
    try {
      const body = enc('{"key":"YQ==","value":"Yg=="}')
      for (let i = 0; i < 3; i++) {
        const outcome = await pool.exchange({
          method: 'POST',
          endpoint: member.url,
          path: '/v3/kv/put',
          headers: { 'content-type': 'application/json', authorization: 'tok' },
          body,
          timeoutMs: 2000,
          signal: never,
        })
        assert.equal(outcome.kind, 'answered')
        if (outcome.kind !== 'answered') return
        assert.equal(outcome.answer.status, 200)
        assert.equal(new TextDecoder().decode(outcome.answer.body), '{"ok":true}')
        assert.equal(outcome.answer.headers['content-type'], 'application/json')
        assert.equal(outcome.answer.headers['x-member'], 'm1')
        for (const hop of ['keep-alive', 'connection', 'content-length']) assert.equal(outcome.answer.headers[hop], undefined, hop)
      }
      assert.equal(seen.length, 3)
      assert.deepEqual(
        seen.map((s) => [s.path, s.body, s.headers['authorization'], s.headers['content-length']]),
        Array(3).fill(['/v3/kv/put', '{"key":"YQ==","value":"Yg=="}', 'tok', '29']),
      )
      // undici hands an answer over just before its connection is free again, so the next call
      // may open a second one; never one per call.
      assert.ok(member.sockets.size <= 2, `${member.sockets.size} connections for three calls in a row`)
    } finally {
      member.server.closeAllConnections()
      member.server.close()
    }
  })

  test('refused: unsent; hung past the deadline: lost (timed out); reset: lost; caller gone: cancelled', async () => {
    const member = await fakeMember((req, res) => {
      if (req.url === '/reset') req.socket.destroy()
      // '/hang': never answers
    })
    const { port } = member.server.address() as AddressInfo
    try {
      const at = (endpoint: string, path: string, timeoutMs: number | undefined, signal = never) =>
        pool.exchange({ method: 'POST', endpoint, path, headers: {}, body: enc('{}'), timeoutMs, signal })
      const free = await new Promise<number>((r) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as AddressInfo).port
          s.close(() => r(p))
        })
      })
      assert.equal((await at(`http://127.0.0.1:${free}`, '/v3/kv/put', 1000)).kind, 'unsent')
      const hung = await at(member.url, '/hang', 200)
      assert.deepEqual([hung.kind, hung.kind === 'lost' && hung.timedOut], ['lost', true])
      const reset = await at(member.url, '/reset', 2000)
      assert.deepEqual([reset.kind, reset.kind === 'lost' && reset.timedOut], ['lost', false])
      const leave = new AbortController()
      const pending = at(member.url, '/hang', undefined, leave.signal)
      setTimeout(() => leave.abort(), 50)
      assert.equal((await pending).kind, 'cancelled')
      assert.ok(port > 0)
    } finally {
      member.server.closeAllConnections()
      member.server.close()
    }
  })

  test('a deadline that passes while the request waits for a connection: unsent, and never written', async () => {
    const seen: string[] = []
    const member = await fakeMember((req, res) => {
      seen.push(req.url ?? '')
      if (req.url !== '/hang') res.end('{}')
    })
    const single = nodeExchange({ maxSockets: 1 })
    try {
      const at = (path: string, timeoutMs: number | undefined, signal = never) =>
        single.exchange({ method: 'POST', endpoint: member.url, path, headers: {}, body: enc('{}'), timeoutMs, signal })
      const leave = new AbortController()
      const holding = at('/hang', undefined, leave.signal)
      while (seen.length === 0) await new Promise((r) => setTimeout(r, 5))
      // The one connection is held, so this request waits in the pool until its deadline.
      const queued = await at('/v3/kv/put', 100)
      assert.equal(queued.kind, 'unsent')
      leave.abort()
      assert.equal((await holding).kind, 'cancelled')
      // The connection is free again: the request that gave up must not go out on it now.
      const after = await at('/v3/kv/range', 2000)
      assert.equal(after.kind, 'answered')
      assert.deepEqual(seen, ['/hang', '/v3/kv/range'])
    } finally {
      single.close()
      member.server.closeAllConnections()
      member.server.close()
    }
  })
})

describe('node:http gateway in front of fake members', { timeout: 20_000 }, () => {
  let cluster: FakeCluster
  let gw: RunningGateway
  before(async () => {
    cluster = await FakeCluster.start(3)
    gw = await startNodeGateway({ endpoints: cluster.urls })
  })
  after(async () => {
    await gw.close()
    await cluster.close()
  })

  test('a unary answer is sent whole, with Content-Length and the CORS headers, once per header', async () => {
    const res = await fetch(`${gw.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64('cl'), value: b64('v') }) })
    const text = await res.text()
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)))
    assert.equal(res.headers.get('transfer-encoding'), null)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal(res.headers.get('content-type'), 'application/json')
  })

  test('a query string and /v3beta take the same path', async () => {
    const { status } = await post(`${gw.url}/v3beta/kv/put?x=1`, { key: b64('q'), value: b64('v') })
    assert.equal(status, 200)
  })
})

describe('node:http gateway with every member down', { timeout: 20_000 }, () => {
  test('short deadlines: a write is always "unhealthy cluster", never "request timed out" (nothing was sent)', async () => {
    const cluster = await FakeCluster.start(3)
    for (const m of cluster.members) await m.stop()
    const gw = await startNodeGateway({ endpoints: cluster.urls, requestTimeoutMs: 60, retryBackoffMs: 7 })
    try {
      const answers = new Set<string>()
      for (let i = 0; i < 60; i++) {
        const { status, json } = await post(`${gw.url}/v3/kv/put`, { key: b64('k'), value: b64('v') })
        answers.add(`${status} ${json.message}`)
      }
      assert.deepEqual([...answers], ['503 etcdserver: unhealthy cluster'])
    } finally {
      await gw.close()
      await cluster.close()
    }
  })
})

describe('node:http fast path: body bound', () => {
  let cluster: FakeCluster
  let gw: RunningGateway
  before(async () => {
    cluster = await FakeCluster.start()
    gw = await startNodeGateway({ endpoints: cluster.urls, maxBodyBytes: 1000 })
  })
  after(async () => {
    await gw?.close()
    await cluster?.close()
  })

  const tooLarge = (size: number): unknown => ({
    error: `grpc: received message larger than max (${size} vs. 1000)`,
    message: `grpc: received message larger than max (${size} vs. 1000)`,
    code: 8,
  })

  test('a declared length over the bound is refused without reaching a member', async () => {
    const body = JSON.stringify({ key: b64('k'), value: 'x'.repeat(2000) })
    const before = cluster.hits('/v3/kv/put').reduce((a, b) => a + b, 0)
    const res = await fetch(`${gw.url}/v3/kv/put`, { method: 'POST', body })
    assert.equal(res.status, 429)
    assert.deepEqual(await res.json(), tooLarge(Buffer.byteLength(body)))
    assert.equal(cluster.hits('/v3/kv/put').reduce((a, b) => a + b, 0), before, 'no member saw it')
  })

  test('a chunked body is cut off once it passes the bound', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(600))
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk)
        controller.enqueue(chunk)
        controller.enqueue(chunk)
        controller.close()
      },
    })
    const res = await fetch(`${gw.url}/v3/kv/put`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit)
    assert.equal(res.status, 429)
    const answer = (await res.json()) as { code: number; message: string }
    assert.equal(answer.code, 8)
    assert.match(answer.message, /^grpc: received message larger than max \(\d+ vs\. 1000\)$/)
  })

  test('a body within the bound passes', async () => {
    const res = await post(`${gw.url}/v3/kv/put`, { key: b64('small'), value: b64('v') })
    assert.equal(res.status, 200)
  })
})
