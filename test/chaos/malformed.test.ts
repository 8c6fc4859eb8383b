/**
 * Bad input at the edge (fast-check): malformed requests to every endpoint of a running member —
 * broken JSON, wrong types for each field, bad base64, huge and negative numbers, oversized
 * bodies, unknown paths and methods — and abrupt disconnects in the middle of a request or a
 * stream. Each must get a 4xx (or etcd's 500 / code 2 for stream, lock and election errors; 501
 * for an endpoint this version does not serve) with etcd's error body, the member must stay up,
 * and no data may change (revision and hash as before). Runs twice: with auth off, and with auth
 * on and every request carrying the root token (so bad input meets the auth checks too).
 *
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { ENDPOINTS, type AnyEndpoint } from '../../src/api/index.ts'
import type { Kind } from '../../src/api/schema.ts'
import { ChaosCluster } from './cluster.ts'

const MAX_REQUEST_BYTES = 64 * 1024
const RUNS = 400

interface Probe {
  readonly method: string
  readonly path: string
  readonly body: string | undefined
  /** The endpoint the path names, if any. */
  readonly endpoint: AnyEndpoint | null
  readonly why: string
}

/** Values of the wrong type (or out of range) for a field of kind `kind`. */
function wrongFor(kind: Kind): fc.Arbitrary<unknown> {
  const notJsonObject = fc.constantFrom<unknown>(5, 'x', true, [1])
  switch (kind.t) {
    case 'bytes':
      return fc.constantFrom<unknown>(
        123,
        true,
        {},
        [],
        '!!!',
        'Zm9vYg',
        'Zm9v-_8=',
        'a',
        '====',
        '\u00ff\u00fe',
      )
    case 'string':
      return fc.constantFrom<unknown>(5, true, {}, [])
    case 'bool':
      return fc.constantFrom<unknown>('true', 1, 0, {}, [], 'false')
    case 'int64':
    case 'int64n':
      return fc.constantFrom<unknown>(
        1.5,
        'abc',
        '9223372036854775808',
        -9223372036854775809n.toString(),
        1e300,
        true,
        {},
        [],
        '1.5',
        '',
      )
    case 'uint64':
    case 'uint64n':
    case 'uint32':
      return fc.constantFrom<unknown>(-1, '-1', 1.5, 'abc', '18446744073709551616', 1e300, true, {}, [])
    case 'enum':
      return fc.constantFrom<unknown>('BOGUS', 'descend', true, {}, 1.5, [])
    case 'message':
      return notJsonObject
    case 'repeated':
      return fc.constantFrom<unknown>(5, 'x', true, {})
  }
}

/** A body that is not JSON at all, or JSON of the wrong shape (never `null`, `{}` or empty). */
const brokenJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{',
    '{"key":',
    '{"key":"Zm9v"',
    '[]',
    '"x"',
    '12',
    '{]',
    'nul',
    '{"a":1,}',
    'true',
    '{"key":"Zm9v",}',
    '{{}}',
    '[{}]',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => `}${s}`),
  fc
    .string({ minLength: 1, maxLength: 40 })
    .map((s) => `{"key":${s}`)
    .filter((s) => !parsesAsObject(s)),
)

function parsesAsObject(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown
    return typeof v === 'object' && v !== null && !Array.isArray(v)
  } catch {
    return false
  }
}

const endpoints = ENDPOINTS.filter((ep) => ep.request.fields.length > 0)

const probe: fc.Arbitrary<Probe> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...ENDPOINTS), brokenJson)
      .map(
        ([ep, body]): Probe => ({ method: 'POST', path: ep.path, body, endpoint: ep, why: 'broken JSON' }),
      ),
  },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...endpoints)
      .chain((ep) => fc.tuple(fc.constant(ep), fc.constantFrom(...ep.request.fields)))
      .chain(([ep, field]) =>
        fc.tuple(fc.constant(ep), fc.constant(field), wrongFor(field.kind), fc.boolean()).map(
          ([e, f, value, camel]): Probe => ({
            method: 'POST',
            path: e.path,
            body: JSON.stringify({ [camel ? f.json : f.name]: value }),
            endpoint: e,
            why: `wrong ${f.kind.t} for ${f.name}`,
          }),
        ),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('/v3/kv/put', '/v3/kv/deleterange').map(
      (path): Probe => ({
        method: 'POST',
        path,
        body: JSON.stringify({ key: Buffer.alloc(2 * MAX_REQUEST_BYTES + 1024, 7).toString('base64') }),
        endpoint: ENDPOINTS.find((e) => e.path === path) ?? null,
        why: 'oversized',
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('/v3/', '/v3beta/', '/v3alpha/', '/v2/', '/'),
        fc.stringMatching(/^[a-z/]{1,20}$/),
      )
      .map(
        ([prefix, rest]): Probe => ({
          method: 'POST',
          path: prefix + rest,
          body: '{}',
          endpoint: null,
          why: 'unknown path',
        }),
      )
      .filter(
        (p) =>
          ENDPOINTS.every((e) => e.path !== p.path && e.path.replace('/v3/', '/v3beta/') !== p.path) &&
          !['/health', '/version', '/metrics'].includes(p.path),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'), fc.constantFrom(...ENDPOINTS)).map(
      ([method, ep]): Probe => ({
        method,
        path: ep.path,
        body: method === 'GET' ? undefined : '{}',
        endpoint: ep,
        why: 'wrong method',
      }),
    ),
  },
)

/** What an answer to a bad request may be; a string says why it is not acceptable. */
function judge(p: Probe, status: number, text: string): string | null {
  const passThrough =
    p.endpoint !== null && (p.endpoint.stream !== 'unary' || /^(lock|election)\./.test(p.endpoint.name))
  if (p.endpoint === null || p.why === 'wrong method')
    return status === 404 || status === 405 ? null : `status ${status}`
  let body: { error?: unknown; message?: unknown; code?: unknown }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    return `not etcd's error body: ${text.slice(0, 200)}`
  }
  if (typeof body.code !== 'number' || typeof body.message !== 'string')
    return `not etcd's error body: ${text.slice(0, 200)}`
  if (body.error !== undefined && body.error !== body.message)
    return `error and message differ: ${text.slice(0, 200)}`
  if (status >= 400 && status < 500) return null
  if (status === 500 && body.code === 2 && passThrough) return null
  if (status === 501 && body.code === 12) return null
  return `status ${status}: ${text.slice(0, 200)}`
}

/** Turns auth on with a root user; answers root's token. */
async function enableAuth(base: string): Promise<string> {
  const call = async (path: string, body: unknown): Promise<{ token?: string }> => {
    const res = await fetch(base + path, { method: 'POST', body: JSON.stringify(body) })
    assert.equal(res.status, 200, path)
    return (await res.json()) as { token?: string }
  }
  await call('/v3/auth/user/add', { name: 'root', password: 'rootpw' })
  await call('/v3/auth/user/grant', { user: 'root', role: 'root' })
  await call('/v3/auth/enable', {})
  return (await call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token as string
}

for (const auth of [false, true])
describe(`malformed requests at the edge${auth ? ', auth on' : ''}`, () => {
  let cluster: ChaosCluster
  let base = ''
  let dir = ''
  let headers: Record<string, string> = {}
  const state = async (): Promise<string> => {
    const res = await fetch(`${base}/v3/maintenance/hash`, {
      method: 'POST',
      body: '{}',
      headers,
      signal: AbortSignal.timeout(5000),
    })
    const json = (await res.json()) as { header: { revision: string }; hash: number }
    return `revision ${json.header.revision}, hash ${json.hash}`
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgecd-malformed-'))
    cluster = new ChaosCluster({
      size: 1,
      dir,
      heartbeatMs: 50,
      electionMs: 500,
      memberFlags: ['--max-request-bytes', String(MAX_REQUEST_BYTES)],
    })
    await cluster.start()
    base = cluster.member('m1').clientUrl
    if (auth) headers = { Authorization: await enableAuth(base) }
    for (let i = 0; i < 10; i++) {
      const key = Buffer.from(`k/${i}`).toString('base64')
      await fetch(`${base}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key, value: key }), headers })
    }
  })

  after(async () => {
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers every malformed request with an error, stays up, changes nothing', async () => {
    const before = await state()
    const counts = new Map<number, number>()
    const wrong: string[] = []
    for (const p of fc.sample(probe, { numRuns: RUNS, seed: 20260707 })) {
      const res = await fetch(base + p.path, {
        method: p.method,
        body: p.body,
        headers,
        signal: AbortSignal.timeout(5000),
      })
      const text = await res.text()
      counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
      const why = judge(p, res.status, text)
      if (why !== null) wrong.push(`${p.why}: ${p.method} ${p.path} ${p.body?.slice(0, 120)} → ${why}`)
    }
    assert.deepEqual([...new Set(wrong)], [])
    cluster.assertNoCrash()
    assert.equal(await state(), before, `data changed; answers by status: ${JSON.stringify([...counts])}`)
  })

  it('survives clients that disconnect in the middle of a request or a stream', async () => {
    const before = await state()
    const port = Number(new URL(base).port)
    const watch = JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==' } })
    const cuts = [
      'POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"key":"Zm',
      'POST /v3/kv/txn HTTP/1.1\r\nHost: x\r\nContent-Le',
      `POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${watch.length.toString(16)}\r\n${watch}\r\n`,
      `POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${watch.length.toString(16)}\r\n${watch.slice(0, 9)}`,
      'POST /v3/lease/keepalive HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"ID":"1"',
      'POST /v3/maintenance/snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}',
    ]
    for (let round = 0; round < 5; round++) {
      for (const [i, text] of cuts.entries()) {
        await new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(text)
            setTimeout(
              () => {
                socket.destroy()
                resolve()
              },
              (i * 37 + round * 11) % 120,
            )
          })
          socket.on('error', () => resolve())
        })
      }
    }
    await new Promise((r) => setTimeout(r, 300))
    cluster.assertNoCrash()
    assert.equal(await state(), before)
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) })
    assert.equal(health.status, 200)
  })
})
