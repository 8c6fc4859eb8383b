/**
 * Where the gateway sends requests, against three fake members: writes and linearizable reads to
 * the leader, serializable reads spread, headers and bodies passed through both ways, and the
 * gateway's own answers (health, version, 404, 405, OPTIONS, CORS).
 *
 * A suite run by gateway.suite.ts against every gateway runtime (Node, and the Worker under workerd).
 */
import { after, before, beforeEach, describe } from 'node:test'
import assert from 'node:assert/strict'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post, type RunningGateway, type StartGateway, type SuiteTest } from './serve-gateway.ts'

export function routingSuite(name: string, startGateway: StartGateway, test: SuiteTest, timeout: number): void {
  describe(`gateway routing (${name})`, { timeout }, () => {
    let cluster: FakeCluster
    let gw: RunningGateway

    before(async () => {
      cluster = await FakeCluster.start(3)
      cluster.leaderId = cluster.members[1]!.id
      gw = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 2000 })
    })
    after(async () => {
      await gw.close()
      await cluster.close()
    })
    beforeEach(() => cluster.resetHits())

    test('writes go to the leader, and the answer comes back unchanged', async () => {
      for (let i = 0; i < 5; i++) {
        const { status, json } = await post(`${gw.url}/v3/kv/put`, { key: b64(`w${i}`), value: b64('v') })
        assert.equal(status, 200)
        assert.equal(json.header.member_id, cluster.members[1]!.id)
      }
      assert.deepEqual(cluster.hits('/v3/kv/put'), [0, 5, 0])
    })

    test('a linearizable range goes to the leader; a serializable one is spread over every member', async () => {
      await post(`${gw.url}/v3/kv/put`, { key: b64('r'), value: b64('1') })
      for (let i = 0; i < 3; i++) await post(`${gw.url}/v3/kv/range`, { key: b64('r') })
      assert.deepEqual(cluster.hits('/v3/kv/range'), [0, 3, 0])
      cluster.resetHits()
      for (let i = 0; i < 9; i++) {
        const { json } = await post(`${gw.url}/v3/kv/range`, { key: b64('r'), serializable: true })
        assert.equal(json.kvs[0].value, b64('1'))
      }
      assert.deepEqual(cluster.hits('/v3/kv/range'), [3, 3, 3])
    })

    test('an etcd error answer keeps its status and body; it is not retried', async () => {
      const res = await fetch(`${gw.url}/v3/kv/put`, { method: 'POST', body: '{}' })
      assert.equal(res.status, 400)
      assert.deepEqual(await res.json(), {
        error: 'etcdserver: key is not provided',
        message: 'etcdserver: key is not provided',
        code: 3,
      })
      assert.deepEqual(cluster.hits('/v3/kv/put'), [0, 1, 0])
    })

    test('the auth headers reach the member; other request headers do not', async () => {
      const seen: Record<string, string | null>[] = []
      const spy: typeof fetch = async (input, init) => {
        const h = new Headers(init?.headers)
        if (String(input).endsWith('/v3/kv/range')) {
          seen.push({ a: h.get('authorization'), t: h.get('grpc-metadata-token'), x: h.get('x-private') })
        }
        return fetch(input, init)
      }
      const app = await startGateway({ endpoints: cluster.urls, fetch: spy })
      try {
        const headers = { Authorization: 'tok1', 'Grpc-Metadata-Token': 'tok2', 'X-Private': 'no' }
        assert.equal((await post(`${app.url}/v3/kv/range`, { key: b64('r') }, headers)).status, 200)
        assert.deepEqual(seen, [{ a: 'tok1', t: 'tok2', x: null }])
      } finally {
        await app.close()
      }
    })

    test('/v3beta is an alias of /v3', async () => {
      const { status } = await post(`${gw.url}/v3beta/kv/put`, { key: b64('beta'), value: b64('x') })
      assert.equal(status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [0, 1, 0])
    })

    test('a request naming a member with Edgecd-Member goes there only', async () => {
      const third = cluster.members[2]!
      const byUrl = await post(`${gw.url}/v3/maintenance/status`, {}, { 'Edgecd-Member': third.url })
      assert.equal(byUrl.json.header.member_id, third.id)
      const byId = await post(`${gw.url}/v3/maintenance/status`, {}, { 'Edgecd-Member': cluster.members[0]!.id })
      assert.equal(byId.json.header.member_id, cluster.members[0]!.id)
      const unknown = await post(`${gw.url}/v3/maintenance/status`, {}, { 'Edgecd-Member': '424242' })
      assert.equal(unknown.status, 404)
      assert.equal(unknown.json.message, 'etcdserver: member not found')
    })

    test('GET /health: 200 {"health":"true"} as text/plain while a leader answers', async () => {
      const res = await fetch(`${gw.url}/health`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
      assert.equal(await res.text(), '{"health":"true"}')
      assert.equal((await fetch(`${gw.url}/health`, { method: 'POST' })).status, 405)
    })

    test('GET /version is passed on from a member', async () => {
      const res = await fetch(`${gw.url}/version`)
      assert.equal(res.status, 200)
      assert.equal((await res.json()).etcdserver, '3.4.23')
    })

    test('GET /metrics and /debug/vars are passed on from the leader, content type kept', async () => {
      for (let i = 0; i < 2; i++) {
        const metrics = await fetch(`${gw.url}/metrics`)
        assert.equal(metrics.status, 200)
        assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4')
        assert.equal(await metrics.text(), `fake_member{name="${cluster.members[1]!.name}"} 1\n`)
        const vars = await fetch(`${gw.url}/debug/vars`)
        assert.deepEqual(await vars.json(), { 'raft.status': { id: cluster.members[1]!.id } })
      }
      assert.deepEqual(cluster.hits('/metrics'), [0, 2, 0])
      assert.deepEqual(cluster.hits('/debug/vars'), [0, 2, 0])
    })

    test('unknown paths: 404 under /v3 ("Not Found") and elsewhere (Go\'s "404 page not found")', async () => {
      const api = await fetch(`${gw.url}/v3/kv/nothing`, { method: 'POST', body: '{}' })
      assert.equal(api.status, 404)
      assert.equal(await api.text(), 'Not Found\n')
      const other = await fetch(`${gw.url}/v3alpha/kv/range`, { method: 'POST', body: '{}' })
      assert.equal(other.status, 404)
      assert.equal(await other.text(), '404 page not found\n')
      assert.deepEqual(cluster.hits('/v3/kv/nothing'), [0, 0, 0])
    })

    test('GET on an API path: 405 Method Not Allowed, text/plain, nothing forwarded', async () => {
      const res = await fetch(`${gw.url}/v3/kv/range`)
      assert.equal(res.status, 405)
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
      assert.equal(await res.text(), 'Method Not Allowed\n')
      assert.deepEqual(cluster.hits('/v3/kv/range'), [0, 0, 0])
    })

    test('OPTIONS: 200 with an empty body; CORS headers on every answer', async () => {
      const res = await fetch(`${gw.url}/v3/kv/range`, { method: 'OPTIONS' })
      assert.equal(res.status, 200)
      assert.equal(await res.text(), '')
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      const put = await fetch(`${gw.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64('c') }) })
      await put.arrayBuffer()
      assert.equal(put.headers.get('access-control-allow-methods'), 'POST, GET, OPTIONS, PUT, DELETE')
      assert.equal(put.headers.get('access-control-allow-headers'), 'accept, content-type, authorization')
      assert.deepEqual(cluster.hits('/v3/kv/range'), [0, 0, 0])
    })
  })
}
