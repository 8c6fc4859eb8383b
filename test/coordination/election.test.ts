/**
 * The v3election API on a 3-member cluster with a gateway: etcd's answers over raw HTTP (observe
 * read line by line on a follower), then candidates in separate processes: leadership passes on
 * when the leader resigns and again when the next leader is killed with SIGKILL, and an observer
 * sees each leader in turn.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, utf8 } from '../../src/client/index.ts'
import { b64, call, eventually, LineStream, post, unb64, STEADY_TIMING, useCluster } from '../e2e/cluster-harness.ts'
import { concurrencyError, follower, keysUnder, useFixtures } from './processes.ts'

const TTL = 2

describe('v3election', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true, ...STEADY_TIMING })
  const fixtures = useFixtures()

  test('campaign, leader, proclaim, observe and resign answer as etcd does', async () => {
    const g = cluster.gatewayUrl
    const other = await follower(cluster)
    await call(g, '/v3/lease/grant', { TTL: 60, ID: 8001 })
    await call(g, '/v3/lease/grant', { TTL: 60, ID: 8002 })
    const none = await post(g, '/v3/election/leader', { name: b64('el') })
    assert.equal(none.status, 500)
    assert.deepEqual(none.json, concurrencyError('election: no leader'))

    const first = await call(g, '/v3/election/campaign', { name: b64('el'), lease: 8001, value: b64('v1') })
    const rev = first.header.revision
    assert.deepEqual(first.leader, { name: b64('el'), key: b64('el/1f41'), rev, lease: '8001' })
    const observe = await LineStream.open(other, '/v3/election/observe', { name: b64('el') })
    try {
      assert.equal(observe.status, 200)
      const current = (await observe.next()).result
      assert.equal(unb64(current.kv.value), 'v1')
      assert.equal(current.kv.create_revision, rev)

      let elected = false
      const campaign = { name: b64('el'), lease: 8002, value: b64('v3') }
      const pending = call(other, '/v3/election/campaign', campaign, 20_000).then((r) => {
        elected = true
        return r
      })
      await eventually('the second candidate is in line', async () =>
        assert.deepEqual(await keysUnder(g, 'el/'), ['el/1f41', 'el/1f42']),
      )
      const proclaimed = await call(g, '/v3/election/proclaim', { leader: first.leader, value: b64('v2') })
      const seen = (await observe.next()).result
      assert.equal(unb64(seen.kv.value), 'v2')
      assert.equal(seen.header.revision, proclaimed.header.revision)
      assert.equal((await call(g, '/v3/election/leader', { name: b64('el') })).kv.version, '2')
      const stale = await post(g, '/v3/election/proclaim', {
        leader: { ...first.leader, rev: Number(rev) + 1000 },
        value: b64('x'),
      })
      assert.equal(stale.status, 500)
      assert.deepEqual(stale.json, concurrencyError('election: not leader'))
      assert.equal(elected, false, 'the second candidate was elected while the first led')

      const resigned = await call(g, '/v3/election/resign', { leader: first.leader })
      const second = await pending
      assert.deepEqual(second.leader.key, b64('el/1f42'))
      assert.equal(second.header.revision, second.leader.rev, "the header is the candidate's own put")
      assert.ok(Number(second.leader.rev) < Number(resigned.header.revision))
      const handed = (await observe.next()).result
      assert.equal(unb64(handed.kv.value), 'v3')
      assert.equal(unb64((await call(g, '/v3/election/leader', { name: b64('el') })).kv.value), 'v3')

      const again = await post(g, '/v3/election/resign', { leader: first.leader })
      assert.equal(again.status, 200, 'resign is idempotent')
      const noLeader = await post(g, '/v3/election/resign', {})
      assert.equal(noLeader.status, 500)
      assert.deepEqual(noLeader.json, concurrencyError('"leader" field must be provided'))
      await call(g, '/v3/election/resign', { leader: second.leader })
    } finally {
      observe.close()
    }
    await call(g, '/v3/lease/revoke', { ID: 8001 })
    await call(g, '/v3/lease/revoke', { ID: 8002 })

    // As etcd's server: lease 0 and rev 0 proclaim an absent key into being, under a fresh 60 s
    // lease; once it exists, its create revision is not 0 and the same call is not the leader.
    const fresh = { leader: { name: b64('el0'), key: b64('el0/x') }, value: b64('p') }
    const created = await call(g, '/v3/election/proclaim', fresh)
    const kv = (await call(g, '/v3/kv/range', { key: b64('el0/x') })).kvs[0]
    assert.equal(kv.create_revision, created.header.revision)
    assert.equal(unb64(kv.value), 'p')
    const ttl = await call(g, '/v3/lease/timetolive', { ID: kv.lease })
    assert.equal(ttl.grantedTTL, '60')
    const twice = await post(g, '/v3/election/proclaim', fresh)
    assert.equal(twice.status, 500)
    assert.deepEqual(twice.json, concurrencyError('election: not leader'))
    await call(g, '/v3/lease/revoke', { ID: kv.lease })
  })

  test('the election hands over when the leader resigns, then when it dies', async () => {
    const name = 'scheduler'
    const client = createClient({ endpoints: [cluster.gatewayUrl] })
    const abort = new AbortController()
    const observed: string[] = []
    const observing = (async () => {
      for await (const { kv } of client.election.observe(name, { signal: abort.signal })) {
        if (kv !== null) observed.push(utf8(kv.value))
      }
    })().catch(() => undefined)

    const endpoints = cluster.memberNames.map((n) => cluster.url(n))
    const start = (label: string): ReturnType<typeof fixtures.start> =>
      fixtures.start('candidate', { name, ttl: TTL, label, endpoints: [cluster.gatewayUrl, ...endpoints] })
    const a = start('cand-a')
    await fixtures.waitForEvent('cand-a', 'elected')
    const others = [start('cand-b'), start('cand-c')]
    await eventually('b and c are in line', async () =>
      assert.equal((await keysUnder(cluster.gatewayUrl, `${name}/`)).length, 3),
    )

    a.send('resign')
    const next = await fixtures.waitFor('b or c is elected', (l) => l.label !== 'cand-a' && l.event === 'elected')
    const resigning = await fixtures.waitForEvent('cand-a', 'resigning')
    assert.ok(next.at >= resigning.at, 'elected before the leader resigned')
    assert.equal(await a.exited, 0, a.output)

    const dying = others.find((f) => f.label === next.label)
    const last = others.find((f) => f.label !== next.label)
    assert.ok(dying !== undefined && last !== undefined)
    const killedAt = await dying.kill()
    const after = await fixtures.waitForEvent(last.label, 'elected')
    assert.ok(after.at >= killedAt, 'two leaders at once')
    assert.ok(after.at - killedAt <= TTL * 1000 + 2000, `handed over ${after.at - killedAt} ms after the kill`)
    assert.ok(Number(after['rev']) > Number(next['rev']))

    const leaders = ['cand-a', next.label, last.label]
    await eventually('the observer saw every leader', () => assert.deepEqual(observed, leaders))
    assert.equal(utf8((await client.election.leader(name)).kv?.value ?? new Uint8Array()), last.label)
    abort.abort()
    await observing
  })
})
