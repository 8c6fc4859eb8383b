/**
 * Regression scenarios for correctness bugs etcd found in itself, adapted to edgecd and run
 * against real member processes (cluster.ts):
 *
 * - a write acknowledged just before a kill -9 of a single member (or of every member) is lost;
 * - the revision goes back after a crash in the middle of a compaction;
 * - a watch travels back in time when it fails over to a member that was partitioned away;
 * - watch events are duplicated or dropped when watches start around a compaction;
 * - a linearizable read is stale when its read-index round crosses a leader change;
 * - a lock is granted on a lease that expired while the lock was waited for.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { createClient, EtcdError, utf8, type Client } from '../../src/client/index.ts'
import { checkWatches } from './checks.ts'
import { ChaosCluster } from './cluster.ts'
import type { KvOp, WatchEventRecord, WatchMessage, WatchSegment } from './history.ts'
import { checkLinearizable, describeOp } from './linearizability.ts'
import { eventRecord } from './workload.ts'

/** Clusters of the scenario that is running: stopped when it ends, their logs printed if it failed. */
const started: Array<{ cluster: ChaosCluster; dir: string }> = []

async function startCluster(size: number): Promise<ChaosCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-scenario-'))
  const cluster = new ChaosCluster({ size, dir, heartbeatMs: 50, electionMs: 500 })
  started.push({ cluster, dir })
  await cluster.start()
  return cluster
}

function scenario(name: string, body: (t: TestContext) => Promise<void>): void {
  it(name, async (t) => {
    try {
      await body(t)
    } catch (error) {
      for (const { cluster, dir } of started)
        for (const m of cluster.members)
          console.error(`---- ${m.name} (${dir}) ----\n${cluster.logTail(m.name)}`)
      throw error
    } finally {
      for (const { cluster, dir } of started.splice(0)) {
        await cluster.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  })
}

function clientOf(cluster: ChaosCluster, names?: readonly string[], timeoutMs = 5000): Client {
  const urls = names === undefined ? cluster.clientUrls : names.map((n) => cluster.member(n).clientUrl)
  return createClient({ endpoints: urls, timeoutMs })
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Every event from `from` to `until` (whole keyspace), read with one watch. */
async function eventsBetween(
  client: Client,
  from: number,
  until: number,
): Promise<Map<number, WatchEventRecord[]>> {
  const out = new Map<number, WatchEventRecord[]>()
  if (until < from) return out
  const watch = client.watch(new Uint8Array([0]), {
    fromKey: true,
    startRevision: from,
    signal: AbortSignal.timeout(20_000),
  })
  for await (const res of watch) {
    assert.ok(
      !res.canceled,
      `the history watch from ${from} was canceled (compacted at ${res.compactRevision})`,
    )
    for (const e of res.events)
      out.set(e.kv.modRevision, [...(out.get(e.kv.modRevision) ?? []), eventRecord(e)])
    if ((res.events[res.events.length - 1]?.kv.modRevision ?? 0) >= until) break
  }
  watch.cancel()
  return out
}

/** Collects one watch's messages in the background until `stop()`. */
function record(
  client: Client,
  watcher: number,
  startRevision: number,
): { segment: WatchSegment; stop: () => Promise<void> } {
  const segment: WatchSegment = { watcher, startRevision, opened: 0, messages: [] }
  const watch = client.watch(new Uint8Array([0]), { fromKey: true, startRevision, retryPauseMs: 50 })
  const done = (async (): Promise<void> => {
    try {
      for await (const res of watch) {
        const kind: WatchMessage['kind'] = res.canceled
          ? 'canceled'
          : res.created
            ? 'created'
            : res.events.length > 0
              ? 'events'
              : 'progress'
        segment.messages.push({
          at: 0,
          kind,
          revision: res.header.revision,
          events: res.events.map(eventRecord),
          compactRevision: res.compactRevision,
        })
      }
    } catch (error) {
      segment.error = (error as Error).message
    }
  })()
  return {
    segment,
    stop: async () => {
      watch.cancel()
      await done
    },
  }
}

describe('regression scenarios', { concurrency: false }, () => {
  scenario('an acknowledged write survives kill -9 of a single member right after the answer', async () => {
    const cluster = await startCluster(1)
    const client = clientOf(cluster)
    const acked: Array<{ value: string; revision: number }> = []
    for (let i = 0; i < 8; i++) {
      const value = `v${i}`
      const res = await client.kv.put(`k/${i % 3}`, value)
      acked.push({ value, revision: res.header.revision })
      await cluster.kill('m1')
      cluster.spawn('m1')
      await cluster.waitForLeader(20_000)
      const got = await client.kv.get(`k/${i % 3}`)
      assert.equal(
        utf8(got.kvs[0]?.value ?? new Uint8Array()),
        value,
        `write ${i} (revision ${res.header.revision}) was lost`,
      )
      assert.ok(
        got.header.revision >= res.header.revision,
        `revision went back from ${res.header.revision} to ${got.header.revision}`,
      )
    }
  })

  scenario('acknowledged writes survive kill -9 of every member at once', async () => {
    const cluster = await startCluster(3)
    const client = clientOf(cluster)
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.kv.put(`k/${i}`, `all-${i}`)),
    )
    await Promise.all(cluster.members.map((m) => cluster.kill(m.name)))
    for (const m of cluster.members) cluster.spawn(m.name)
    await cluster.waitForLeader(30_000)
    for (let i = 0; i < writes.length; i++) {
      const got = await client.kv.get(`k/${i}`)
      assert.equal(
        utf8(got.kvs[0]?.value ?? new Uint8Array()),
        `all-${i}`,
        `write of k/${i} at revision ${writes[i]?.header.revision} was lost`,
      )
    }
  })

  scenario('the revision never goes back after a crash during compaction', async () => {
    const cluster = await startCluster(1)
    const client = clientOf(cluster)
    let last = 0
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 150; i++)
        last = (await client.kv.put(`k/${i % 20}`, `r${round}-${i}`)).header.revision
      const compactAt = last - 20
      const compacting = fetch(`${cluster.member('m1').clientUrl}/v3/kv/compaction`, {
        method: 'POST',
        body: JSON.stringify({ revision: compactAt, physical: true }),
      }).catch(() => null)
      await sleep(round * 5)
      await cluster.kill('m1')
      await compacting
      cluster.spawn('m1')
      await cluster.waitForLeader(20_000)
      const status = await client.maintenance.status()
      assert.ok(
        status.header.revision >= last,
        `revision went back from ${last} to ${status.header.revision}`,
      )
      const next = await client.kv.put('k/after', `round-${round}`)
      assert.equal(
        next.header.revision,
        last + 1,
        'the first write after the restart must take the next revision',
      )
      last = next.header.revision
      // Either the compaction happened (old revisions are gone) or it did not; never half of it.
      const old = await client.kv.get('k/0', { revision: compactAt - 1 }).then(
        () => 'readable',
        (e: EtcdError) => e.message,
      )
      assert.ok(old === 'readable' || /compacted/.test(old), old)
      const atCompact = await client.kv.get('k/', { prefix: true, revision: compactAt }).then(
        () => 'readable',
        (e: Error) => e.message,
      )
      assert.equal(atCompact, 'readable', 'the compaction revision itself stays readable')
    }
  })

  scenario(
    'a watch does not travel back in time when it fails over to a member that was partitioned away',
    async () => {
      const cluster = await startCluster(3)
      const leader = await cluster.waitForLeader(20_000)
      const followers = cluster.members.filter((m) => m.name !== leader.name).map((m) => m.name)
      const [lagging, other] = followers as [string, string]
      const writer = clientOf(cluster, [leader.name, other])
      const first = (await writer.kv.put('k/0', 'before')).header.revision
      // The watcher talks to `other` first, then to `lagging`, which misses writes while cut off.
      const watcher = record(clientOf(cluster, [other, lagging]), 0, first)
      for (const n of [leader.name, other]) {
        cluster.setLink(lagging, n, true)
        cluster.setLink(n, lagging, true)
      }
      for (let i = 0; i < 30; i++) await writer.kv.put(`k/${i % 4}`, `during-${i}`)
      await sleep(300)
      await cluster.kill(other)
      await sleep(1500)
      cluster.healNetwork()
      cluster.spawn(other)
      await cluster.waitForLeader(20_000)
      let last = 0
      for (let i = 0; i < 10; i++) last = (await writer.kv.put(`k/${i % 4}`, `after-${i}`)).header.revision
      await sleep(1500)
      await watcher.stop()
      const history = await eventsBetween(writer, first, last)
      const violations = checkWatches([watcher.segment], history, first)
      assert.deepEqual(violations, [], JSON.stringify(violations, null, 1))
      const revs = watcher.segment.messages.filter((m) => m.kind === 'events').map((m) => m.revision)
      for (let i = 1; i < revs.length; i++)
        assert.ok(
          (revs[i] as number) >= (revs[i - 1] as number),
          `header revision went back: ${revs.join(',')}`,
        )
      const delivered = watcher.segment.messages.flatMap((m) => m.events.map((e) => e.modRevision))
      assert.equal(Math.max(...delivered), last, 'the watch caught up')
    },
  )

  scenario('watches started around a compaction get every event once, or a compacted cancel', async () => {
    const cluster = await startCluster(3)
    const client = clientOf(cluster)
    let last = 0
    for (let i = 0; i < 120; i++) last = (await client.kv.put(`k/${i % 7}`, `w${i}`)).header.revision
    const compactAt = last - 40
    const watchers = Array.from({ length: 12 }, (_, i) => record(clientOf(cluster), i, compactAt - 6 + i * 4))
    const writes = (async (): Promise<void> => {
      for (let i = 0; i < 60; i++) last = (await client.kv.put(`k/${i % 7}`, `x${i}`)).header.revision
    })()
    await client.kv.compact(compactAt, { physical: true })
    await writes
    await sleep(1500)
    await Promise.all(watchers.map((w) => w.stop()))
    const history = await eventsBetween(client, compactAt, last)
    for (const w of watchers) {
      const canceled = w.segment.messages.find((m) => m.kind === 'canceled')
      if (canceled !== undefined) {
        assert.ok(
          w.segment.startRevision < compactAt,
          `watch from ${w.segment.startRevision} canceled, compaction at ${compactAt}`,
        )
        assert.equal(canceled.compactRevision, compactAt)
        assert.ok(
          w.segment.messages.every((m) => m.events.length === 0),
          'a canceled watch delivered events first',
        )
        continue
      }
      const violations = checkWatches([w.segment], history, compactAt)
      assert.deepEqual(
        violations,
        [],
        `watch from ${w.segment.startRevision}: ${JSON.stringify(violations, null, 1)}`,
      )
      const delivered = w.segment.messages.flatMap((m) => m.events.map((e) => e.modRevision))
      assert.equal(Math.max(...delivered), last, `watch from ${w.segment.startRevision} did not catch up`)
    }
  })

  scenario('linearizable reads stay fresh while the leadership moves and the leader is cut off', async () => {
    const cluster = await startCluster(3)
    const t0 = performance.now()
    const now = (): number => performance.now() - t0
    const ops: KvOp[] = []
    // At least 12 s of faults, and on until 20 reads got through (a loaded machine fails many of
    // them while the leader is cut off), but never past 45 s.
    const stopper = new AbortController()
    const stop = stopper.signal
    const started = now()
    const readsOk = (): number => ops.filter((o) => o.kind === 'get' && o.outcome === 'ok').length
    const deadline = setInterval(() => {
      const elapsed = now() - started
      if ((elapsed >= 12_000 && readsOk() > 20) || elapsed >= 45_000) stopper.abort()
    }, 200)
    stop.addEventListener('abort', () => clearInterval(deadline))
    const worker = async (c: number, write: boolean): Promise<void> => {
      const client = clientOf(cluster, undefined, 2000)
      for (let n = 0; !stop.aborted; n++) {
        const op: KvOp = write
          ? {
              id: ops.length,
              client: c,
              kind: 'put',
              key: 'k/0',
              value: `w${c}-${n}`,
              invoke: now(),
              complete: Infinity,
              outcome: 'unknown',
            }
          : {
              id: ops.length,
              client: c,
              kind: 'get',
              key: 'k/0',
              invoke: now(),
              complete: Infinity,
              outcome: 'unknown',
            }
        ops.push(op)
        try {
          if (write) op.revision = (await client.kv.put('k/0', op.value as string)).header.revision
          else {
            const res = await client.kv.get('k/0')
            op.read = res.kvs[0] === undefined ? null : utf8(res.kvs[0].value)
            op.revision = res.header.revision
          }
          op.outcome = 'ok'
        } catch (error) {
          op.outcome = write ? 'unknown' : 'failed'
          op.error = (error as Error).message
        }
        op.complete = now()
      }
    }
    const nemesis = (async (): Promise<void> => {
      for (let round = 0; !stop.aborted; round++) {
        const leader = await cluster.leader()
        if (leader !== null && round % 2 === 0) {
          const target = cluster.members.find(
            (m) => m.name !== leader.name,
          ) as (typeof cluster.members)[number]
          await clientOf(cluster, [leader.name], 2000)
            .maintenance.moveLeader(BigInt(target.id as string))
            .catch(() => undefined)
        } else if (leader !== null) {
          const others = cluster.members.filter((m) => m.name !== leader.name).map((m) => m.name)
          for (const o of others) cluster.setLink(leader.name, o, true)
          await sleep(700)
          cluster.healNetwork()
        }
        await sleep(400)
      }
      cluster.healNetwork()
    })()
    await Promise.all([
      worker(0, true),
      worker(1, true),
      worker(2, false),
      worker(3, false),
      worker(4, false),
      nemesis,
    ])
    const verdict = checkLinearizable(ops)
    const bad = verdict.keys.find((k) => k.linearizable === false)
    assert.notEqual(
      verdict.linearizable,
      false,
      `${bad?.reason}\n${(bad?.excerpt ?? []).map(describeOp).join('\n')}`,
    )
    assert.ok(readsOk() > 20, `too few reads got through in 45 s (${readsOk()})`)
  })

  scenario('a lock is never granted on a lease that expired while waiting', async () => {
    const cluster = await startCluster(3)
    const base = cluster.member('m1').clientUrl
    const call = async (
      path: string,
      body: unknown,
      timeoutMs = 10_000,
    ): Promise<{ status: number; json: any }> => {
      const res = await fetch(base + path, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      return { status: res.status, json: await res.json().catch(() => null) }
    }
    const holder = await call('/v3/lease/grant', { TTL: 30 })
    const waiter = await call('/v3/lease/grant', { TTL: 2 })
    const name = Buffer.from('lk').toString('base64')
    const held = await call('/v3/lock/lock', { name, lease: holder.json.ID })
    assert.equal(held.status, 200)
    const waiting = call('/v3/lock/lock', { name, lease: waiter.json.ID }, 20_000)
    await sleep(4500)
    const ttl = await call('/v3/lease/timetolive', { ID: waiter.json.ID })
    assert.equal(ttl.json.TTL, '-1', 'the waiting lease should have expired by now')
    await call('/v3/lock/unlock', { key: held.json.key })
    const granted = await waiting.catch((e: Error) => ({ status: 0, json: { error: e.message } }))
    assert.notEqual(
      granted.status,
      200,
      `the lock was granted on expired lease ${waiter.json.ID}: ${JSON.stringify(granted.json)}`,
    )
    const owners = await call('/v3/kv/range', { key: name, range_end: Buffer.from('ll').toString('base64') })
    assert.equal(owners.json.kvs, undefined, `lock keys remain: ${JSON.stringify(owners.json.kvs)}`)
  })
})
