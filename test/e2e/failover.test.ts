/**
 * Crashes: kill -9 the leader while writes are being acknowledged (a new leader within a few
 * election timeouts, no acknowledged write lost, the killed member restarted on its data dir
 * catches up to the same revision and hashes); kill -9 of an idle leader (a new one well within
 * an election timeout: the followers see its connections close); and a follower that falls far
 * behind while down and catches up by a snapshot from the leader when it comes back.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  assertAllPresent, b64, call, eventually, post, prefixEnd, startCluster, startWriters, type Ack, type Cluster, type LeaderInfo,
} from './cluster-harness.ts'

/** The member's log since the harness last started it. */
function logOfLastStart(cluster: Cluster, name: string): string {
  const log = readFileSync(join(cluster.dir, `${name}.log`), 'utf8')
  return log.slice(log.lastIndexOf(`starting ${name}: `))
}

/** kill -9 of leader `name`; the leader the others then agree on, and how long that took (ms). */
async function killLeader(cluster: Cluster, name: string): Promise<{ next: LeaderInfo; electedIn: number }> {
  const killedAt = Date.now()
  await cluster.kill(name, 'SIGKILL')
  const survivors = cluster.memberNames.filter((n) => n !== name)
  const next = await cluster.waitForLeader(10_000, survivors)
  assert.notEqual(next.name, name)
  return { next, electedIn: Date.now() - killedAt }
}

const KILL_LEADER = 'kill -9 the leader under writes: a new leader, no acknowledged write lost, the member catches up'

test(KILL_LEADER, { timeout: 90_000 }, async (t) => {
  const cluster = await startCluster(t, { gateway: true })
  const old = await cluster.leader()
  const writers = startWriters([
    ['gateway', cluster.gatewayUrl] as const,
    ...cluster.memberNames.map((n) => [n, cluster.url(n)] as const),
  ])
  try {
    await eventually('writes are acknowledged', () => assert.ok(writers.count() >= 60, `${writers.count()} acks`))
    const { electedIn } = await killLeader(cluster, old.name)
    // Followers see the leader's connections close and campaign within half an election timeout
    // (else after 1-2 of them), then PreVote and vote; the bound leaves room for a loaded 2-core
    // machine.
    assert.ok(electedIn <= 8 * cluster.options.electionMs, `new leader after ${electedIn} ms`)
    const before = writers.count()
    await eventually('writes go on under the new leader', () => assert.ok(writers.count() >= before + 60, 'fewer than 60 more writes'))
  } finally {
    await writers.stop()
  }
  const acks = writers.acks.flat()
  // Each writer's acknowledged revisions only go up, and no two acks share a revision.
  for (const mine of writers.acks) {
    for (let i = 1; i < mine.length; i++) assert.ok((mine[i] as Ack).revision > (mine[i - 1] as Ack).revision)
  }
  assert.equal(new Set(acks.map((a) => a.revision)).size, acks.length)
  const next = await cluster.leader()
  await assertAllPresent(next.url, acks)
  await assertAllPresent(cluster.gatewayUrl, acks)

  // The killed member comes back on its data dir and catches up.
  await cluster.restart(old.name)
  await cluster.waitForLeader(15_000)
  const converged = await cluster.waitForConvergence(20_000)
  assert.ok(converged.revision >= Math.max(...acks.map((a) => a.revision)))
  await assertAllPresent(cluster.url(old.name), acks, true)
  await assertAllPresent(cluster.url(old.name), acks)
  // And serves writes again (a put through it is seen by every member).
  const put = await call(cluster.url(old.name), '/v3/kv/put', { key: b64('f/after'), value: b64('x') })
  for (const n of cluster.memberNames) {
    const r = await call(cluster.url(n), '/v3/kv/range', { key: b64('f/after') })
    assert.equal(r.kvs[0].mod_revision, put.header.revision, n)
  }
  cluster.assertAlive()
})

test('kill -9 the leader: its connections close, and the followers elect another well within an election timeout', { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster(t, { electionMs: 2000 })
  const old = await cluster.leader()
  await call(old.url, '/v3/kv/put', { key: b64('f/before'), value: b64('x') })
  const { next, electedIn } = await killLeader(cluster, old.name)
  // Waiting out the election timeout would take at least 1.9 s here (2 s since the last
  // heartbeat); the followers campaign within half of it once the leader's connections close.
  assert.ok(electedIn < 1500, `new leader after ${electedIn} ms`)
  const put = await call(next.url, '/v3/kv/put', { key: b64('f/after'), value: b64('y') })
  assert.ok(Number(put.header.revision) > 2)
  cluster.assertAlive()
})

test('a follower far behind catches up by snapshot after a restart', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(t, { memberFlags: ['--snapshot-count', '50'] })
  const leader = await cluster.leader()
  const follower = cluster.memberNames.find((n) => n !== leader.name) as string
  await call(leader.url, '/v3/kv/put', { key: b64('f/000000'), value: b64('before') })
  await cluster.waitForConvergence()
  await cluster.kill(follower, 'SIGKILL')

  // The leader keeps 5,000 entries behind its latest checkpoint for slow followers (storage's
  // retainEntries, not tied to --snapshot-count); write past that so the follower's next entry is
  // compacted away and only a snapshot can bring it up to date.
  const total = 5300
  let next = 1
  const acks: Ack[] = [{ key: 'f/000000', value: 'before', revision: 2 }]
  await Promise.all(
    Array.from({ length: 48 }, async () => {
      for (let i = next++; i < total; i = next++) {
        const key = `f/${String(i).padStart(6, '0')}`
        const put = await call(leader.url, '/v3/kv/put', { key: b64(key), value: b64(`v${i}`) })
        acks.push({ key, value: `v${i}`, revision: Number(put.header.revision) })
      }
    }),
  )
  const status = await call(leader.url, '/v3/maintenance/status')
  assert.ok(Number(status.raftIndex) > 5000 + 50, `raft index ${status.raftIndex}`)

  await cluster.restart(follower)
  const converged = await cluster.waitForConvergence(30_000)
  assert.equal(converged.revision, Number(status.header.revision))
  const since = logOfLastStart(cluster, follower)
  assert.match(since, /installed snapshot from leader/, 'the follower caught up without a snapshot')
  assert.doesNotMatch(since, /request failed unexpectedly|"level":50/, 'errors while catching up')
  const count = await call(cluster.url(follower), '/v3/kv/range', {
    key: b64('f/'), range_end: prefixEnd('f/'), count_only: true, serializable: true,
  })
  assert.equal(count.count, String(total))
  await assertAllPresent(cluster.url(follower), acks, true)
  // It is a working member again: a write through it, read back everywhere.
  const put = await call(cluster.url(follower), '/v3/kv/put', { key: b64('f/late'), value: b64('x') })
  for (const n of cluster.memberNames) {
    const r = await post(cluster.url(n), '/v3/kv/range', { key: b64('f/late') })
    assert.equal(r.json.kvs[0].mod_revision, put.header.revision, n)
  }
  cluster.assertAlive()
})
