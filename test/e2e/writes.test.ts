/**
 * Writes through every member (leader and followers) and through the gateway: each is visible to
 * a linearizable read on every member right after it was acknowledged, revisions only go up,
 * and serializable reads on followers catch up.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { b64, call, eventually, post, prefixEnd, unb64, useCluster } from './cluster-harness.ts'
import { parsePrometheus } from '../../src/gateway/ui-metrics.ts'

describe('writes', { timeout: 90_000 }, () => {
  const cluster = useCluster({ gateway: true })
  const endpoints = (): Array<[string, string]> => [
    ...cluster.memberNames.map((n): [string, string] => [n, cluster.url(n)]),
    ['gateway', cluster.gatewayUrl],
  ]

  test('a put through any member or the gateway is read back from every member', async () => {
    const leader = await cluster.leader()
    let last = 0
    for (const [name, url] of endpoints()) {
      const key = `w/one/${name}`
      const put = await call(url, '/v3/kv/put', { key: b64(key), value: b64(`via ${name}`) })
      const revision = Number(put.header.revision)
      assert.ok(revision > last, `revision ${revision} after ${last} (put via ${name})`)
      last = revision
      // Acknowledged means committed: a linearizable read anywhere sees it at once.
      for (const reader of cluster.memberNames) {
        const got = await call(cluster.url(reader), '/v3/kv/range', { key: b64(key) })
        assert.equal(got.count, '1', `${key} read on ${reader}`)
        assert.equal(unb64(got.kvs[0].value), `via ${name}`)
        assert.equal(got.kvs[0].mod_revision, String(revision))
        assert.ok(Number(got.header.revision) >= revision, `${reader}'s header revision is behind the put`)
      }
    }
    // Each member answers with its own member ID, all with the same cluster ID.
    const headers = await Promise.all(
      cluster.memberNames.map((n) => call(cluster.url(n), '/v3/kv/range', { key: b64('x') })),
    )
    assert.equal(new Set(headers.map((h) => h.header.cluster_id)).size, 1)
    assert.deepEqual(
      headers.map((h) => h.header.member_id),
      await Promise.all(cluster.memberNames.map((n) => cluster.memberId(n))),
    )
    assert.ok(cluster.memberNames.includes(leader.name))
  })

  test("a follower's answers name the leader (x-edgecd-leader, for the gateway); the leader's and the gateway's do not", async () => {
    const leader = await cluster.leader()
    for (const [name, url] of endpoints()) {
      const put = await post(url, '/v3/kv/put', { key: b64(`w/hint/${name}`), value: b64('v') })
      assert.equal(put.status, 200)
      const follower = name !== 'gateway' && name !== leader.name
      assert.equal(put.headers.get('x-edgecd-leader'), follower ? String(leader.id) : null, name)
      // A leader-only call, which a follower forwards: the answer is the leader's, the hint the follower's.
      const ttl = await post(url, '/v3/lease/timetolive', { ID: 1 })
      assert.equal(ttl.status, 200)
      assert.equal(ttl.headers.get('x-edgecd-leader'), follower ? String(leader.id) : null, `${name} timetolive`)
      // As in etcd, the header names the member asked, forwarded or not (the gateway's: the leader).
      const asked = name === 'gateway' ? String(leader.id) : await cluster.memberId(name)
      assert.equal(ttl.json.header.member_id, asked, `${name} timetolive header`)
    }
  })

  test("a forwarded call's answer is this connection's: Connection: close is honoured, not the leader's keep-alive", async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const { hostname, port } = new URL(cluster.url(follower))
    const body = '{"ID":1}'
    const raw = await new Promise<string>((resolve, reject) => {
      let text = ''
      const socket = connect(Number(port), hostname, () =>
        socket.write(`POST /v3/lease/timetolive HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      )
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
      // The answer ends with the connection: the member closed it, as asked.
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
      setTimeout(() => reject(new Error(`still open after 5 s: ${text}`)), 5000)
    })
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase()
    assert.match(head, /^http\/1\.1 200/)
    assert.match(head, /\r\nconnection: close\r\n/)
    assert.doesNotMatch(head, /keep-alive/)
    assert.match(head, new RegExp(`\r\nx-edgecd-leader: ${leader.id}\r\n`))
  })

  test('concurrent puts through all endpoints get distinct revisions and all land', async () => {
    const perEndpoint = 12
    const acks = await Promise.all(
      endpoints().flatMap(([name, url]) =>
        Array.from({ length: perEndpoint }, async (_, i) => {
          const key = `w/many/${name}/${String(i).padStart(2, '0')}`
          const put = await call(url, '/v3/kv/put', { key: b64(key), value: b64(String(i)) })
          return { key, revision: Number(put.header.revision) }
        }),
      ),
    )
    const revisions = acks.map((a) => a.revision)
    assert.equal(new Set(revisions).size, revisions.length, 'two puts were acknowledged with the same revision')
    const byKey = new Map(acks.map((a) => [a.key, a.revision]))
    for (const reader of cluster.memberNames) {
      const range = { key: b64('w/many/'), range_end: prefixEnd('w/many/') }
      const got = await call(cluster.url(reader), '/v3/kv/range', range)
      assert.equal(Number(got.count), acks.length, `count on ${reader}`)
      for (const kv of got.kvs) assert.equal(Number(kv.mod_revision), byKey.get(unb64(kv.key)), unb64(kv.key))
    }
  })

  test('the revision a client sees never goes down, whichever endpoint it reads', async () => {
    let seen = 0
    for (let round = 0; round < 5; round++) {
      for (const [name, url] of endpoints()) {
        const put = await call(url, '/v3/kv/put', { key: b64('w/mono'), value: b64(`${round}/${name}`) })
        assert.ok(Number(put.header.revision) > seen, `put via ${name}: ${put.header.revision} after ${seen}`)
        seen = Number(put.header.revision)
        for (const [reader, readUrl] of endpoints()) {
          const got = await call(readUrl, '/v3/kv/range', { key: b64('w/mono') })
          assert.ok(Number(got.header.revision) >= seen, `read via ${reader}: ${got.header.revision} < ${seen}`)
          assert.equal(unb64(got.kvs[0].value), `${round}/${name}`, `read via ${reader}`)
        }
      }
    }
  })

  test('serializable reads on followers eventually see a write', async () => {
    const leader = await cluster.leader()
    const followers = cluster.memberNames.filter((n) => n !== leader.name)
    assert.equal(followers.length, 2)
    const put = await call(leader.url, '/v3/kv/put', { key: b64('w/ser'), value: b64('fresh') })
    for (const f of followers) {
      const got = await eventually(`${f} serves the write serializably`, async () => {
        const r = await call(cluster.url(f), '/v3/kv/range', { key: b64('w/ser'), serializable: true })
        assert.equal(unb64(r.kvs?.[0]?.value), 'fresh')
        return r
      })
      assert.equal(got.kvs[0].mod_revision, put.header.revision)
    }
    // Through the gateway, serializable reads are spread over members; all of them see it now.
    for (let i = 0; i < 6; i++) {
      const r = await call(cluster.gatewayUrl, '/v3/kv/range', { key: b64('w/ser'), serializable: true })
      assert.equal(unb64(r.kvs[0].value), 'fresh')
    }
  })

  test('deletes and txns through a follower and the gateway', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    for (const url of [cluster.url(follower), cluster.gatewayUrl]) {
      await call(url, '/v3/kv/put', { key: b64('w/t/a'), value: b64('1') })
      const txn = await call(url, '/v3/kv/txn', {
        compare: [{ key: b64('w/t/a'), target: 'VALUE', result: 'EQUAL', value: b64('1') }],
        success: [
          { request_put: { key: b64('w/t/b'), value: b64('2') } },
          { request_delete_range: { key: b64('w/t/a') } },
        ],
      })
      assert.equal(txn.succeeded, true)
      assert.equal(txn.responses[1].response_delete_range.deleted, '1')
      for (const reader of cluster.memberNames) {
        const got = await call(cluster.url(reader), '/v3/kv/range', { key: b64('w/t/'), range_end: prefixEnd('w/t/') })
        assert.deepEqual(got.kvs.map((kv: { key: string }) => unb64(kv.key)), ['w/t/b'], reader)
        assert.equal(got.kvs[0].mod_revision, txn.header.revision)
      }
      const del = await call(url, '/v3/kv/deleterange', { key: b64('w/t/'), range_end: prefixEnd('w/t/') })
      assert.equal(del.deleted, '1')
      const gone = await post(cluster.url(leader.name), '/v3/kv/range', { key: b64('w/t/b') })
      assert.equal(gone.json.kvs, undefined)
    }
    cluster.assertAlive()
  })

  test('the leader reports the bytes it sent to and received from each follower, and its round trips to them, by hex ID', async () => {
    const leader = await cluster.leader()
    await call(cluster.url(leader.name), '/v3/kv/put', { key: b64('w/metrics'), value: b64('1') })
    const others = await Promise.all(
      cluster.memberNames.filter((n) => n !== leader.name).map(async (n) => BigInt(await cluster.memberId(n)).toString(16)),
    )
    const res = await fetch(`${cluster.url(leader.name)}/metrics`)
    const samples = parsePrometheus(await res.text())
    const peers = (name: string, label: string): string[] =>
      samples.filter((s) => s.name === name && s.value > 0).map((s) => s.labels[label] as string).sort()
    others.sort()
    assert.deepEqual(peers('etcd_network_peer_sent_bytes_total', 'To'), others)
    assert.deepEqual(peers('etcd_network_peer_received_bytes_total', 'From'), others)
    assert.ok(samples.some((s) => s.name === 'etcd_network_peer_sent_failures_total'))
    // Each link pings its peer as it opens, then every 5 s.
    assert.deepEqual(peers('etcd_network_peer_round_trip_time_seconds_count', 'To'), others)
    // Committed entries are applied in store batches, each observed once.
    assert.ok(samples.some((s) => s.name === 'etcd_disk_backend_commit_duration_seconds_count' && s.value > 0))
  })

  test("/debug/vars on each member: etcd's expvar page with its command line and Raft's status; the gateway passes on the leader's", async () => {
    const leader = await cluster.leader()
    await call(cluster.url(leader.name), '/v3/kv/put', { key: b64('w/vars'), value: b64('1') })
    const hexOf = async (name: string): Promise<string> => BigInt(await cluster.memberId(name)).toString(16)
    const leaderHex = await hexOf(leader.name)
    const all = (await Promise.all(cluster.memberNames.map(hexOf))).sort()
    const page = async (url: string): Promise<any> => {
      const res = await fetch(`${url}/debug/vars`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
      return res.json()
    }
    for (const name of cluster.memberNames) {
      const vars = await page(cluster.url(name))
      assert.deepEqual(Object.keys(vars), ['cmdline', 'file_descriptor_limit', 'memstats', 'raft.status'])
      const pid = cluster.pid(name) as number
      assert.deepEqual(vars.cmdline, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0'))
      assert.ok(vars.memstats.Sys > 0 && vars.file_descriptor_limit > 0)
      const raft = vars['raft.status']
      assert.equal(raft.id, await hexOf(name))
      assert.equal(raft.lead, leaderHex)
      assert.ok(raft.applied > 0 && raft.commit >= raft.applied, JSON.stringify(raft))
      if (name === leader.name) {
        assert.equal(raft.raftState, 'StateLeader')
        assert.deepEqual(Object.keys(raft.progress).sort(), all)
        for (const pr of Object.values(raft.progress) as Array<{ match: number; next: number; state: string }>) {
          assert.equal(pr.state, 'StateReplicate')
          assert.ok(pr.match <= raft.commit && pr.next > pr.match, JSON.stringify(raft))
        }
      } else {
        assert.equal(raft.raftState, 'StateFollower')
        assert.deepEqual(raft.progress, {})
      }
    }
    assert.equal((await page(cluster.gatewayUrl))['raft.status'].raftState, 'StateLeader')
    const metrics = await fetch(`${cluster.gatewayUrl}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const samples = parsePrometheus(await metrics.text())
    // etcdctl check datascale reads process_resident_memory_bytes from the endpoint it is given.
    assert.ok(samples.some((s) => s.name === 'process_resident_memory_bytes' && s.value > 0))
    assert.equal(samples.find((s) => s.name === 'etcd_server_is_leader')?.value, 1)
  })
})
