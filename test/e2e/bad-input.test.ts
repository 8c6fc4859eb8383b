/**
 * Bad requests against real processes (a follower, the leader, and the gateway): malformed JSON,
 * bad base64, wrong types, oversized requests, unknown paths, wrong methods, missing keys,
 * future and compacted revisions, unknown leases. Each gets etcd 3.4's exact status and body
 * (shared/etcd-v3-http-api.md), and every process keeps serving afterwards.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { b64, call, LineStream, post, prefixEnd, STEADY_TIMING, useCluster } from './cluster-harness.ts'

/** etcd's error body, byte for byte. */
function errorBody(message: string, code: number): string {
  return JSON.stringify({ error: message, message, code })
}

const STATUS_OF: Readonly<Record<number, number>> = { 2: 500, 3: 400, 5: 404, 8: 429, 9: 412, 11: 400 }

describe('bad input', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true, ...STEADY_TIMING })

  async function expectError(path: string, body: unknown, message: string, code: number): Promise<void> {
    for (const [where, url] of await cluster.clientEndpoints()) {
      const res = await post(url, path, body)
      assert.equal(res.status, STATUS_OF[code], `${where} ${path} ${String(body).slice(0, 80)}: ${res.text}`)
      assert.equal(res.text, errorBody(message, code), `${where} ${path}`)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    }
  }

  test('malformed JSON and wrong types: Go decoder messages, 400 / 3', async () => {
    const cases: Array<[string, string]> = [
      ['{"key":"Zm9v"', 'unexpected EOF'],
      ['[]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
      ['{"key":123}', 'json: cannot unmarshal number into Go value of type []uint8'],
      ['{"key":"!!!"}', 'illegal base64 data at input byte 0'],
      ['{"key":"Zm9vYg"}', 'illegal base64 data at input byte 4'],
      ['{"key":"Zm9v","keys_only":"true"}', 'json: cannot unmarshal string into Go value of type bool'],
      ['{"key":"Zm9v","limit":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
      ['{"key":"Zm9v","limit":"abc"}', "invalid character 'a' looking for beginning of value"],
      [
        '{"key":"Zm9v","limit":"9223372036854775808"}',
        'json: cannot unmarshal number 9223372036854775808 into Go value of type int64',
      ],
      ['{"key":"Zm9v","sort_order":"BOGUS"}', 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder'],
    ]
    for (const [body, message] of cases) await expectError('/v3/kv/range', body, message, 3)
    await expectError('/v3/kv/put', '{"key":"Zm9v","value":"not base64!"}', 'illegal base64 data at input byte 3', 3)
  })

  test('missing keys and invalid combinations: etcdserver messages, 400 / 3', async () => {
    await expectError('/v3/kv/range', '', 'etcdserver: key is not provided', 3)
    await expectError('/v3/kv/range', {}, 'etcdserver: key is not provided', 3)
    await expectError('/v3/kv/range', { key: '', range_end: b64('z') }, 'etcdserver: key is not provided', 3)
    await expectError('/v3/kv/put', { value: b64('v') }, 'etcdserver: key is not provided', 3)
    await expectError('/v3/kv/deleterange', {}, 'etcdserver: key is not provided', 3)
    const both = { key: b64('bi/x'), value: b64('v'), ignore_value: true }
    await expectError('/v3/kv/put', both, 'etcdserver: value is provided', 3)
    await expectError('/v3/kv/put', { key: b64('bi/missing'), ignore_value: true }, 'etcdserver: key not found', 3)
    const puts = Array.from({ length: 129 }, (_, i) => ({ request_put: { key: b64(`bi/m/${i}`), value: b64('x') } }))
    await expectError('/v3/kv/txn', { success: puts }, 'etcdserver: too many operations in txn request', 3)
    const dup = [{ request_put: { key: b64('bi/d') } }, { request_put: { key: b64('bi/d') } }]
    await expectError('/v3/kv/txn', { success: dup }, 'etcdserver: duplicate key given in txn request', 3)
  })

  test('unknown leases, future revisions, too large TTLs', async () => {
    const NO_LEASE = 'etcdserver: requested lease not found'
    await expectError('/v3/kv/put', { key: b64('bi/l'), value: b64('v'), lease: 123 }, NO_LEASE, 5)
    await expectError('/v3/lease/revoke', { ID: 123 }, NO_LEASE, 5)
    await expectError(
      '/v3/kv/txn',
      { success: [{ request_put: { key: b64('bi/l'), value: b64('v'), lease: '123' } }] },
      NO_LEASE,
      5,
    )
    const future = 'etcdserver: mvcc: required revision is a future revision'
    await expectError('/v3/kv/range', { key: b64('bi/x'), revision: 1_000_000 }, future, 11)
    await expectError('/v3/lease/grant', { TTL: '9000000001' }, 'etcdserver: too large lease TTL', 11)
    await expectError('/v3/cluster/member/remove', { ID: 42 }, 'etcdserver: member not found', 5)
    await expectError('/v3/cluster/member/add', {}, 'etcdserver: given member URLs are invalid', 3)
    // None of these used a revision.
    const r = await call(cluster.url('m1'), '/v3/kv/range', { key: b64('bi/'), range_end: prefixEnd('bi/') })
    assert.equal(r.kvs, undefined)
  })

  test('oversized requests: 2 MiB → 429 / 8 (gRPC limit), 1.5 MiB → 400 / 3, 1 MiB is accepted', async () => {
    const big = (bytes: number): string =>
      JSON.stringify({ key: 'YmlnCg==', value: Buffer.alloc(bytes, 97).toString('base64') })
    const grpcLimit = 'grpc: received message larger than max (2097163 vs. 2097152)'
    await expectError('/v3/kv/put', big(2 * 1024 * 1024), grpcLimit, 8)
    await expectError('/v3/kv/put', big(1536 * 1024), 'etcdserver: request is too large', 3)
    // Just under --max-request-bytes, through a follower: proposed, replicated, readable everywhere.
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const ok = await post(cluster.url(follower), '/v3/kv/put', big(1536 * 1024 - 100))
    assert.equal(ok.status, 200, ok.text)
    for (const n of cluster.memberNames) {
      const r = await call(cluster.url(n), '/v3/kv/range', { key: 'YmlnCg==', keys_only: true })
      assert.equal(r.kvs[0].mod_revision, ok.json.header.revision, n)
    }
    const oneMiB = await post(cluster.gatewayUrl, '/v3/kv/put', big(1024 * 1024))
    assert.equal(oneMiB.status, 200, oneMiB.text)
  })

  test("unknown paths are 404, a GET on an API path is 405 (text/plain), etcd's pages answer their methods as etcd", async () => {
    for (const [where, url] of await cluster.clientEndpoints()) {
      const missing = await post(url, '/v3/kv/nothing', {})
      // Go's http.Error ends the text with a newline.
      assert.deepEqual([missing.status, missing.text], [404, 'Not Found\n'], where)
      assert.equal(missing.headers.get('content-type'), 'text/plain; charset=utf-8', where)
      const alpha = await post(url, '/v3alpha/kv/range', { key: b64('x') })
      assert.deepEqual([alpha.status, alpha.text], [404, '404 page not found\n'], where)
      const get = await post(url, '/v3/kv/range', undefined, { method: 'GET' })
      assert.deepEqual([get.status, get.text], [405, 'Method Not Allowed\n'], where)
      assert.equal(get.headers.get('content-type'), 'text/plain; charset=utf-8', where)
      // etcd's own pages: GET only (HEAD included: 405 with Allow: GET); /metrics to any method.
      for (const path of ['/health', '/version', '/debug/vars'])
        for (const method of ['HEAD', 'POST', 'PUT', 'DELETE']) {
          const res = await fetch(url + path, { method })
          assert.deepEqual([res.status, res.headers.get('allow')], [405, 'GET'], `${where} ${method} ${path}`)
          assert.equal(await res.text(), method === 'HEAD' ? '' : 'Method Not Allowed\n', `${where} ${method} ${path}`)
        }
      for (const method of ['HEAD', 'POST']) {
        const metrics = await fetch(`${url}/metrics`, { method })
        assert.equal(metrics.status, 200, `${where} ${method} /metrics`)
        assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, `${where} ${method} /metrics`)
      }
    }
  })

  test("a path that is not clean is redirected (301) to the clean one with no Content-Type, dot segments included, and /v3 to /v3/, as Go's mux", async () => {
    // fetch (and node:http given a URL) would clean the path itself: given a path, node:http sends it as written.
    const raw = (url: string, path: string): Promise<{ status: number; location: string | undefined; type: string | undefined }> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(url)
        const req = httpRequest({ hostname, port, path, method: 'POST' }, (res) => {
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, type: res.headers['content-type'] }))
        })
        req.on('error', reject)
        req.end('{}')
      })
    for (const [where, url] of await cluster.clientEndpoints())
      for (const [path, location] of [
        ['/v3/kv/./range?a=1', '/v3/kv/range?a=1'],
        ['/v3/kv/%2e/range', '/v3/kv/range'],
        ['/v3/kv/../kv/range', '/v3/kv/range'],
        ['/v3//kv/range', '/v3/kv/range'],
        ['/v3?x=1', '/v3/?x=1'],
      ])
        assert.deepEqual(await raw(url, path), { status: 301, location, type: undefined }, `${where} ${path}`)
  })

  test("request headers up to Go's 1 MiB are read, as etcd's server reads them (Node's default stops at 16 KiB)", async () => {
    for (const [where, url] of await cluster.clientEndpoints()) {
      const res = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('x') }), headers: { 'x-padding': 'p'.repeat(200_000) } })
      assert.equal(res.status, 200, where)
      assert.match(await res.text(), /"header"/, where)
    }
  })

  test('OPTIONS on any path is the CORS preflight, and every answer carries the CORS headers (as etcd)', async () => {
    const cors = {
      'access-control-allow-headers': 'accept, content-type, authorization',
      'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
      'access-control-allow-origin': '*',
    }
    const corsOf = (res: Response): Record<string, string | null> =>
      Object.fromEntries(Object.keys(cors).map((name) => [name, res.headers.get(name)]))
    for (const [where, url] of await cluster.clientEndpoints()) {
      for (const path of ['/health', '/version', '/metrics', '/v3/kv/range', '/nothing']) {
        const options = await fetch(url + path, { method: 'OPTIONS' })
        assert.deepEqual([options.status, await options.text()], [200, ''], `${where} OPTIONS ${path}`)
        assert.deepEqual(corsOf(options), cors, `${where} OPTIONS ${path}`)
        // etcd's preflight has no body and so no content type.
        assert.equal(options.headers.get('content-type'), null, `${where} OPTIONS ${path}`)
        const get = await fetch(url + path)
        await get.arrayBuffer()
        assert.deepEqual(corsOf(get), cors, `${where} GET ${path}`)
      }
    }
  })

  test("a request asking to upgrade to h2c (curl --http2) or anything but a WebSocket is answered as HTTP/1.1", async () => {
    for (const [where, url] of await cluster.clientEndpoints()) {
      const { port } = new URL(url)
      const body = JSON.stringify({ key: b64('up/a'), value: b64('v') })
      const upgrade = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n'
      const put = `POST /v3/kv/put HTTP/1.1\r\nHost: x\r\n${upgrade}Content-Length: ${body.length}\r\n\r\n${body}`
      const health = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n'
      // One after the other on one connection, as curl reuses it.
      const answer = await new Promise<string>((resolve) => {
        let text = ''
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(put))
        socket.on('data', (d: Buffer) => {
          const first = !text.includes('"revision"')
          text += d.toString('latin1')
          if (first && text.includes('"revision"')) socket.write(health)
          if (text.includes('"health"')) socket.destroy()
        })
        socket.on('close', () => resolve(text))
        setTimeout(() => socket.destroy(), 5000)
      })
      assert.equal(answer.match(/HTTP\/1\.1 200 OK/g)?.length, 2, `${where}: ${answer}`)
      assert.match(answer, /"revision":"\d+"/, where)
    }
  })

  test('after a compaction: reads and watches below it fail with the compacted error', async () => {
    const COMPACTED = 'etcdserver: mvcc: required revision has been compacted'
    const first = await call(cluster.url('m1'), '/v3/kv/put', { key: b64('bi/c'), value: b64('1') })
    await call(cluster.url('m2'), '/v3/kv/put', { key: b64('bi/c'), value: b64('2') })
    const third = await call(cluster.url('m3'), '/v3/kv/put', { key: b64('bi/c'), value: b64('3') })
    const at = Number(third.header.revision)
    await call(cluster.gatewayUrl, '/v3/kv/compaction', { revision: at, physical: true })
    // Every member applies the compaction; a read below it fails, at it succeeds.
    for (const n of cluster.memberNames) {
      const below = await post(cluster.url(n), '/v3/kv/range', { key: b64('bi/c'), revision: first.header.revision })
      assert.deepEqual([below.status, below.text], [400, errorBody(COMPACTED, 11)], n)
      const exact = await call(cluster.url(n), '/v3/kv/range', { key: b64('bi/c'), revision: at })
      assert.equal(exact.kvs[0].mod_revision, String(at), n)
    }
    await expectError('/v3/kv/compaction', { revision: at }, COMPACTED, 11)
    await expectError('/v3/kv/compaction', {}, COMPACTED, 11)
    await expectError(
      '/v3/kv/txn',
      { success: [{ request_range: { key: b64('bi/c'), revision: first.header.revision } }] },
      COMPACTED,
      11,
    )
    // A watch from below the compaction: created, then canceled with the compact revision.
    for (const [where, url] of await cluster.clientEndpoints()) {
      const create = { key: b64('bi/c'), start_revision: first.header.revision }
      const w = await LineStream.open(url, '/v3/watch', { create_request: create })
      try {
        assert.equal((await w.next()).result.created, true, where)
        const canceled = (await w.next()).result
        assert.equal(canceled.canceled, true, where)
        assert.equal(canceled.compact_revision, String(at), where)
        assert.equal(canceled.header.revision, undefined, `${where}: a compaction cancel has no header revision`)
      } finally {
        w.close()
      }
    }
  })

  test('every process still serves: a write through each endpoint is read back everywhere', async () => {
    cluster.assertAlive()
    for (const [where, url] of await cluster.clientEndpoints()) {
      const health = await post(url, '/health', undefined, { method: 'GET' })
      assert.deepEqual([health.status, health.text], [200, '{"health":"true"}'], where)
      const put = await call(url, '/v3/kv/put', { key: b64('bi/after'), value: b64(where) })
      for (const n of cluster.memberNames) {
        const r = await call(cluster.url(n), '/v3/kv/range', { key: b64('bi/after') })
        assert.equal(r.kvs[0].mod_revision, put.header.revision, `${n} after a put through ${where}`)
      }
    }
    cluster.assertAlive()
  })
})
