/**
 * The typed client against the fake members directly and through a gateway in front of them:
 * the same calls, the same typed answers (bytes, numbers, bigints), etcd errors as EtcdError.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { compare, createClient, EtcdError, op, utf8, type Client } from '../../src/client/index.ts'
import { FakeCluster } from '../gateway/fake-cluster.ts'
import { startGateway, type RunningGateway } from '../gateway/serve-gateway.ts'

for (const via of ['members', 'gateway'] as const) {
  describe(`client via ${via}`, { timeout: 30_000 }, () => {
    let cluster: FakeCluster
    let gw: RunningGateway | undefined
    let client: Client

    before(async () => {
      cluster = await FakeCluster.start(3)
      gw = via === 'gateway' ? await startGateway({ endpoints: cluster.urls }) : undefined
      client = createClient({ endpoints: gw === undefined ? cluster.urls : [gw.url], timeoutMs: 2000 })
    })
    after(async () => {
      await gw?.close()
      await cluster.close()
    })

    test('put and get: strings and bytes in, bytes and numbers out', async () => {
      const put = await client.kv.put('k/a', 'one')
      assert.equal(typeof put.header.revision, 'number')
      await client.kv.put(new Uint8Array([0x6b, 0x2f, 0x62]), new Uint8Array([1, 2, 3]))
      const one = await client.kv.get('k/a')
      assert.equal(one.count, 1)
      assert.equal(utf8(one.kvs[0]!.value), 'one')
      assert.equal(one.kvs[0]!.version, 1)
      assert.equal(typeof one.header.memberId, 'bigint')
      const all = await client.kv.get('k/', { prefix: true })
      assert.deepEqual(all.kvs.map((kv) => utf8(kv.key)), ['k/a', 'k/b'])
      assert.deepEqual([...all.kvs[1]!.value], [1, 2, 3])
      const limited = await client.kv.get('k/', { prefix: true, limit: 1 })
      assert.equal(limited.kvs.length, 1)
      assert.equal(limited.more, true)
      assert.equal(limited.count, 2)
      const none = await client.kv.get('nothing')
      assert.deepEqual([none.kvs.length, none.count, none.more], [0, 0, false])
    })

    test('put with prevKv, delete with a prefix', async () => {
      await client.kv.put('d/x', '1')
      const again = await client.kv.put('d/x', '2', { prevKv: true })
      assert.equal(utf8(again.prevKv!.value), '1')
      await client.kv.put('d/y', '3')
      const deleted = await client.kv.delete('d/', { prefix: true, prevKv: true })
      assert.equal(deleted.deleted, 2)
      assert.deepEqual(deleted.prevKvs.map((kv) => utf8(kv.value)), ['2', '3'])
      assert.equal((await client.kv.get('d/', { prefix: true })).count, 0)
    })

    test('txn builder: create-if-absent succeeds once, then the else branch reads', async () => {
      const attemptLock = () =>
        client.kv.txn().if(compare.version('lock', '=', 0)).then(op.put('lock', 'me')).else(op.get('lock')).commit()
      const first = await attemptLock()
      assert.equal(first.succeeded, true)
      assert.equal(first.responses[0]!.type, 'put')
      const second = await attemptLock()
      assert.equal(second.succeeded, false)
      const read = second.responses[0]!
      assert.equal(read.type, 'range')
      assert.equal(read.type === 'range' && utf8(read.response.kvs[0]!.value), 'me')
    })

    test('an error answer is thrown as EtcdError with etcd\'s code and message', async () => {
      await assert.rejects(client.kv.put('', 'x'), (e: unknown) => {
        assert.ok(e instanceof EtcdError)
        assert.equal(e.code, 3)
        assert.equal(e.message, 'etcdserver: key is not provided')
        return true
      })
      await assert.rejects(client.kv.compact(1_000_000), { code: 11, message: 'etcdserver: mvcc: required revision is a future revision' })
    })

    test('leases: grant, attach, timeToLive with keys, keepAliveOnce, leases, revoke deletes the keys', async () => {
      const { id, ttl } = await client.lease.grant(30)
      assert.equal(typeof id, 'bigint')
      assert.equal(ttl, 30)
      await client.kv.put('l/a', 'v', { lease: id })
      const ttlAnswer = await client.lease.timeToLive(id, { keys: true })
      assert.equal(ttlAnswer.grantedTtl, 30)
      assert.deepEqual(ttlAnswer.keys.map(utf8), ['l/a'])
      assert.equal((await client.lease.keepAliveOnce(id)).ttl, 30)
      assert.ok((await client.lease.leases()).leases.some((l) => l.id === id))
      await client.lease.revoke(id)
      assert.equal((await client.kv.get('l/a')).count, 0)
      assert.equal((await client.lease.timeToLive(id)).ttl, -1)
      await assert.rejects(client.lease.revoke(id), { code: 5 })
    })

    test('keepAlive refreshes in the background until closed; an unknown lease ends it', async () => {
      const { id } = await client.lease.grant(10)
      const keeper = client.lease.keepAlive(id, { intervalMs: 20 })
      const seen: number[] = []
      for await (const answer of keeper) {
        seen.push(answer.ttl)
        if (seen.length === 3) break
      }
      keeper.close()
      await keeper.done
      assert.deepEqual(seen, [10, 10, 10])
      const gone = client.lease.keepAlive(424242n, { intervalMs: 20 })
      await gone.done
      assert.equal(gone.latest, undefined)
    })

    test('watch: created, then events as they happen; cancel ends the iteration', async () => {
      const watch = client.watch('w/', { prefix: true, prevKv: true })
      const iterator = watch[Symbol.asyncIterator]()
      const created = await iterator.next()
      assert.equal(created.value.created, true)
      await client.kv.put('w/a', '1')
      await client.kv.put('w/a', '2')
      const first = (await iterator.next()).value
      assert.equal(utf8(first.events[0].kv.value), '1')
      const second = (await iterator.next()).value
      assert.equal(utf8(second.events[0].prevKv.value), '1')
      watch.cancel()
      assert.equal((await iterator.next()).done, true)
    })

    test('watch: a broken stream is resumed from the next revision, nothing lost or repeated', async () => {
      const watch = client.watch('r/', { prefix: true, retryPauseMs: 10 })
      const iterator = watch[Symbol.asyncIterator]()
      assert.equal((await iterator.next()).value.created, true)
      await client.kv.put('r/1', 'a')
      const a = (await iterator.next()).value
      assert.equal(utf8(a.events[0].kv.key), 'r/1')
      cluster.breakWatches()
      await client.kv.put('r/2', 'b')
      await client.kv.put('r/3', 'c')
      const keys: string[] = []
      while (keys.length < 2) {
        const { value } = await iterator.next()
        assert.notEqual(value.created, true, 'the second created message is not delivered')
        keys.push(...value.events.map((e: any) => utf8(e.kv.key)))
      }
      assert.deepEqual(keys, ['r/2', 'r/3'])
      assert.equal(watch.nextRevision, cluster.revision + 1)
      watch.cancel()
    })

    test('watch from a compacted revision: the canceled message, then the end', async () => {
      await client.kv.put('c/1', 'x')
      await client.kv.compact(cluster.revision)
      const messages = []
      for await (const m of client.watch('c/', { prefix: true, startRevision: 1 })) messages.push(m)
      assert.equal(messages.length, 2)
      assert.equal(messages[1]!.canceled, true)
      assert.equal(messages[1]!.compactRevision, cluster.compactRevision)
    })

    test('cluster member list and maintenance: typed IDs, status, hash, snapshot chunks', async () => {
      const { members } = await client.cluster.memberList()
      assert.deepEqual(members.map((m) => m.id), [1001n, 1002n, 1003n])
      assert.deepEqual(members[1]!.clientUrls, [cluster.members[1]!.url])
      const status = await client.maintenance.status()
      assert.equal(status.leader, BigInt(cluster.leaderId))
      assert.equal(status.version, '3.4.23')
      assert.equal((await client.maintenance.hash()).hash, 4115841888)
      const chunks = []
      for await (const chunk of client.maintenance.snapshot()) chunks.push(utf8(chunk))
      assert.deepEqual(chunks, ['snap', 'sum'])
      await client.maintenance.moveLeader(1003n)
      assert.equal((await client.maintenance.status()).leader, 1003n)
    })
  })
}
