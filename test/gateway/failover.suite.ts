/**
 * What the gateway retries and what it must not: a dead leader is replaced, a refused connection
 * moves on to the next member, a not-leader answer is retried, while a write that may have
 * reached a member (hung past the deadline, or its connection reset) is never sent twice.
 * Request counts at the fake members are the evidence.
 *
 * A suite run by gateway.suite.ts against every gateway runtime (Node, and the Worker under workerd).
 */
import { afterEach, beforeEach, describe } from 'node:test'
import assert from 'node:assert/strict'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post, type RunningGateway, type StartGateway, type SuiteTest } from './serve-gateway.ts'

export function failoverSuite(name: string, startGateway: StartGateway, test: SuiteTest, timeout: number): void {
  describe(`gateway failover (${name})`, { timeout }, () => {
    let cluster: FakeCluster
    let gw: RunningGateway

    beforeEach(async () => {
      cluster = await FakeCluster.start(3)
      gw = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 1000, retryBackoffMs: 10 })
    })
    afterEach(async () => {
      await gw.close()
      await cluster.close()
    })

    const put = (key: string): Promise<{ status: number; json: any }> =>
      post(`${gw.url}/v3/kv/put`, { key: b64(key), value: b64('v') })

    test('the leader is killed: the gateway finds the new one and keeps serving', async () => {
      assert.equal((await put('a')).status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
      await cluster.members[0]!.stop()
      cluster.leaderId = cluster.members[2]!.id
      cluster.term++
      for (const key of ['b', 'c', 'd']) {
        const { status, json } = await put(key)
        assert.equal(status, 200)
        assert.equal(json.header.member_id, cluster.members[2]!.id)
      }
      assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 3])
      assert.equal(cluster.kvs.size, 4)
    })

    test("a leadership transfer: the old leader's hint moves the gateway on, without a probe", async () => {
      assert.equal((await put('warm')).status, 200)
      const probes = cluster.hits('/v3/maintenance/status').reduce((a, b) => a + b)
      cluster.leaderId = cluster.members[2]!.id
      cluster.term++
      // The old leader still answers (a follower forwards); its answer names the new leader.
      const first = await post(`${gw.url}/v3/kv/put`, { key: b64('one'), value: b64('v') })
      assert.equal(first.status, 200)
      assert.equal(first.headers.get('x-edgecd-leader'), null, 'the hint is not passed on to clients')
      for (const key of ['two', 'three']) assert.equal((await put(key)).status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [2, 0, 2])
      assert.equal(cluster.hits('/v3/maintenance/status').reduce((a, b) => a + b), probes)
    })

    test('connection refused: a write moves on to a live member, which forwards it', async () => {
      await cluster.members[0]!.stop()
      const { status } = await put('x')
      assert.equal(status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [0, 1, 0])
      assert.equal(cluster.kvs.get(b64('x'))?.version, 1)
    })

    test('connection refused: serializable reads skip the dead member and keep spreading', async () => {
      await cluster.members[1]!.stop()
      for (let i = 0; i < 6; i++) {
        const { status } = await post(`${gw.url}/v3/kv/range`, { key: b64('k'), serializable: true })
        assert.equal(status, 200)
      }
      const [a, b, c] = cluster.hits('/v3/kv/range')
      assert.equal(b, 0)
      assert.ok(a! >= 2 && c! >= 2, `spread over the live members: ${a}, ${c}`)
    })

    test('a write whose member hangs past the deadline is not retried: 503 request timed out', async () => {
      cluster.members[0]!.hang.add('/v3/kv/put')
      const started = Date.now()
      const { status, json } = await put('slow')
      assert.ok(Date.now() - started >= 990, 'waited for the deadline')
      assert.equal(status, 503)
      assert.deepEqual(json, { error: 'etcdserver: request timed out', message: 'etcdserver: request timed out', code: 14 })
      assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
    })

    test('the leader hangs (a paused process): the write in flight times out, the next go to the new leader', async () => {
      assert.equal((await put('warm')).status, 200)
      for (const path of ['/v3/kv/put', '/v3/maintenance/status']) cluster.members[0]!.hang.add(path)
      cluster.leaderId = cluster.members[2]!.id
      cluster.term++
      const stuck = await put('stuck')
      assert.deepEqual([stuck.status, stuck.json.message], [503, 'etcdserver: request timed out'])
      for (const key of ['after1', 'after2']) {
        const { status, json } = await put(key)
        assert.equal(status, 200)
        assert.equal(json.header.member_id, cluster.members[2]!.id)
      }
      assert.deepEqual(cluster.hits('/v3/kv/put'), [2, 0, 2], 'the hung leader got one write only')
    })

    test('the leader hangs and the caller gives up before the deadline: the next writes go to the new leader', async () => {
      const patient = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 4000, retryBackoffMs: 10 })
      try {
        const putOn = (key: string, signal?: AbortSignal): Promise<Response> =>
          fetch(`${patient.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64('v') }), signal })
        assert.equal((await putOn('warm')).status, 200)
        for (const path of ['/v3/kv/put', '/v3/maintenance/status']) cluster.members[0]!.hang.add(path)
        cluster.leaderId = cluster.members[2]!.id
        cluster.term++
        await assert.rejects(putOn('stuck', AbortSignal.timeout(1800)), 'the caller gave up')
        const started = Date.now()
        const next = await putOn('after')
        assert.equal(next.status, 200)
        assert.equal((await next.json()).header.member_id, cluster.members[2]!.id)
        assert.ok(Date.now() - started < 1000, 'the next write did not wait on the hung leader')
      } finally {
        await patient.close()
      }
    })

    test('a write whose connection is reset after it was sent is not retried', async () => {
      cluster.members[0]!.reset.add('/v3/kv/put')
      const { status, json } = await put('reset')
      assert.equal(status, 503)
      assert.equal(json.code, 14)
      assert.equal(json.message, 'etcdserver: request timed out, possibly due to connection lost')
      assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
    })

    test('an idempotent read whose connection is reset is retried on another member', async () => {
      cluster.members[0]!.reset.add('/v3/kv/range')
      const { status } = await post(`${gw.url}/v3/kv/range`, { key: b64('k') })
      assert.equal(status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/range'), [1, 1, 0])
    })

    test('a 503 "no leader" answer is retried after a refresh, reaching the new leader', async () => {
      assert.equal((await put('warm')).status, 200)
      cluster.members[0]!.refuseWrites = 1
      cluster.leaderId = cluster.members[1]!.id
      const { status, json } = await put('moved')
      assert.equal(status, 200)
      assert.equal(json.header.member_id, cluster.members[1]!.id)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [2, 1, 0])
    })

    test('"no leader" until the deadline: retried with backoff, never applied, 503 in the end', async () => {
      const patient = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 1500, retryBackoffMs: 10 })
      try {
        for (const m of cluster.members) m.refuseWrites = 1000
        const { status, json } = await post(`${patient.url}/v3/kv/put`, { key: b64('never'), value: b64('v') })
        assert.equal(status, 503)
        assert.equal(json.code, 14)
        // The last answer, or, when the deadline cut the last attempt short, the unknown outcome.
        assert.ok(['etcdserver: no leader', 'etcdserver: request timed out'].includes(json.message), json.message)
        const tries = cluster.hits('/v3/kv/put').reduce((a, b) => a + b)
        assert.ok(tries >= 3, `retried with backoff (${tries} tries)`)
        assert.equal(cluster.kvs.size, 0)
      } finally {
        await patient.close()
      }
    })

    test('no member reachable: 503 etcdserver: unhealthy cluster (code 14), and /health says false', async () => {
      for (const m of cluster.members) await m.stop()
      const { status, json } = await put('nowhere')
      assert.equal(status, 503)
      assert.deepEqual(json, { error: 'etcdserver: unhealthy cluster', message: 'etcdserver: unhealthy cluster', code: 14 })
      const health = await fetch(`${gw.url}/health`)
      assert.equal(health.status, 503)
      assert.equal(await health.text(), '{"health":"false"}\n')
    })

    test('autoSync: a gateway told of one member learns the others from member/list and survives its loss', async () => {
      const synced = await startGateway({ endpoints: [cluster.urls[0]!], autoSync: true, requestTimeoutMs: 1000 })
      try {
        assert.equal((await put('s1')).status, 200)
        assert.equal((await post(`${synced.url}/v3/kv/put`, { key: b64('s2'), value: b64('v') })).status, 200)
        await cluster.members[0]!.stop()
        cluster.leaderId = cluster.members[1]!.id
        const { status, json } = await post(`${synced.url}/v3/kv/put`, { key: b64('s3'), value: b64('v') })
        assert.equal(status, 200)
        assert.equal(json.header.member_id, cluster.members[1]!.id)
      } finally {
        await synced.close()
      }
    })

    test('a cluster without a leader is unhealthy even though every member answers', async () => {
      cluster.leaderId = '0'
      const health = await fetch(`${gw.url}/health`)
      assert.equal(health.status, 503)
      assert.equal(await health.text(), '{"health":"false"}\n')
    })
  })
}
