/**
 * Whole-cluster restarts on the same data dirs: after a clean stop (SIGTERM, exit 0) every key,
 * lease and the revision are back, a leader is elected in a new term and writes continue; after
 * kill -9 of every member under writes, no acknowledged write is lost.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  assertAllPresent, b64, call, eventually, prefixEnd, startWriters, unb64, useCluster,
} from './cluster-harness.ts'

describe('restart', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true })

  test('SIGTERM every process, start again: all data there, a new leader, writes continue', async () => {
    const gw = cluster.gatewayUrl
    for (let i = 0; i < 50; i++)
      await call(gw, '/v3/kv/put', { key: b64(`r/k/${String(i).padStart(2, '0')}`), value: b64(`v${i}`) })
    await call(gw, '/v3/kv/deleterange', { key: b64('r/k/00') })
    await call(gw, '/v3/kv/txn', {
      success: [
        { request_put: { key: b64('r/t/a'), value: b64('A') } },
        { request_put: { key: b64('r/t/b'), value: b64('B') } },
      ],
    })
    const lease = (await call(gw, '/v3/lease/grant', { TTL: 600 })).ID as string
    await call(gw, '/v3/kv/put', { key: b64('r/leased'), value: b64('L'), lease })
    const before = await cluster.waitForConvergence()
    const term = Number((await call(cluster.url('m1'), '/v3/maintenance/status')).raftTerm)
    const snapshot = await call(cluster.url('m1'), '/v3/kv/range', { key: b64('r/'), range_end: prefixEnd('r/') })

    // A clean stop: every process exits 0 on SIGTERM.
    const names = [...cluster.memberNames, 'gateway']
    const pids = names.map((n) => cluster.pid(n))
    await Promise.all(names.map((n) => cluster.kill(n, 'SIGTERM')))
    for (const n of names) assert.equal(cluster.isRunning(n), false)
    const exits = await Promise.all(names.map((n) => cluster.waitForExit(n, 1)))
    assert.deepEqual(exits, names.map(() => 'exit code 0'))

    for (const n of names) await cluster.restart(n)
    assert.notDeepEqual(names.map((n) => cluster.pid(n)), pids)
    await cluster.waitForLeader(20_000)
    const after = await cluster.waitForConvergence()
    assert.deepEqual(after, before, 'the same revision and hash after the restart')
    for (const n of cluster.memberNames) {
      const status = await call(cluster.url(n), '/v3/maintenance/status')
      assert.ok(Number(status.raftTerm) > term, `${n}: term ${status.raftTerm} after ${term}`)
      const got = await call(cluster.url(n), '/v3/kv/range', { key: b64('r/'), range_end: prefixEnd('r/') })
      assert.deepEqual(got.kvs, snapshot.kvs, n)
      assert.equal(got.count, '52', n)
    }
    const ttl = await eventually('the gateway answers again', () =>
      call(gw, '/v3/lease/timetolive', { ID: lease, keys: true }),
    )
    assert.ok(Number(ttl.TTL) > 500, `lease TTL ${ttl.TTL}`)
    assert.deepEqual(ttl.keys.map(unb64), ['r/leased'])

    const put = await call(gw, '/v3/kv/put', { key: b64('r/new'), value: b64('n') })
    assert.equal(Number(put.header.revision), before.revision + 1)
    for (const n of cluster.memberNames) {
      const r = await call(cluster.url(n), '/v3/kv/range', { key: b64('r/new') })
      assert.equal(r.kvs[0].mod_revision, put.header.revision, n)
    }
  })

  test('kill -9 every member under writes, start again: no acknowledged write is lost', async () => {
    const writers = startWriters(cluster.memberNames.map((n) => [n, cluster.url(n)] as const))
    try {
      await eventually('writes are acknowledged', () => assert.ok(writers.count() >= 150, `${writers.count()} acks`))
      await Promise.all(cluster.memberNames.map((n) => cluster.kill(n, 'SIGKILL')))
    } finally {
      await writers.stop()
    }
    const acks = writers.acks.flat()
    for (const n of cluster.memberNames) await cluster.restart(n)
    await cluster.waitForLeader(20_000)
    const converged = await cluster.waitForConvergence()
    assert.ok(converged.revision >= Math.max(...acks.map((a) => a.revision)))
    for (const n of cluster.memberNames) await assertAllPresent(cluster.url(n), acks, true)
    await assertAllPresent(cluster.gatewayUrl, acks)
    const put = await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('r/after-crash'), value: b64('x') })
    assert.equal(Number(put.header.revision), converged.revision + 1)
    cluster.assertAlive()
  })
})
