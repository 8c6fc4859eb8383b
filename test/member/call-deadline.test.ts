/**
 * A call's `Grpc-Timeout`, kept as etcd 3.4 keeps it (answers observed on etcd): a bad value is
 * 400 / 3 before the body is read; a unary call past its deadline is 504 / 4 `context deadline
 * exceeded`, and a lock waiting then leaves the line; a stream ends on the stream-error line
 * (500 / 2); a deadline already passed runs nothing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

const DEADLINE = { error: 'context deadline exceeded', message: 'context deadline exceeded', code: 4 }

describe('Grpc-Timeout', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember()
  })
  after(() => s.stop())

  it('a bad value is refused before the request is decoded', async () => {
    for (const path of ['/v3/kv/range', '/v3/watch', '/v3/lease/keepalive']) {
      const r = await s.app.request(path, { method: 'POST', body: '{"key', headers: { 'Grpc-Timeout': '1x' } })
      assert.equal(r.status, 400, path)
      assert.deepEqual(await r.json(), { error: 'invalid grpc-timeout: 1x', message: 'invalid grpc-timeout: 1x', code: 3 }, path)
    }
  })

  it('a call done in time is answered; zero is no deadline', async () => {
    for (const timeout of ['5S', '0S', '']) {
      const r = await s.call('/v3/kv/put', { key: b64('k'), value: b64(timeout) }, { 'Grpc-Timeout': timeout })
      assert.equal(r.status, 200, r.text)
    }
  })

  it('a deadline already passed runs nothing', async () => {
    const before = (await s.call('/v3/kv/range', { key: b64('k') })).json.header.revision
    const r = await s.call('/v3/kv/put', { key: b64('k'), value: b64('late') }, { 'Grpc-Timeout': '-1S' })
    assert.deepEqual([r.status, r.json], [504, DEADLINE])
    const now = (await s.call('/v3/kv/range', { key: b64('k') })).json
    assert.deepEqual([now.header.revision, Buffer.from(now.kvs[0].value ?? '', 'base64').toString()], [before, ''])
  })

  it('a lock waiting past its deadline is 504 / 4 and leaves the line; nobody gets the lock later', async () => {
    const lease = (ttl: number, id: number): Promise<unknown> => s.call('/v3/lease/grant', { TTL: ttl, ID: id })
    await lease(60, 101)
    await lease(60, 102)
    const held = await s.call('/v3/lock/lock', { name: b64('dl'), lease: 101 })
    const keys = async (): Promise<string[]> =>
      ((await s.call('/v3/kv/range', { key: b64('dl/'), range_end: b64('dl0'), keys_only: true })).json.kvs ?? [])
        .map((kv: { key: string }) => Buffer.from(kv.key, 'base64').toString())
    const started = performance.now()
    const r = await s.call('/v3/lock/lock', { name: b64('dl'), lease: 102 }, { 'Grpc-Timeout': '300m' })
    const ms = performance.now() - started
    assert.deepEqual([r.status, r.json], [504, DEADLINE])
    assert.ok(ms >= 290 && ms < 3000, `answered after ${ms} ms`)
    for (let i = 0; i < 50 && (await keys()).length > 1; i++) await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(await keys(), ['dl/65'], 'the waiter left the line')
    await s.call('/v3/lock/unlock', { key: held.json.key })
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(await keys(), [], 'nobody holds the lock')
  })

  it('a watch ends at its deadline on the stream-error line', async () => {
    const started = performance.now()
    const res = await s.app.request('/v3/watch', {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('w') } }),
      headers: { 'Grpc-Timeout': '300m' },
    })
    assert.equal(res.status, 200)
    const [created, error, ...rest] = (await res.text()).split('\n') // ends: the stream is over
    assert.ok(performance.now() - started >= 290)
    assert.equal(JSON.parse(created as string).result.created, true)
    assert.equal(error, '{"error":{"grpc_code":2,"http_code":500,"message":"context deadline exceeded","http_status":"Internal Server Error"}}')
    assert.deepEqual(rest, [])
  })

  it('a stream whose deadline has passed is refused as a unary call', async () => {
    const res = await s.app.request('/v3/watch', {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('w') } }),
      headers: { 'Grpc-Timeout': '-5m' },
    })
    assert.deepEqual([res.status, await res.json()], [504, DEADLINE])
  })
})
