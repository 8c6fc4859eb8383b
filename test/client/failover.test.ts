/**
 * The client's failover over its endpoints: a refused endpoint is skipped for any call, a
 * not-proposed answer is retried, a write that may have been applied is never sent twice, and a
 * pinned call goes to its endpoint only. Request counts at the fake members are the evidence.
 */
import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, EtcdError } from '../../src/client/index.ts'
import { FakeCluster } from '../gateway/fake-cluster.ts'

describe('client failover', { timeout: 30_000 }, () => {
  let cluster: FakeCluster

  beforeEach(async () => {
    cluster = await FakeCluster.start(3)
  })
  afterEach(async () => {
    await cluster.close()
  })

  test('a refused endpoint is skipped, for reads and writes, and the next call starts at the good one', async () => {
    await cluster.members[0]!.stop()
    const client = createClient({ endpoints: cluster.urls, timeoutMs: 1000 })
    await client.kv.put('a', '1')
    assert.equal((await client.kv.get('a')).count, 1)
    assert.deepEqual(cluster.hits('/v3/kv/put'), [0, 1, 0])
    assert.deepEqual(cluster.hits('/v3/kv/range'), [0, 1, 0])
  })

  test('a write that hangs past the deadline is not retried: EtcdError request timed out', async () => {
    cluster.members[0]!.hang.add('/v3/kv/put')
    const client = createClient({ endpoints: cluster.urls, timeoutMs: 300 })
    await assert.rejects(client.kv.put('slow', 'x'), (e: unknown) => {
      assert.ok(e instanceof EtcdError)
      assert.deepEqual([e.code, e.message], [14, 'etcdserver: request timed out'])
      return true
    })
    assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
  })

  test('a write whose connection is reset is not retried; a read is', async () => {
    cluster.members[0]!.reset.add('/v3/kv/put')
    cluster.members[0]!.reset.add('/v3/kv/range')
    const client = createClient({ endpoints: cluster.urls, timeoutMs: 1000 })
    await assert.rejects(client.kv.put('r', 'x'), { code: 14, message: 'etcdserver: request timed out, possibly due to connection lost' })
    assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
    assert.equal((await client.kv.get('r')).count, 0)
    assert.deepEqual(cluster.hits('/v3/kv/range'), [1, 1, 0])
  })

  test('a "no leader" answer to a write is retried on the next endpoint', async () => {
    cluster.members[0]!.refuseWrites = 1
    const client = createClient({ endpoints: cluster.urls, timeoutMs: 1000 })
    await client.kv.put('n', 'x')
    assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 1, 0])
    assert.equal(cluster.kvs.size, 1)
  })

  test('every endpoint refused: rounds until the deadline, then EtcdError Unavailable', async () => {
    for (const m of cluster.members) await m.stop()
    const client = createClient({ endpoints: cluster.urls, timeoutMs: 300 })
    const started = Date.now()
    await assert.rejects(client.kv.get('x'), { code: 14 })
    assert.ok(Date.now() - started >= 250, 'kept trying until the deadline')
  })

  test('a pinned call goes to its endpoint only', async () => {
    const client = createClient({ endpoints: cluster.urls })
    const status = await client.maintenance.status({ endpoint: cluster.members[2]!.url })
    assert.equal(status.header.memberId, 1003n)
    await cluster.members[2]!.stop()
    await assert.rejects(client.maintenance.status({ endpoint: cluster.members[2]!.url }), { code: 14 })
    assert.deepEqual(cluster.hits('/v3/maintenance/status'), [0, 0, 1])
  })
})
