/**
 * etcd's "require leader" (clientv3.WithRequireLeader; over JSON `Grpc-Metadata-Hasleader: true`)
 * on a member cut off from its cluster: its marked streams end with `etcdserver: no leader` within
 * a few election timeouts (a JSON watch on it, one through the gateway, etcdctl's watch over gRPC),
 * unmarked ones stay open, and new marked calls are refused at once, as etcd 3.4 does.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { killOnExit } from '../kill-on-exit.ts'
import { b64, LineStream, post, useCluster } from './cluster-harness.ts'

const HASLEADER = { 'Grpc-Metadata-Hasleader': 'true' }
const NO_LEADER_LINE = { error: { grpc_code: 14, http_code: 503, message: 'etcdserver: no leader', http_status: 'Service Unavailable' } }
const ELECTION_MS = 600

describe('require leader', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true, heartbeatMs: 60, electionMs: ELECTION_MS })

  test('a member without a leader ends the streams that require one and refuses new calls that do', async () => {
    const leader = await cluster.leader()
    const cutOff = cluster.memberNames.find((n) => n !== leader.name) as string
    const url = cluster.url(cutOff)
    const create = { create_request: { key: b64('rl/k') } }
    const marked = await LineStream.open(url, '/v3/watch', create, 10_000, HASLEADER)
    const unmarked = await LineStream.open(url, '/v3/watch', create)
    const viaGateway = await LineStream.open(cluster.gatewayUrl, '/v3/watch', create, 10_000, { ...HASLEADER, 'Edgecd-Member': url })
    const etcdctl = new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile('etcdctl', [`--endpoints=${new URL(url).host}`, 'watch', 'rl/k'], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout + stderr }),
      )
      killOnExit(child)
    })
    try {
      for (const s of [marked, unmarked, viaGateway]) assert.equal((await s.next()).result.created, true)
      const serializable = { key: b64('rl/k'), serializable: true }
      assert.equal((await post(url, '/v3/kv/range', serializable)).status, 200)
      for (const n of cluster.memberNames) if (n !== cutOff) await cluster.kill(n)
      assert.deepEqual(await marked.next(8 * ELECTION_MS), NO_LEADER_LINE)
      assert.equal(await marked.next(1000), null, 'the answer ends after the error line')
      assert.deepEqual(await viaGateway.next(4 * ELECTION_MS), NO_LEADER_LINE, 'through the gateway')
      const watched = await etcdctl
      assert.notEqual(watched.code, 0, watched.out)
      assert.match(watched.out, /etcdserver: no leader/)
      await unmarked.expectQuiet(500)

      // New calls: a marked one is refused at once, an unmarked serializable read is served.
      const refused = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify(serializable), headers: HASLEADER })
      assert.equal(refused.status, 503)
      assert.deepEqual(await refused.json(), { error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14 })
      const badFirst = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: 'garbage', headers: HASLEADER })
      assert.equal(badFirst.status, 400, 'the request is decoded before the leader is looked for')
      assert.equal((await post(url, '/v3/kv/range', serializable)).status, 200)
      const stream = await fetch(`${url}/v3/watch`, { method: 'POST', body: JSON.stringify(create), headers: HASLEADER })
      assert.equal(stream.status, 503)
      assert.equal(await stream.text(), JSON.stringify(NO_LEADER_LINE), 'the stream-error line, without a newline')
      const falseValue = await fetch(`${url}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify(serializable),
        headers: { 'Grpc-Metadata-Hasleader': 'TRUE' },
      })
      assert.equal(falseValue.status, 200, 'only `true` asks for a leader')
    } finally {
      for (const s of [marked, unmarked, viaGateway]) s.close()
    }
  })
})
