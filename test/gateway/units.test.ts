/**
 * The gateway's small pure parts: route refinement by body (and by a decoded request), configuration from the environment,
 * the replayable request body, whole-line streaming, and which fetch errors prove nothing was sent.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeRequest, findEndpoint, type AnyEndpoint } from '../../src/api/index.ts'
import { neverSent } from '../../src/client/index.ts'
import { gatewayOptionsFromEnv, GatewayConfigError, parseListen } from '../../src/gateway/index.ts'
import { wholeLines } from '../../src/gateway/line-stream.ts'
import { ReplayableBody } from '../../src/gateway/replayable-body.ts'
import { refine, refineDecoded, routeOf } from '../../src/gateway/routes.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const ep = (path: string): AnyEndpoint => findEndpoint(path)!

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const chunks: string[] = []
  for await (const chunk of stream) chunks.push(new TextDecoder().decode(chunk))
  return chunks
}

describe('gateway units', { timeout: 10_000 }, () => {
  test('routes: writes to the leader, never resent; reads resent; streams streamed; lock blocks', () => {
    assert.deepEqual(routeOf(ep('/v3/kv/put')), { stream: false, idempotent: false, target: 'leader', blocking: false })
    assert.equal(routeOf(ep('/v3/kv/range')).idempotent, true)
    assert.deepEqual(routeOf(ep('/v3/watch')), { stream: true, idempotent: true, target: 'spread', blocking: false })
    assert.equal(routeOf(ep('/v3/lease/keepalive')).target, 'follower', 'any member serves it: one that does not lead')
    assert.equal(routeOf(ep('/v3/election/observe')).stream, true)
    assert.equal(routeOf(ep('/v3/lock/lock')).blocking, true)
    assert.equal(routeOf(ep('/v3beta/kv/lease/revoke')).idempotent, false)
  })

  test('refine: a serializable range is spread; alarm GET is a read, ACTIVATE a write', () => {
    const range = ep('/v3/kv/range')
    assert.equal(refine(range, routeOf(range), enc('{"key":"YQ==","serializable":true}')).target, 'spread')
    assert.equal(refine(range, routeOf(range), enc('{"key":"YQ==","serializable":false}')).target, 'leader')
    assert.equal(refine(range, routeOf(range), enc('{"key":')).target, 'leader')
    const alarm = ep('/v3/maintenance/alarm')
    assert.equal(refine(alarm, routeOf(alarm), enc('')).idempotent, true)
    assert.equal(refine(alarm, routeOf(alarm), enc('{"action":"GET"}')).idempotent, true)
    assert.equal(refine(alarm, routeOf(alarm), enc('{"action":"ACTIVATE","alarm":"NOSPACE"}')).idempotent, false)
  })

  test('refineDecoded (a gRPC call\'s decoded request) routes each request as refine routes its JSON', () => {
    const cases: Array<[string, string]> = [
      ['/v3/kv/range', '{"key":"YQ==","serializable":true}'],
      ['/v3/kv/range', '{"key":"YQ==","serializable":false}'],
      ['/v3/kv/range', '{"key":"YQ==","limit":"1"}'],
      ['/v3/maintenance/alarm', '{}'],
      ['/v3/maintenance/alarm', '{"action":"GET"}'],
      ['/v3/maintenance/alarm', '{"action":0}'],
      ['/v3/maintenance/alarm', '{"action":"ACTIVATE","alarm":"NOSPACE"}'],
      ['/v3/maintenance/alarm', '{"action":"DEACTIVATE","alarm":"NOSPACE"}'],
      ['/v3/kv/put', '{"key":"YQ==","serializable":true}'],
    ]
    for (const [path, body] of cases) {
      const e = ep(path)
      assert.deepEqual(refineDecoded(e, routeOf(e), decodeRequest(e, body)), refine(e, routeOf(e), enc(body)), `${path} ${body}`)
    }
    const range = ep('/v3/kv/range')
    assert.equal(refineDecoded(range, routeOf(range), decodeRequest(range, '{"key":"YQ==","serializable":true}')).target, 'spread')
  })

  test('config: endpoints, timeout and auto-sync from EDGECD_*; bad values name the variable', () => {
    const options = gatewayOptionsFromEnv({
      EDGECD_ENDPOINTS: 'http://127.0.0.1:2381/, http://127.0.0.1:2382',
      EDGECD_REQUEST_TIMEOUT_MS: '750',
      EDGECD_AUTO_SYNC: 'true',
    })
    assert.deepEqual(options, {
      endpoints: ['http://127.0.0.1:2381', 'http://127.0.0.1:2382'],
      requestTimeoutMs: 750,
      autoSync: true,
    })
    assert.throws(() => gatewayOptionsFromEnv({}), /EDGECD_ENDPOINTS/)
    assert.throws(() => gatewayOptionsFromEnv({ EDGECD_ENDPOINTS: 'ftp://x' }), GatewayConfigError)
    assert.throws(() => gatewayOptionsFromEnv({ EDGECD_ENDPOINTS: 'http://a', EDGECD_REQUEST_TIMEOUT_MS: '-1' }), /TIMEOUT/)
    assert.deepEqual(parseListen('127.0.0.1:2379'), { host: '127.0.0.1', port: 2379 })
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 })
    assert.throws(() => parseListen('localhost'), /--listen/)
  })

  test('replayable body: a second attempt gets every chunk again, then the rest; after settle, no replay', async () => {
    let source!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReplayableBody(new ReadableStream({ start: (c) => void (source = c) }))
    source.enqueue(enc('a'))
    source.enqueue(enc('b'))
    const first = body.stream().getReader()
    assert.equal(new TextDecoder().decode((await first.read()).value), 'a')
    const second = body.stream()
    assert.equal((await first.read()).done, true, 'the first attempt is detached')
    source.enqueue(enc('c'))
    body.settle()
    source.close()
    assert.deepEqual(await readAll(second), ['a', 'b', 'c'])
  })

  test('whole lines: a line split across chunks is held until its newline; one line per chunk; the tail at the end is passed', async () => {
    const member = new ReadableStream<Uint8Array>({
      start(c) {
        for (const part of ['{"result":1}\n{"res', 'ult":2}\n{"result":3}\n{"result":4}\n', '{"error":5}']) c.enqueue(enc(part))
        c.close()
      },
    })
    assert.deepEqual(await readAll(wholeLines(member)), ['{"result":1}\n', '{"result":2}\n', '{"result":3}\n', '{"result":4}\n', '{"error":5}'])
  })

  test('neverSent: connect errors only (also inside AggregateError); a reset is not proof', () => {
    const fetchFailed = (cause: unknown): Error => Object.assign(new TypeError('fetch failed'), { cause })
    assert.equal(neverSent(fetchFailed(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))), true)
    const both = new AggregateError([Object.assign(new Error(), { code: 'ECONNREFUSED' }), Object.assign(new Error(), { code: 'ENETUNREACH' })])
    assert.equal(neverSent(fetchFailed(Object.assign(both, { code: 'ECONNREFUSED' }))), true)
    assert.equal(neverSent(fetchFailed(Object.assign(new Error('x'), { code: 'ECONNRESET' }))), false)
    assert.equal(neverSent(fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))), false)
    assert.equal(neverSent(new Error('no code')), false)
  })
})
