/**
 * A member without a leader, as etcd 3.4 behaves (observed with etcdctl on both):
 *
 * - once it has known one, a write or a linearizable read made while there is none waits for
 *   one, until its request timeout, instead of failing at once with `no leader`: a short
 *   election costs a client some latency, not an error;
 * - a member that starts (again) serves clients only once it has known a leader, as etcd serves
 *   them only once it has joined its cluster: started without a quorum it answers nothing, not
 *   even a serializable read of what may be stale, and a watch opened on it waits instead of
 *   being cancelled for want of a leader.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, eventually, LineStream, post, sleep, useCluster, type HttpAnswer } from './cluster-harness.ts'

/** `pending`'s answer, or null while it has none after `ms`. */
async function answerWithin(pending: Promise<HttpAnswer>, ms: number): Promise<HttpAnswer | null> {
  return Promise.race([pending, sleep(ms).then(() => null)])
}

describe('without a leader', { timeout: 120_000 }, () => {
  const cluster = useCluster({ heartbeatMs: 60, electionMs: 600 })

  test('a write and a linearizable read wait for a leader, and go through once there is one', async () => {
    const leader = await cluster.leader()
    const survivor = cluster.memberNames.find((n) => n !== leader.name) as string
    const url = cluster.url(survivor)
    const others = cluster.memberNames.filter((n) => n !== survivor)
    for (const n of others) await cluster.kill(n)
    // It notices it has no leader within a few election timeouts.
    await sleep(3000)
    const put = post(url, '/v3/kv/put', { key: b64('nl/k'), value: b64('v') }, { timeoutMs: 30_000 })
    const read = post(url, '/v3/kv/range', { key: b64('nl/k') }, { timeoutMs: 30_000 })
    // Restarted at once: the calls wait at most the member's request timeout (5 s + two election
    // timeouts), and a member takes more than a second to start (several on a busy machine),
    // so no leader can be there within the next second.
    const restarted = cluster.restart(others[0] as string)
    assert.equal(await answerWithin(put, 1000), null, 'the write waits for a leader')
    assert.equal(await answerWithin(read, 10), null, 'the read waits for a leader')
    await restarted
    const [written, got] = await Promise.all([put, read])
    assert.equal(written.status, 200, written.text)
    assert.equal(got.status, 200, got.text)
    const after = await post(url, '/v3/kv/range', { key: b64('nl/k') })
    assert.equal(after.json.kvs[0].value, b64('v'))
    await cluster.restart(others[1] as string)
    await cluster.waitForLeader(20_000)
    await cluster.waitForConvergence()
  })

  test('a member started without a quorum serves nothing until it has a leader', async () => {
    for (const n of cluster.memberNames) await cluster.kill(n, 'SIGTERM')
    const [first, second] = cluster.memberNames as [string, string]
    await cluster.restart(first)
    const url = cluster.url(first)
    // It listens (its /health answers, false without a leader), but serves no call yet.
    await eventually('it listens', async () => assert.equal((await fetch(`${url}/health`)).status, 503))
    const serializable = post(url, '/v3/kv/range', { key: b64('nl/k'), serializable: true }, { timeoutMs: 30_000 })
    const watch = LineStream.open(url, '/v3/watch', { create_request: { key: b64('nl/k') } }, 30_000, { 'Grpc-Metadata-Hasleader': 'true' })
    assert.equal(await answerWithin(serializable, 2000), null, 'a serializable read waits for the cluster')
    await cluster.restart(second)
    const got = await serializable
    assert.equal(got.status, 200, got.text)
    assert.equal(got.json.kvs[0].value, b64('v'))
    const stream = await watch
    try {
      const first = await stream.next()
      assert.equal(first?.result?.created, true, `the watch is created, not cancelled: ${JSON.stringify(first)}`)
    } finally {
      stream.close()
    }
    for (const n of cluster.memberNames) if (!cluster.isRunning(n)) await cluster.restart(n)
  })
})
