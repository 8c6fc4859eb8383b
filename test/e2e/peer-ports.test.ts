/**
 * Members started as etcd's usually are: peers on ports of their own (--listen-peer-urls), clients
 * on theirs. The mesh is served on the peer ports only; member to member calls (a follower's
 * forward to the leader, a joining member asking for the member list) reach the peer port too,
 * which serves clients' own calls nothing; clients are served on every client URL. A member added later with its own peer port joins, and
 * the cluster lives through the leader's kill -9.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PEER_PATH } from '../../src/mesh/ws-mesh.ts'
import { probeIdleKeepAlive } from '../keep-alive-probe.ts'
import { b64, call, eventually, freePort, LineStream, post, startCluster, unb64, type ApiMember } from './cluster-harness.ts'

test('peers on their own ports: mesh, forwards and joining go there, clients are served on every client URL', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(t, { gateway: true, peerPorts: true })
  const names = cluster.memberNames
  for (const n of names) assert.notEqual(cluster.peerUrl(n), cluster.url(n))

  // Each member publishes its client URL; its peer URL is the peer port.
  const expected = names.map((n) => ({ name: n, peerURLs: [cluster.peerUrl(n)], clientURLs: [cluster.url(n)] }))
  await eventually('every member published itself', async () => {
    for (const n of names) {
      const list = (await call(cluster.url(n), '/v3/cluster/member/list')).members as ApiMember[]
      const seen = list.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs })).sort((a, b) => String(a.name).localeCompare(String(b.name)))
      assert.deepEqual(seen, expected)
    }
  })

  // The mesh is on the peer port only; the client port does not know its path. The peer port
  // serves the member list (members ask it there), not clients' calls.
  for (const n of names) {
    assert.equal((await post(cluster.url(n), PEER_PATH, undefined, { method: 'GET' })).status, 404, `${n}'s client port serves no mesh`)
    assert.equal((await post(cluster.peerUrl(n), PEER_PATH, undefined, { method: 'GET' })).status, 426, `${n}'s peer port serves the mesh`)
    assert.equal((await post(cluster.peerUrl(n), '/v3/cluster/member/list')).status, 200)
    const put = await post(cluster.peerUrl(n), '/v3/kv/put', { key: b64('p/peer'), value: b64('x') })
    assert.deepEqual([put.status, put.text], [404, '404 page not found\n'], `${n}'s peer port serves no client call`)
    assert.equal((await post(cluster.peerUrl(n), '/health', undefined, { method: 'GET' })).status, 404, 'as etcd: no /health on a peer port')
    // etcd's GET /members: the members as etcd writes them, IDs as numbers.
    const members = await post(cluster.peerUrl(n), '/members', undefined, { method: 'GET' })
    assert.equal(members.status, 200)
    const ids = (await call(cluster.url(n), '/v3/cluster/member/list')).members.map((m: ApiMember) => Number(m.ID)).sort()
    assert.deepEqual(members.json.map((m: { id: number }) => m.id).sort(), ids)
    assert.deepEqual(Object.keys(members.json[0]), ['id', 'peerURLs', 'name', 'clientURLs'])
    assert.equal(members.headers.get('x-etcd-cluster-id'), BigInt((await call(cluster.url(n), '/v3/maintenance/status')).header.cluster_id).toString(16))
    assert.equal((await post(cluster.peerUrl(n), '/members', {})).status, 405)
  }

  // As the client port, etcd's timeouts: an idle kept-alive connection stays open (members pool
  // theirs for forwards; Node's default closed it after 5 s), as do long forwarded streams.
  const { hostname, port } = new URL(cluster.peerUrl(names[0] as string))
  const probe = await probeIdleKeepAlive(hostname, Number(port), '/version')
  assert.equal(probe.closedWhileIdle, false, 'the peer port closed an idle kept-alive connection')
  assert.equal(probe.oks, 2, probe.received)

  // Writes through a follower, the leader and the gateway; a follower forwards leader-only calls
  // (a lease's time to live) to the leader's peer URL.
  const endpoints = await cluster.clientEndpoints()
  for (const [who, url] of endpoints) await call(url, '/v3/kv/put', { key: b64(`p/${who}`), value: b64(who) })
  const [followerName, followerUrl] = endpoints[0] as [string, string]
  const lease = await call(followerUrl, '/v3/lease/grant', { TTL: 30 })
  const ttl = await post(followerUrl, '/v3/lease/timetolive', { ID: lease.ID })
  assert.equal(ttl.status, 200, `${followerName}: ${ttl.text}`)
  assert.equal(ttl.json.ID, lease.ID)
  assert.ok(Number(ttl.json.TTL) > 0)
  const leader = await cluster.leader()
  assert.equal(ttl.headers.get('x-edgecd-leader'), leader.id, 'the follower forwarded it to the leader')
  // A keepalive stream through the follower, forwarded as a stream.
  const keepalive = await LineStream.open(followerUrl, '/v3/lease/keepalive', { ID: lease.ID })
  assert.equal((await keepalive.next()).result.TTL, '30')
  keepalive.send({ ID: lease.ID })
  assert.equal((await keepalive.next()).result.ID, lease.ID)
  keepalive.close()

  // The leader dies: the others elect one over their peer ports, and writes go on.
  await cluster.kill(leader.name)
  const next = await cluster.waitForLeader(20_000)
  assert.notEqual(next.name, leader.name)
  await eventually('a write after the failover', () => call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('p/after'), value: b64('1') }), { timeoutMs: 20_000 })
  await cluster.restart(leader.name)
  await cluster.waitForLeader(20_000)

  // A member added with a peer port of its own joins (it asks the others' peer URLs for the
  // member list), and serves clients on each of its two client URLs.
  const peer4 = await cluster.reservePeer('m4')
  const added = await call(cluster.url(next.name), '/v3/cluster/member/add', { peerURLs: [peer4], isLearner: true })
  const second = `http://127.0.0.1:${await freePort()}`
  await cluster.addMember('m4', ['--listen-client-urls', `${cluster.url('m4')},${second}`])
  for (const url of [cluster.url('m4'), second]) {
    const s = await eventually(`m4 answers on ${url}`, () => call(url, '/v3/maintenance/status'), { timeoutMs: 30_000 })
    assert.equal(s.header.member_id, added.member.ID)
  }
  const { revision } = await cluster.waitForConvergence(30_000, names)
  await eventually('the learner catches up', async () => {
    const s = await call(second, '/v3/maintenance/status')
    assert.equal(Number(s.header.revision), revision)
  }, { timeoutMs: 30_000 })
  const range = await call(second, '/v3/kv/range', { key: b64('p/after'), serializable: true })
  assert.equal(unb64(range.kvs?.[0]?.value), '1')
  await eventually('m4 published both client URLs', async () => {
    const list = (await call(cluster.url(next.name), '/v3/cluster/member/list')).members as ApiMember[]
    assert.deepEqual(list.find((m) => m.ID === added.member.ID)?.clientURLs, [cluster.url('m4'), second])
  }, { timeoutMs: 30_000 })
})
