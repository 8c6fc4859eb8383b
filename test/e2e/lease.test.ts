/**
 * Leases across processes: expiry deletes the attached keys (in one revision) within about the
 * TTL plus an election timeout, and time-to-live says -1 afterwards; a keepalive stream (to the
 * leader, to a follower that forwards it, or through the gateway) keeps a lease alive past its
 * TTL, and once the keepalives stop, the lease expires.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, call, eventually, LineStream, sleep, unb64, useCluster } from './cluster-harness.ts'

const TTL = 2

describe('lease', { timeout: 90_000 }, () => {
  const cluster = useCluster({ gateway: true })

  test('expiry deletes the attached keys in one revision; time-to-live is -1 afterwards', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const url = cluster.url(follower)
    const granted = Date.now()
    const grant = await call(url, '/v3/lease/grant', { TTL })
    assert.equal(grant.TTL, String(TTL))
    const id = grant.ID as string
    const first = await call(url, '/v3/kv/put', { key: b64('l/a'), value: b64('1'), lease: id })
    await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('l/b'), value: b64('2'), lease: id })
    await call(url, '/v3/kv/put', { key: b64('l/free'), value: b64('3') })

    const ttl = await call(url, '/v3/lease/timetolive', { ID: id, keys: true })
    assert.equal(ttl.grantedTTL, String(TTL))
    assert.ok(Number(ttl.TTL) > 0 && Number(ttl.TTL) <= TTL, `TTL ${ttl.TTL}`)
    assert.deepEqual([...ttl.keys].map(unb64).sort(), ['l/a', 'l/b'])
    const leases = await call(cluster.gatewayUrl, '/v3/lease/leases')
    assert.ok(leases.leases.some((l: { ID: string }) => l.ID === id))

    const limit = TTL * 1000 + cluster.options.electionMs + 1500
    await eventually(
      'the lease keys are deleted',
      async () => {
        const r = await call(leader.url, '/v3/kv/range', { key: b64('l/'), range_end: b64('l0') })
        assert.deepEqual(r.kvs.map((kv: { key: string }) => unb64(kv.key)), ['l/free'])
      },
      { timeoutMs: limit },
    )
    const took = Date.now() - granted
    assert.ok(took >= TTL * 1000 - 100, `expired after ${took} ms, before its TTL`)

    // Both keys went in one revision: a watch from the first put replays one DELETE message.
    const w = await LineStream.open(cluster.url('m1'), '/v3/watch', {
      create_request: { key: b64('l/'), range_end: b64('l0'), start_revision: first.header.revision },
    })
    try {
      assert.equal((await w.next()).result.created, true)
      const events: any[] = []
      while (events.filter((e) => e.type === 'DELETE').length < 2) events.push(...(await w.next()).result.events)
      const deletes = events.filter((e) => e.type === 'DELETE')
      assert.deepEqual(deletes.map((e) => unb64(e.kv.key)).sort(), ['l/a', 'l/b'])
      assert.equal(deletes[0].kv.mod_revision, deletes[1].kv.mod_revision)
    } finally {
      w.close()
    }

    for (const base of [...cluster.memberNames.map((n) => cluster.url(n)), cluster.gatewayUrl]) {
      const gone = await call(base, '/v3/lease/timetolive', { ID: id, keys: true })
      assert.deepEqual({ ID: gone.ID, TTL: gone.TTL, grantedTTL: gone.grantedTTL, keys: gone.keys }, {
        ID: id, TTL: '-1', grantedTTL: undefined, keys: undefined,
      })
    }
    const after = await call(cluster.gatewayUrl, '/v3/lease/leases')
    assert.ok(!(after.leases ?? []).some((l: { ID: string }) => l.ID === id))
    const put = await post404(url, id)
    assert.deepEqual(put, { status: 404, code: 5, message: 'etcdserver: requested lease not found' })
  })

  test('keepalive streams to the leader, a follower and the gateway keep leases alive past their TTL', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const targets: Array<[string, string]> = [
      ['leader', leader.url],
      ['follower', cluster.url(follower)],
      ['gateway', cluster.gatewayUrl],
    ]
    const leases = await Promise.all(
      targets.map(async ([name, url]) => {
        const id = (await call(url, '/v3/lease/grant', { TTL })).ID as string
        await call(url, '/v3/kv/put', { key: b64(`l/kept/${name}`), value: b64('x'), lease: id })
        return id
      }),
    )
    const memberIds = await Promise.all(['m1', 'm2', 'm3'].map((n) => cluster.memberId(n)))
    const started = Date.now()
    await Promise.all(
      targets.map(async ([name, url], i) => {
        const id = leases[i] as string
        const stream = await LineStream.open(url, '/v3/lease/keepalive', { ID: id })
        try {
          assert.equal(stream.status, 200, `keepalive via ${name}`)
          for (let n = 0; ; n++) {
            const answer = await stream.next()
            assert.deepEqual({ ID: answer.result.ID, TTL: answer.result.TTL }, { ID: id, TTL: String(TTL) }, name)
            // As in etcd, each answer's header names the member asked (the gateway's: the member it chose).
            if (name === 'gateway') assert.ok(memberIds.includes(answer.result.header.member_id), name)
            else assert.equal(answer.result.header.member_id, await cluster.memberId(name === 'follower' ? follower : leader.name), name)
            if (Date.now() - started > TTL * 1000 + 1500) break
            await sleep(500)
            stream.send({ ID: id })
          }
          // The answer ends when the request body ends.
          stream.endRequest()
          assert.equal(await stream.next(), null, `the keepalive answer through ${name} ends with its request`)
        } finally {
          stream.close()
        }
      }),
    )
    // Kept alive for longer than the TTL: the keys are still there.
    for (const [name] of targets) {
      const r = await call(leader.url, '/v3/kv/range', { key: b64(`l/kept/${name}`) })
      assert.equal(r.count, '1', `l/kept/${name} is still there after ${Date.now() - started} ms`)
    }
    // Then, without keepalives, they expire.
    await eventually(
      'the leases expire once the keepalives stop',
      async () => {
        const r = await call(leader.url, '/v3/kv/range', { key: b64('l/kept/'), range_end: b64('l/kept0') })
        assert.equal(r.kvs, undefined)
      },
      { timeoutMs: TTL * 1000 + cluster.options.electionMs + 2000 },
    )
  })

  test('keepalive of an unknown lease answers without a TTL; revoke deletes the keys at once', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const stream = await LineStream.open(cluster.url(follower), '/v3/lease/keepalive', { ID: 424242 })
    try {
      const answer = await stream.next()
      assert.equal(answer.result.ID, '424242')
      assert.equal(answer.result.TTL, undefined)
    } finally {
      stream.close()
    }
    const id = (await call(cluster.url(follower), '/v3/lease/grant', { TTL: 60, ID: 7001 })).ID
    assert.equal(id, '7001')
    await call(cluster.url(follower), '/v3/kv/put', { key: b64('l/r'), value: b64('1'), lease: 7001 })
    const revoke = await call(cluster.gatewayUrl, '/v3/lease/revoke', { ID: 7001 })
    for (const n of cluster.memberNames) {
      const r = await call(cluster.url(n), '/v3/kv/range', { key: b64('l/r') })
      assert.equal(r.kvs, undefined, n)
      assert.ok(Number(r.header.revision) >= Number(revoke.header.revision))
    }
    cluster.assertAlive()
  })

  test('keepalive streams through a follower and the gateway outlive the leader: after kill -9 of the leader the next renewals are answered', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    // The gateway knows the leader (a grant went there), so it carries the stream on a follower.
    const id = (await call(cluster.gatewayUrl, '/v3/lease/grant', { TTL: 30 })).ID as string
    const streams = await Promise.all([cluster.url(follower), cluster.gatewayUrl].map((url) => LineStream.open(url, '/v3/lease/keepalive', { ID: id })))
    try {
      for (const stream of streams) assert.equal((await stream.next()).result.TTL, '30')
      await cluster.kill(leader.name)
      // As etcd's follower: a renewal waits for the next leader instead of ending the stream.
      for (const stream of streams) {
        stream.send({ ID: id })
        const answer = await stream.next(15_000)
        assert.equal(answer?.result?.TTL, '30', JSON.stringify(answer))
      }
      assert.notEqual((await cluster.waitForLeader()).name, leader.name)
    } finally {
      for (const stream of streams) stream.close()
      await cluster.restart(leader.name)
    }
    await cluster.waitForLeader()
  })
})

async function post404(url: string, lease: string): Promise<{ status: number; code: number; message: string }> {
  const res = await fetch(`${url}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('l/late'), value: b64('x'), lease }),
  })
  const body = (await res.json()) as { code: number; message: string }
  return { status: res.status, code: body.code, message: body.message }
}
