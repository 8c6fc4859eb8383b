/**
 * The member's node:http fast path for unary calls (src/member/node-unary.ts) against the Hono
 * app it stands in front of: the same answers (status, content type, body) for good and bad
 * requests, the calls it must leave to the app, and its own body bounds (size, slow client).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { withUnaryFastPath } from '../../src/member/node-unary.ts'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

interface Answer {
  readonly status: number
  readonly type: string | null
  readonly body: string
}

describe('member unary fast path', () => {
  let s: SingleMember
  let server: Server
  let base: string
  const fast: string[] = []
  const passedOn: string[] = []

  before(async () => {
    s = await startSingleMember()
    const hono = getRequestListener(s.app.fetch)
    const next: typeof hono = (req, res) => {
      passedOn.push(req.url ?? '')
      return hono(req, res)
    }
    const listener = withUnaryFastPath(s.context, next, {
      connection: (req) => ({ address: req.socket.remoteAddress ?? 'unknown', commonName: null }),
      onRequest: (path) => fast.push(path),
      bodyTimeoutMs: 300,
    })
    server = createServer(listener)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server?.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    await s?.stop()
  })

  const viaServer = async (path: string, body: string, method = 'POST'): Promise<Answer> => {
    const res = await fetch(base + path, { method, ...(method === 'GET' ? {} : { body }) })
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  }
  const viaApp = async (path: string, body: string, method = 'POST'): Promise<Answer> => {
    const res = await s.app.request(path, { method, ...(method === 'GET' ? {} : { body }) })
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  }
  /**
   * Drops the parts that differ between two calls of the same request: revisions, lease IDs, raft
   * indexes and database sizes move on between them.
   */
  const stable = (a: Answer): Answer => ({
    ...a,
    body: a.body.replace(/"(revision|ID|raftIndex|raftAppliedIndex|dbSize|dbSizeInUse)":"\d+"/g, '"$1":"N"'),
  })

  const cases: Array<[string, string, string]> = [
    ['put', '/v3/kv/put', JSON.stringify({ key: b64('a'), value: b64('1') })],
    ['range', '/v3/kv/range', JSON.stringify({ key: b64('a') })],
    ['serializable range', '/v3/kv/range', JSON.stringify({ key: b64('a'), serializable: true })],
    ['txn', '/v3/kv/txn', JSON.stringify({ compare: [{ key: b64('a'), target: 'VALUE', value: b64('1') }], success: [{ request_range: { key: b64('a') } }] })],
    ['malformed JSON', '/v3/kv/put', '{"key":'],
    ['bad base64', '/v3/kv/put', JSON.stringify({ key: '***', value: b64('1') })],
    ['no key', '/v3/kv/range', '{}'],
    ['unknown field type', '/v3/kv/range', JSON.stringify({ key: b64('a'), limit: 'many' })],
    ['too many txn ops', '/v3/kv/txn', JSON.stringify({ success: Array.from({ length: 200 }, (_, i) => ({ request_put: { key: b64(`k${i}`) } })) })],
    ['lease grant', '/v3/lease/grant', JSON.stringify({ TTL: 30 })],
    ['status', '/v3/maintenance/status', '{}'],
  ]
  for (const [name, path, body] of cases)
    test(`${name}: the same answer as the app, from the fast path`, async () => {
      const before = fast.length
      const a = await viaServer(path, body)
      const b = await viaApp(path, body)
      assert.deepEqual(stable(a), stable(b))
      assert.equal(fast.length, before + 1, 'answered by the fast path')
    })

  test('leaves streams, unknown paths, other methods and /health to the app', async () => {
    passedOn.length = 0
    const before = fast.length
    assert.deepEqual(await viaServer('/v3/kv/nothing', '{}'), await viaApp('/v3/kv/nothing', '{}'))
    assert.deepEqual(await viaServer('/v3/kv/put', '', 'GET'), await viaApp('/v3/kv/put', '', 'GET'))
    assert.equal((await viaServer('/health', '', 'GET')).status, 200)
    const watch = await fetch(`${base}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: b64('a') } }) })
    const reader = watch.body?.getReader()
    const first = new TextDecoder().decode((await reader?.read())?.value)
    await reader?.cancel()
    assert.match(first, /"created":true/)
    assert.deepEqual(passedOn, ['/v3/kv/nothing', '/v3/kv/put', '/health', '/v3/watch'])
    assert.equal(fast.length, before, 'none of them took the fast path')
  })

  test('an oversized body is refused as the app refuses it', async () => {
    const body = JSON.stringify({ key: b64('big'), value: 'A'.repeat(3_000_000) })
    const a = await viaServer('/v3/kv/put', body)
    assert.equal(a.status, 429)
    assert.match(JSON.parse(a.body).message, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/)
    assert.equal(a.type, 'application/json')
  })

  test('a body that does not arrive in time is refused (504 / 4) and the connection closed', async () => {
    const { port } = server.address() as AddressInfo
    const answer = await new Promise<{ status: number; body: string; closed: boolean }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v3/kv/put', headers: { 'content-length': '100' } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, closed: res.headers.connection === 'close' }))
      })
      req.on('error', reject)
      req.write('{"key":')
    })
    assert.equal(answer.status, 504)
    assert.deepEqual(JSON.parse(answer.body), { error: 'context deadline exceeded', message: 'context deadline exceeded', code: 4 })
    assert.equal(answer.closed, true, 'the connection is closed after the answer')
  })
})
