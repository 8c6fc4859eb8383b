/**
 * Errors on a watch or snapshot stream, as etcd 3.4's gateway gives them: a request the
 * server refuses (past gRPC's receive limit, or a snapshot the caller may not take) is a stream
 * error, `{"error":{"grpc_code":…,"http_code":…,"message":…,"http_status":…}}` without a newline:
 * the whole answer (with the code's HTTP status) when nothing was sent yet, else the last line of
 * the stream, which then ends. A request that does not decode stays the gateway's plain 500 / 2.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

const TOO_LARGE = /^\{"error":\{"grpc_code":8,"http_code":429,"message":"grpc: received message larger than max \(\d+ vs\. 2097152\)","http_status":"Too Many Requests"\}\}$/

/** A request message past the receive limit (max-request-bytes + 512 KiB) once decoded. */
const huge = (body: (key: string) => unknown): string => JSON.stringify(body(b64('k'.repeat(2_200_000))))

describe('stream errors', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember()
  })
  after(() => s.stop())

  it('a watch whose first request is past the receive limit is refused with a 429 stream error', async () => {
    const res = await s.app.request('/v3/watch', { method: 'POST', body: huge((key) => ({ create_request: { key } })) })
    assert.equal(res.status, 429)
    assert.match(await res.text(), TOO_LARGE)
  })

  it('a later request past the limit ends the watch stream with that error, after the answers before it', async () => {
    const body = JSON.stringify({ create_request: { key: b64('a') } }) + huge((key) => ({ create_request: { key } }))
    const res = await s.app.request('/v3/watch', { method: 'POST', body })
    assert.equal(res.status, 200)
    const text = await res.text() // ends: the stream is over
    const [created, error, ...rest] = text.split('\n')
    assert.equal(JSON.parse(created as string).result.created, true)
    assert.match(error as string, TOO_LARGE)
    assert.deepEqual(rest, [])
  })

  it('a first request that does not decode is still the gateway error (500 / 2)', async () => {
    const bad = await s.app.request('/v3/watch', { method: 'POST', body: '{"create_request":{"key":5}}' })
    assert.equal(bad.status, 500)
    assert.equal((await bad.json()).code, 2)
  })
})

describe('snapshot with auth on', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember()
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/enable', {}],
    ] as const) assert.equal((await s.call(path, body)).status, 200, path)
  })
  after(() => s.stop())

  it('a caller who may not take it gets the stream error (500), as from etcd 3.4', async () => {
    const res = await s.app.request('/v3/maintenance/snapshot', { method: 'POST', body: '{}' })
    assert.equal(res.status, 500)
    assert.equal(await res.text(), '{"error":{"grpc_code":2,"http_code":500,"message":"auth: user name is empty","http_status":"Internal Server Error"}}')
    const malformed = await s.app.request('/v3/maintenance/snapshot', { method: 'POST', body: '{' })
    assert.equal(malformed.status, 400, 'a body that does not decode is the gateway\'s 400')
  })
})
