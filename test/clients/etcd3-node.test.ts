/**
 * The etcd3 npm package (a gRPC client, what Node services use for etcd) against the gateway's
 * gRPC port: kv, several watchers multiplexed on one watch stream (one with prev_kv), a lease
 * kept alive past its TTL by the client's keepalive stream, lock and election recipes, an STM
 * transaction, a txn, member list, status, and a typed error.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Etcd3, EtcdLeaseInvalidError, GRPCOutOfRangeError } from 'etcd3'
import { eventually, sleep, useCluster } from '../e2e/cluster-harness.ts'

describe('etcd3 (npm, gRPC) through the gateway', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true })
  let client: Etcd3

  test('kv, watches on one stream, a kept-alive lease, lock, election, stm, txn, cluster, errors', async (t) => {
    client = new Etcd3({ hosts: new URL(cluster.gatewayUrl).host })
    t.after(() => client.close())

    await client.put('e3/a').value('1')
    assert.equal(await client.get('e3/a').string(), '1')
    assert.deepEqual(await client.getAll().prefix('e3/').strings(), { 'e3/a': '1' })

    const all = await client.watch().prefix('e3/w/').create()
    const one = await client.watch().key('e3/w/b').withPreviousKV().create()
    const seen: string[] = []
    all.on('put', (kv) => seen.push(`all put ${kv.key.toString()}`))
    all.on('delete', (kv) => seen.push(`all delete ${kv.key.toString()}`))
    one.on('put', (kv, prev) => seen.push(`one put ${kv.value.toString()} after ${prev?.value.toString() ?? '-'}`))
    await client.put('e3/w/a').value('x')
    await client.put('e3/w/b').value('y')
    await client.put('e3/w/b').value('z')
    await client.delete().key('e3/w/a')
    await eventually('every event', () => assert.equal(seen.length, 6, seen.join('\n')))
    assert.deepEqual(seen.filter((s) => s.startsWith('all')), ['all put e3/w/a', 'all put e3/w/b', 'all put e3/w/b', 'all delete e3/w/a'])
    assert.deepEqual(seen.filter((s) => s.startsWith('one')), ['one put y after -', 'one put z after y'])
    await all.cancel()
    await one.cancel()

    // A 3 s lease outlives its TTL while the client keeps it alive, then goes with its key.
    const lease = client.lease(3)
    await lease.put('e3/leased').value('alive')
    await sleep(4500)
    assert.equal(await client.get('e3/leased').string(), 'alive')
    await lease.revoke()
    assert.equal(await client.get('e3/leased').string(), null)
    // Revoking an unknown lease: etcd's "requested lease not found", which the client types.
    await assert.rejects(client.leaseClient.leaseRevoke({ ID: '987654321' }), EtcdLeaseInvalidError)

    const lock = client.lock('e3-lock')
    await lock.acquire()
    await lock.release()

    const election = client.election('e3-elect')
    const campaign = election.campaign('first')
    await new Promise<void>((resolve, reject) => {
      campaign.on('elected', () => resolve())
      campaign.on('error', reject)
    })
    assert.equal(await election.leader(), 'first')
    await campaign.resign()

    const before = await client.stm().transact(async (tx) => {
      const v = await tx.get('e3/a')
      await tx.put('e3/a').value(String(Number(v) + 1))
      return v
    })
    assert.equal(before, '1')
    assert.equal(await client.get('e3/a').string(), '2')
    const txn = await client.if('e3/a', 'Value', '==', '2').then(client.put('e3/a').value('3')).else(client.get('e3/a')).commit()
    assert.equal(txn.succeeded, true)

    assert.equal((await client.cluster.memberList({})).members.length, 3)
    assert.equal((await client.maintenance.status({})).version, '3.4.23')
    await assert.rejects(client.get('e3/a').revision(1_000_000).string(), (err: unknown) => {
      assert.ok(err instanceof GRPCOutOfRangeError)
      assert.match((err as Error).message, /required revision is a future revision/)
      return true
    })
    await client.delete().prefix('e3/')
  })
})
