/**
 * The v3lock API on a 3-member cluster with a gateway: etcd's answers over raw HTTP, a waiter
 * that disconnects, the lease re-check before granting, and separate processes competing for
 * one lock (mutual exclusion and strictly increasing fencing tokens), including a holder that is
 * killed with SIGKILL and whose lease then expires.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, Mutex, Session } from '../../src/client/index.ts'
import { b64, call, eventually, post, sleep, unb64, STEADY_TIMING, useCluster, type Cluster } from '../e2e/cluster-harness.ts'
import { concurrencyError, follower, keysUnder, useFixtures, type LogLine } from './processes.ts'

const TTL = 2

async function watchers(cluster: Cluster): Promise<number> {
  let total = 0
  for (const name of cluster.memberNames) {
    const text = await (await fetch(`${cluster.url(name)}/metrics`)).text()
    total += Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? NaN)
  }
  return total
}

describe('v3lock', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true, ...STEADY_TIMING })
  const fixtures = useFixtures()

  test('lock blocks until unlock and answers as etcd does', async () => {
    const g = cluster.gatewayUrl
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7001 })
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7002 })
    const first = await call(g, '/v3/lock/lock', { name: b64('lk'), lease: 7001 })
    assert.equal(unb64(first.key), 'lk/1b59')
    const [kv] = (await call(g, '/v3/kv/range', { key: first.key })).kvs
    assert.equal(kv.create_revision, first.header.revision, 'uncontended: the token is the key create revision')
    assert.equal(kv.lease, '7001')

    let granted = false
    const other = await follower(cluster)
    const pending = call(other, '/v3/lock/lock', { name: b64('lk'), lease: 7002 }, 20_000).then((r) => {
      granted = true
      return r
    })
    await eventually('the second lock waits in line', async () =>
      assert.deepEqual(await keysUnder(g, 'lk/'), ['lk/1b59', 'lk/1b5a']),
    )
    await sleep(300)
    assert.equal(granted, false, 'the second lock was granted while the first was held')
    const unlocked = await call(g, '/v3/lock/unlock', { key: first.key })
    const second = await pending
    assert.equal(unb64(second.key), 'lk/1b5a')
    assert.equal(second.header.revision, unlocked.header.revision, "the waiter's token: the unlock's revision")
    assert.ok(Number(second.header.revision) > Number(first.header.revision))

    assert.equal((await post(g, '/v3/lock/unlock', { key: b64('lk/none') })).status, 200)
    const noKey = await post(g, '/v3/lock/unlock', {})
    assert.equal(noKey.status, 500)
    assert.deepEqual(noKey.json, concurrencyError('etcdserver: key is not provided'))
    const noLease = await post(g, '/v3/lock/lock', { name: b64('lk'), lease: 424242 })
    assert.equal(noLease.status, 500)
    assert.deepEqual(noLease.json, concurrencyError('etcdserver: requested lease not found'))

    await call(g, '/v3/lock/unlock', { key: second.key })
    const own = await call(g, '/v3/lock/lock', { name: b64('lk') })
    const lease = BigInt('0x' + unb64(own.key).slice('lk/'.length))
    const ttl = await call(g, '/v3/lease/timetolive', { ID: lease.toString() })
    assert.equal(ttl.grantedTTL, '60', 'a lock without a lease gets a 60 s lease from the server')
    await call(g, '/v3/lease/revoke', { ID: lease.toString() })
  })

  test('a waiter that disconnects leaves the line and leaves no watcher behind', async () => {
    const g = cluster.gatewayUrl
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7101 })
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7102 })
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7103 })
    const held = await call(g, '/v3/lock/lock', { name: b64('dc'), lease: 7101 })
    const abort = new AbortController()
    const waiting = fetch(`${g}/v3/lock/lock`, {
      method: 'POST',
      body: JSON.stringify({ name: b64('dc'), lease: 7102 }),
      signal: abort.signal,
    }).catch(() => null)
    await eventually('the waiter is in line', async () => assert.equal((await keysUnder(g, 'dc/')).length, 2))
    assert.ok((await watchers(cluster)) > 0, 'the waiter watches its predecessor through the hub')
    abort.abort()
    await waiting
    await eventually('the waiter left the line', async () =>
      assert.deepEqual(await keysUnder(g, 'dc/'), ['dc/1bbd']),
    )
    await eventually('no watcher is left', async () => assert.equal(await watchers(cluster), 0))
    await call(g, '/v3/lock/unlock', { key: held.key })
    const next = await call(g, '/v3/lock/lock', { name: b64('dc'), lease: 7103 }, 3000)
    assert.equal(unb64(next.key), 'dc/1bbf')
    for (const id of [7101, 7102, 7103]) await call(g, '/v3/lease/revoke', { ID: id }).catch(() => undefined)
  })

  test("a waiter whose Grpc-Timeout passes gets etcd's 504 / 4 and leaves the line, through the gateway and a follower", async () => {
    const g = cluster.gatewayUrl
    for (const id of [7301, 7302, 7303]) await call(g, '/v3/lease/grant', { TTL: 30, ID: id })
    const held = await call(g, '/v3/lock/lock', { name: b64('dl'), lease: 7301 })
    for (const [base, lease] of [[g, 7302], [await follower(cluster), 7303]] as const) {
      const started = Date.now()
      const r = await post(base, '/v3/lock/lock', { name: b64('dl'), lease }, { headers: { 'Grpc-Timeout': '500m' } })
      const ms = Date.now() - started
      assert.deepEqual([r.status, r.json], [504, { error: 'context deadline exceeded', message: 'context deadline exceeded', code: 4 }])
      assert.ok(ms >= 450 && ms < 5000, `answered after ${ms} ms`)
      await eventually('the waiter left the line', async () => assert.deepEqual(await keysUnder(g, 'dl/'), ['dl/1c85']))
    }
    await call(g, '/v3/lock/unlock', { key: held.key })
    await sleep(500)
    assert.deepEqual(await keysUnder(g, 'dl/'), [], 'a waiter that gave up got the lock')
    for (const id of [7301, 7302, 7303]) await call(g, '/v3/lease/revoke', { ID: id })
  })

  test('a lock is not handed out on a lease that expired while it waited', async () => {
    const g = cluster.gatewayUrl
    await call(g, '/v3/lease/grant', { TTL: 30, ID: 7201 })
    await call(g, '/v3/lease/grant', { TTL, ID: 7202 })
    const held = await call(g, '/v3/lock/lock', { name: b64('ex'), lease: 7201 })
    const waiting = post(g, '/v3/lock/lock', { name: b64('ex'), lease: 7202 }, { timeoutMs: 20_000 })
    await eventually('the waiter is in line', async () => assert.equal((await keysUnder(g, 'ex/')).length, 2))
    // Nobody keeps lease 7202 alive: it expires and its key goes while the lock is still held.
    const expired = async (): Promise<void> => assert.equal((await keysUnder(g, 'ex/')).length, 1)
    await eventually('the waiter lease expired', expired, { timeoutMs: 10_000 })
    await call(g, '/v3/lock/unlock', { key: held.key })
    const answer = await waiting
    assert.equal(answer.status, 500, `granted on an expired lease: ${answer.text}`)
    assert.deepEqual(answer.json, concurrencyError('mutex: session is expired'))
    assert.deepEqual(await keysUnder(g, 'ex/'), [])
    await call(g, '/v3/lease/revoke', { ID: 7201 })
  })

  test('a mutex waiting under a session gives up when the session is lost', async () => {
    const client = createClient({ endpoints: [cluster.gatewayUrl] })
    const holder = await Session.create(client, { ttl: 30 })
    const waiter = await Session.create(client, { ttl: TTL })
    await new Mutex(holder, 'lost').lock()
    const attempt = new Mutex(waiter, 'lost').lock()
    await eventually('the waiter is in line', async () =>
      assert.equal((await keysUnder(cluster.gatewayUrl, 'lost/')).length, 2),
    )
    await client.lease.revoke(waiter.lease)
    assert.equal(await waiter.done, 'lost')
    await assert.rejects(attempt, 'the lock call did not end with its session')
    await holder.close()
    assert.equal(await holder.done, 'closed')
    assert.deepEqual(await keysUnder(cluster.gatewayUrl, 'lost/'), [])
  })

  test('two processes competing for the lock never hold it at once', async () => {
    const rounds = 6
    const common = { name: 'race', ttl: TTL, rounds, holdMs: 60, awaitGo: true }
    const other = await follower(cluster)
    const a = fixtures.start('lock-contender', { ...common, label: 'race-a', endpoints: [cluster.gatewayUrl] })
    const b = fixtures.start('lock-contender', { ...common, label: 'race-b', endpoints: [other] })
    // Both have a session before either takes the lock: one starting late must not find it all over.
    await Promise.all([fixtures.waitForEvent('race-a', 'session'), fixtures.waitForEvent('race-b', 'session')])
    a.send('go')
    b.send('go')
    const codes = await Promise.all([a.exited, b.exited])
    assert.deepEqual(codes, [0, 0], `contenders failed:\n${a.output}\n${b.output}`)

    const log = fixtures.lines().filter((l) => l.label.startsWith('race-'))
    const holds = holdsOf(log)
    assert.equal(holds.length, 2 * rounds)
    assertExclusive(holds)
    const handedOver = holds.some((h, i) => {
      const prev = holds[i - 1]
      return prev !== undefined && h.label !== prev.label && h.waitingSince < prev.release
    })
    assert.ok(handedOver, 'the lock never passed from one waiting process to the other')
  })

  test('when the holder is killed, its lease expires and the other process gets the lock', async () => {
    const holder = fixtures.start('lock-contender', {
      name: 'kill', ttl: TTL, rounds: 0, holdMs: 0, label: 'kill-a', endpoints: [cluster.gatewayUrl],
    })
    const held = await fixtures.waitForEvent('kill-a', 'acquire')
    const waiter = fixtures.start('lock-contender', {
      name: 'kill', ttl: TTL, rounds: 1, holdMs: 50, label: 'kill-b', endpoints: [await follower(cluster)],
    })
    await eventually('the second process is in line', async () =>
      assert.equal((await keysUnder(cluster.gatewayUrl, 'kill/')).length, 2),
    )
    // Longer than the TTL: the holder's session keeps its lease (and the lock) alive.
    await sleep(TTL * 1000 + 500)
    assert.ok(!fixtures.logged('kill-b', 'acquire'), 'granted while held')

    const killedAt = await holder.kill()
    const taken = await fixtures.waitForEvent('kill-b', 'acquire')
    assert.ok(taken.at >= killedAt, 'the lock was held twice at once')
    assert.ok(taken.at - killedAt <= TTL * 1000 + 2000, `handed over ${taken.at - killedAt} ms after the kill`)
    assert.ok(Number(taken['token']) > Number(held['token']), 'fencing tokens went backwards')
    assert.equal(await waiter.exited, 0, waiter.output)
  })
})

interface Hold {
  readonly label: string
  readonly token: number
  readonly waitingSince: number
  readonly acquire: number
  readonly release: number
}

/** Each acquire with its release (and when that process started waiting), in acquire order. */
function holdsOf(log: readonly LogLine[]): Hold[] {
  const open = new Map<string, { token: number; acquire: number; waitingSince: number }>()
  const waiting = new Map<string, number>()
  const holds: Hold[] = []
  for (const l of log) {
    if (l.event === 'waiting') waiting.set(l.label, l.at)
    const token = Number(l['token'])
    if (l.event === 'acquire') open.set(l.label, { token, acquire: l.at, waitingSince: waiting.get(l.label) ?? l.at })
    if (l.event === 'release') {
      const o = open.get(l.label)
      assert.ok(o !== undefined && o.token === token, `release without acquire: ${JSON.stringify(l)}`)
      holds.push({ label: l.label, ...o, release: l.at })
      open.delete(l.label)
    }
  }
  return holds.sort((x, y) => x.acquire - y.acquire)
}

/** No two holds overlap, and each holder's fencing token is greater than the one before. */
function assertExclusive(holds: readonly Hold[]): void {
  for (let i = 1; i < holds.length; i++) {
    const prev = holds[i - 1] as Hold
    const next = holds[i] as Hold
    assert.ok(next.acquire >= prev.release, `held at once: ${JSON.stringify(prev)} and ${JSON.stringify(next)}`)
    assert.ok(next.token > prev.token, `fencing token not increasing: ${prev.token} then ${next.token}`)
  }
}
