/**
 * Membership changes with real processes: a fourth member added as a learner (member/add, then
 * started with `--initial-cluster-state existing`) catches up, is promoted (412 "not in sync"
 * while it is not running), another member is removed (its process exits), and writes keep
 * working; member/list reflects each step. And `--auto-promote`: the leader promotes a learner
 * once it has caught up. And a one-member cluster grown by adding a voter directly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, call, eventually, post, prefixEnd, type ApiMember, type Cluster, startCluster, unb64 } from './cluster-harness.ts'

async function memberList(url: string): Promise<ApiMember[]> {
  const list = await call(url, '/v3/cluster/member/list')
  assert.equal(list.header.revision, undefined, 'member APIs have no header revision')
  const peer = (m: ApiMember): string => m.peerURLs[0] as string
  return [...(list.members as ApiMember[])].sort((a, b) => peer(a).localeCompare(peer(b)))
}

/** Every running member but `learners` (they refuse member/list) answers the same list, in which `check` holds. */
async function expectListEverywhere(cluster: Cluster, check: (list: ApiMember[]) => void, learners: readonly string[] = []): Promise<ApiMember[]> {
  return eventually('member/list on every member', async () => {
    const voters = cluster.runningMembers.filter((n) => !learners.includes(n))
    const lists = await Promise.all(voters.map((n) => memberList(cluster.url(n))))
    for (const l of lists) assert.deepEqual(l, lists[0])
    check(lists[0] as ApiMember[])
    return lists[0] as ApiMember[]
  })
}

async function writeKeys(url: string, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) =>
        call(url, '/v3/kv/put', { key: b64(`${prefix}${String(i + j).padStart(4, '0')}`), value: b64('v') }),
      ),
    )
}

async function countKeys(url: string, prefix: string, serializable = false): Promise<number> {
  const range = { key: b64(prefix), range_end: prefixEnd(prefix), count_only: true, serializable }
  const r = await call(url, '/v3/kv/range', range)
  return Number(r.count ?? 0)
}

test('add a learner, promote it, remove another member; writes keep working', { timeout: 90_000 }, async (t) => {
  const cluster = await startCluster(t, { gateway: true })
  await writeKeys(cluster.gatewayUrl, 'm/before/', 60)
  const leader = await cluster.leader()
  const follower = cluster.memberNames.find((n) => n !== leader.name) as string
  // Every member publishes its name and client URLs shortly after it starts.
  const initial = await expectListEverywhere(cluster, (l) => {
    assert.equal(l.length, 3)
    assert.ok(l.every((m) => m.isLearner === undefined && m.clientURLs?.[0] === m.peerURLs[0]), 'not all published')
  })
  assert.deepEqual(initial.map((m) => m.name).sort(), ['m1', 'm2', 'm3'])

  // member/add through a follower (it forwards to the leader).
  const url4 = await cluster.reservePeer('m4')
  const added = await call(cluster.url(follower), '/v3/cluster/member/add', { peerURLs: [url4], isLearner: true })
  assert.deepEqual({ ...added.member, ID: undefined }, { ID: undefined, peerURLs: [url4], isLearner: true })
  assert.equal(added.members.length, 4)
  const id4 = added.member.ID as string
  await expectListEverywhere(cluster, (l) => {
    const m4 = l.find((m) => m.ID === id4)
    // Not started yet: no name, no client URLs.
    assert.deepEqual(m4, { ID: id4, peerURLs: [url4], isLearner: true })
  })

  // The same peer URL again, and a promotion of a learner that is not running: etcd's errors.
  const again = await post(leader.url, '/v3/cluster/member/add', { peerURLs: [url4] })
  assert.equal(again.status, 412)
  assert.equal(again.json.message, 'etcdserver: Peer URLs already exists')
  const early = await post(cluster.url(follower), '/v3/cluster/member/promote', { ID: id4 })
  assert.deepEqual({ status: early.status, body: early.json }, {
    status: 412,
    body: {
      error: 'etcdserver: can only promote a learner member which is in sync with leader',
      message: 'etcdserver: can only promote a learner member which is in sync with leader',
      code: 9,
    },
  })

  await cluster.addMember('m4')
  // It joins, publishes its name and client URL, and catches up (by the snapshot a new member gets).
  await expectListEverywhere(cluster, (l) => {
    const m4 = l.find((m) => m.ID === id4)
    assert.deepEqual(m4, { ID: id4, name: 'm4', peerURLs: [url4], clientURLs: [url4], isLearner: true })
  }, ['m4'])
  // A learner does not answer hash calls: it has caught up when its status shows the voters' revision.
  const { revision } = await cluster.waitForConvergence(20_000, cluster.runningMembers.filter((n) => n !== 'm4'))
  const status4 = await eventually('the learner catches up', async () => {
    const s = await call(url4, '/v3/maintenance/status')
    assert.equal(Number(s.header.revision), revision)
    return s
  })
  assert.equal(status4.header.member_id, id4)
  assert.equal(status4.leader, leader.id)
  assert.equal(await countKeys(url4, 'm/before/', true), 60)
  // As etcd, a learner serves status and serializable ranges only: every other call, and every
  // stream (with the stream-error shape, as etcd's gateway), is Unavailable (clients move on to
  // another member).
  const message = 'etcdserver: rpc not supported for learner'
  const unaryRefused = { error: message, message, code: 14 }
  const streamRefused = { error: { grpc_code: 14, http_code: 503, message, http_status: 'Service Unavailable' } }
  for (const [path, body] of [
    ['/v3/kv/put', { key: b64('m/learner'), value: b64('v') }],
    ['/v3/kv/range', { key: b64('m/before/0000') }],
    ['/v3/kv/txn', {}],
    ['/v3/lease/grant', { TTL: 10 }],
    ['/v3/lease/timetolive', { ID: 1 }],
    ['/v3/cluster/member/list', {}],
    ['/v3/maintenance/hash', {}],
    ['/v3/watch', { create_request: { key: b64('m/') } }],
  ] as const) {
    const r = await post(url4, path, body)
    const refused = path === '/v3/watch' ? streamRefused : unaryRefused
    assert.deepEqual({ path, status: r.status, body: r.json }, { path, status: 503, body: refused })
  }

  // Promote, retrying while the leader does not yet consider it in sync.
  const promoted = await eventually('the learner is promoted', async () => {
    const r = await post(cluster.gatewayUrl, '/v3/cluster/member/promote', { ID: id4 })
    if (r.status === 412) assert.fail(`not yet: ${r.text}`)
    assert.equal(r.status, 200, r.text)
    return r.json
  })
  assert.equal(promoted.members.find((m: ApiMember) => m.ID === id4).isLearner, undefined)
  await expectListEverywhere(cluster, (l) => {
    assert.equal(l.length, 4)
    assert.ok(l.every((m) => m.isLearner === undefined))
  })
  const twice = await post(leader.url, '/v3/cluster/member/promote', { ID: id4 })
  assert.equal(twice.status, 412)
  assert.equal(twice.json.message, 'etcdserver: can only promote a learner member')

  // Remove one of the founding followers: its process stops, the other three go on.
  const victim = cluster.memberNames.find((n) => n !== leader.name && n !== 'm4') as string
  const victimId = await cluster.memberId(victim)
  const removed = await call(cluster.url('m4'), '/v3/cluster/member/remove', { ID: victimId })
  assert.equal(removed.members.length, 3)
  assert.ok(!removed.members.some((m: ApiMember) => m.ID === victimId))
  // workers/member.ts: removal from the cluster exits 0, as etcd's (no supervisor is to start it
  // again). The removed member learns it by applying its removal, or from a peer refusing its
  // connection with 410 (the leader stops replicating to it once it applies the removal, so it
  // may never see that entry committed).
  const exit = await cluster.waitForExit(victim, 10_000)
  assert.equal(exit, 'exit code 0')
  await cluster.kill(victim)
  const remaining = await expectListEverywhere(cluster, (l) => assert.equal(l.length, 3))
  assert.deepEqual(remaining.map((m) => m.name).sort(), cluster.runningMembers.sort())
  const gone = await post(leader.url, '/v3/cluster/member/remove', { ID: victimId })
  assert.equal(gone.status, 404)
  assert.equal(gone.json.message, 'etcdserver: member not found')

  // Writes keep working, through the gateway (one of its endpoints is gone) and through m4.
  await writeKeys(cluster.gatewayUrl, 'm/after/', 20)
  await writeKeys(url4, 'm/after4/', 20)
  for (const n of cluster.runningMembers) {
    assert.equal(await countKeys(cluster.url(n), 'm/after/'), 20, n)
    assert.equal(await countKeys(cluster.url(n), 'm/after4/'), 20, n)
  }
  await cluster.waitForConvergence()
  // m4 is a voter now: with m4 and the leader the cluster has its quorum of 2 out of 3, so killing
  // the third member leaves it writable.
  const third = cluster.runningMembers.find((n) => n !== 'm4' && n !== leader.name) as string
  await cluster.kill(third)
  const put = await call(url4, '/v3/kv/put', { key: b64('m/quorum'), value: b64('ok') }, 15_000)
  const got = await call(leader.url, '/v3/kv/range', { key: b64('m/quorum') })
  assert.equal(unb64(got.kvs[0].value), 'ok')
  assert.equal(got.kvs[0].mod_revision, put.header.revision)
  cluster.assertAlive()
})

test('--auto-promote: the leader promotes a learner once it has caught up', { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster(t, { memberFlags: ['--auto-promote'] })
  const leader = await cluster.leader()
  await writeKeys(leader.url, 'a/', 100)
  const url4 = await cluster.reservePeer('m4')
  const added = await call(leader.url, '/v3/cluster/member/add', { peerURLs: [url4], isLearner: true })
  const id4 = added.member.ID as string
  // Not running: it is not caught up, so it stays a learner.
  await new Promise((r) => setTimeout(r, 3 * cluster.options.electionMs))
  assert.equal((await memberList(leader.url)).find((m) => m.ID === id4)?.isLearner, true)

  await cluster.addMember('m4')
  await expectListEverywhere(cluster, (l) => {
    const m4 = l.find((m) => m.ID === id4)
    assert.equal(m4?.name, 'm4')
    assert.equal(m4?.isLearner, undefined, 'still a learner')
  })
  await cluster.waitForConvergence()
  assert.equal(await countKeys(url4, 'a/'), 100)
  const put = await call(url4, '/v3/kv/put', { key: b64('a/new'), value: b64('x') })
  for (const n of cluster.runningMembers) {
    const r = await call(cluster.url(n), '/v3/kv/range', { key: b64('a/new') })
    assert.equal(r.kvs[0].mod_revision, put.header.revision, n)
  }
  cluster.assertAlive()
})

test('a one-member cluster grows by adding a voter directly, then starting it (as with etcd)', { timeout: 60_000 }, async (t) => {
  // Once the second voter is added, m1 has no quorum and steps down at its next quorum check,
  // up to an election timeout later: a long one leaves the checks below time to reach its leader.
  const cluster = await startCluster(t, { size: 1, electionMs: 3000 })
  await writeKeys(cluster.url('m1'), 'g/', 20)
  const url2 = await cluster.reservePeer('m2')
  const added = await call(cluster.url('m1'), '/v3/cluster/member/add', { peerURLs: [url2] })
  assert.deepEqual({ ...added.member, ID: undefined }, { ID: undefined, peerURLs: [url2] })
  // Two voters, one of them never started: no second voter until it has, no learner while it is down.
  const another = await post(cluster.url('m1'), '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'] })
  assert.deepEqual([another.status, another.json?.message], [500, 'etcdserver: re-configuration failed due to not enough started members'])
  // As etcd, the health checks come before the duplicate URL check (made at apply there).
  const duplicate = await post(cluster.url('m1'), '/v3/cluster/member/add', { peerURLs: [url2] })
  assert.deepEqual([duplicate.status, duplicate.json?.message], [500, 'etcdserver: re-configuration failed due to not enough started members'])
  // Promoting the unstarted voter: etcd checks readiness before learner-ness.
  const early = await post(cluster.url('m1'), '/v3/cluster/member/promote', { ID: added.member.ID })
  assert.deepEqual([early.status, early.json?.message], [412, 'etcdserver: can only promote a learner member which is in sync with leader'])
  await cluster.addMember('m2')
  await cluster.waitForConvergence(20_000)
  assert.equal(await countKeys(url2, 'g/', true), 20)
  await writeKeys(url2, 'g2/', 10)
  assert.equal(await countKeys(cluster.url('m1'), 'g2/'), 10)
  await expectListEverywhere(cluster, (l) => {
    assert.deepEqual(l.map((m) => m.name).sort(), ['m1', 'm2'])
    assert.ok(l.every((m) => m.isLearner === undefined))
  })
  cluster.assertAlive()
})
