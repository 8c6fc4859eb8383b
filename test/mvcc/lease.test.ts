/**
 * Leases (shared/etcd-v3-http-api.md §7): grant, revoke, time-to-live, list, and the lessor that
 * decides expiry from the leader's clock (times are arguments; nothing reads a clock).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NotPrimaryError } from '../../src/mvcc/index.ts'
import { b, Harness, keys, s } from './helpers.ts'

test('lease grant: an explicit ID is kept; grant does not change the revision', () => {
  const h = new Harness()
  const r = h.grant(60, 1000n)
  assert.deepEqual([r.id, r.ttl, r.header.revision, h.store.currentRevision()], [1000n, 60, 1, 1])
})

test('lease grant: ID 0 picks the raft index, moved past IDs already taken', () => {
  const h = new Harness()
  assert.equal(h.grant(60).id, 1n)
  h.grant(60, 3n)
  assert.equal(h.grant(60).id, 4n, 'index 3 is taken by the explicit grant, so 4')
  const other = new Harness()
  other.grant(60)
  other.grant(60, 3n)
  assert.equal(other.grant(60).id, 4n, 'the same log picks the same IDs on every member')
})

test('lease grant: negative and int64-extreme IDs are accepted', () => {
  const h = new Harness()
  for (const id of [-5n, -(2n ** 63n), 2n ** 63n - 1n]) assert.equal(h.grant(10, id).id, id)
  h.put('k', 'v', { lease: -(2n ** 63n) })
  assert.equal(h.get('k').kvs[0]!.lease, -(2n ** 63n))
  assert.deepEqual(h.store.leaseLeases().leases.map((l) => l.id), [-5n, -(2n ** 63n), 2n ** 63n - 1n])
})

const ttlCases: [string, number, number | RegExp][] = [
  ['a TTL below the minimum becomes the minimum', 1, 2],
  ['TTL 0 becomes the minimum', 0, 2],
  ['a negative TTL becomes the minimum', -7, 2],
  ['the largest TTL is accepted', 9_000_000_000, 9_000_000_000],
  ['a TTL above 9000000000 is refused', 9_000_000_001, /too large lease TTL/],
]
for (const [name, ttl, expected] of ttlCases) {
  test(`lease grant: ${name}`, () => {
    const h = new Harness()
    if (expected instanceof RegExp) assert.throws(() => h.grant(ttl), expected)
    else assert.equal(h.grant(ttl).ttl, expected)
  })
}

test('lease grant: the minimum TTL is configurable', () => {
  assert.equal(new Harness({ minLeaseTtl: 5 }).grant(3).ttl, 5)
})

test('lease grant: an ID in use is refused with FailedPrecondition', () => {
  const h = new Harness()
  h.grant(60, 7n)
  const r = h.run({ type: 'lease-grant', request: { ttl: 60, id: 7n } })
  assert.deepEqual([r.error?.message, r.error?.code], ['etcdserver: lease already exists', 9])
})

test('lease revoke: deletes every attached key in one revision', () => {
  const h = new Harness()
  h.grant(60, 1000n)
  h.put('l/a', '1', { lease: 1000n })
  h.put('l/b', '1', { lease: 1000n })
  h.put('other', '1')
  const r = h.run({ type: 'lease-revoke', request: { id: 1000n } })
  assert.equal(r.revision, 5)
  assert.deepEqual(r.events.map((e) => `${e.type} ${s(e.kv.key)}@${e.kv.modRevision}`), ['DELETE l/a@5', 'DELETE l/b@5'])
  assert.deepEqual(keys(h.get('a', { rangeEnd: new Uint8Array([0]) }).kvs), ['other'])
  assert.equal(h.store.leaseTimeToLive({ id: 1000n, keys: true }, 0).ttl, -1)
})

test('lease revoke: a lease without keys does not bump the revision', () => {
  const h = new Harness()
  h.grant(60, 9n)
  assert.equal(h.revoke(9n).header.revision, 1)
})

test('lease revoke: an unknown lease is NotFound', () => {
  const h = new Harness()
  const r = h.run({ type: 'lease-revoke', request: { id: 0n } })
  assert.deepEqual([r.error?.message, r.error?.code], ['etcdserver: requested lease not found', 5])
})

test('lease: a key detached by a plain put or deleted is no longer revoked with the lease', () => {
  const h = new Harness()
  h.grant(60, 1n)
  h.put('a', '1', { lease: 1n })
  h.put('b', '1', { lease: 1n })
  h.put('a', '2')
  h.del('b')
  assert.deepEqual(h.store.leaseTimeToLive({ id: 1n, keys: true }, 0).keys, [])
  assert.equal(h.revoke(1n).header.revision, 5)
  assert.deepEqual(keys(h.get('a').kvs), ['a'])
})

test('lease time-to-live: granted TTL, remaining TTL and the attached keys', () => {
  const h = new Harness()
  h.grant(60, 1000n)
  h.put('l/a', '1', { lease: 1000n })
  h.put('l/b', '1', { lease: 1000n })
  h.store.lessor.promote(0)
  const r = h.store.leaseTimeToLive({ id: 1000n, keys: true }, 7_000)
  assert.deepEqual([r.id, r.ttl, r.grantedTtl, r.keys.map(s)], [1000n, 53, 60, ['l/a', 'l/b']])
  assert.deepEqual(h.store.leaseTimeToLive({ id: 1000n, keys: false }, 7_000).keys, [])
  // Whole seconds, truncated like etcd: 59.999 s left is 59, 0.5 s left is 0.
  assert.equal(h.store.leaseTimeToLive({ id: 1000n, keys: false }, 1).ttl, 59)
  assert.equal(h.store.leaseTimeToLive({ id: 1000n, keys: false }, 59_500).ttl, 0)
})

test('lease time-to-live: an unknown lease is TTL -1, not an error', () => {
  const r = new Harness().store.leaseTimeToLive({ id: 424242n, keys: true }, 0)
  assert.deepEqual([r.id, r.ttl, r.grantedTtl, r.keys], [424242n, -1, 0, []])
})

test('lessor: only the primary reports expiry; a granted lease expires TTL after the leader first sees it', () => {
  const h = new Harness()
  h.grant(10, 1n)
  assert.deepEqual(h.store.lessor.expired(1_000_000), [], 'a follower never expires leases')
  h.store.lessor.promote(1_000)
  h.grant(5, 2n)
  assert.deepEqual(h.store.lessor.expired(2_000), [])
  assert.deepEqual(h.store.lessor.expired(7_000), [2n])
  assert.deepEqual(h.store.lessor.expired(9_999), [], 'held back while its revoke is in flight')
  assert.deepEqual(h.store.lessor.expired(10_000), [2n], 'offered again after the 3 s retry interval')
  assert.deepEqual(h.store.lessor.expired(11_000), [1n])
})

test('lessor: a revoked lease is never reported again', () => {
  const h = new Harness()
  h.grant(10, 1n)
  h.store.lessor.promote(0)
  assert.deepEqual(h.store.lessor.expired(10_000), [1n])
  h.revoke(1n)
  assert.deepEqual(h.store.lessor.expired(1_000_000), [])
})

test('lessor: renew restores the full TTL; unknown or expired leases are NotFound', () => {
  const h = new Harness()
  h.grant(10, 1n)
  h.store.lessor.promote(0)
  assert.equal(h.store.lessor.renew(1n, 8_000), 10)
  assert.deepEqual(h.store.lessor.expired(17_000), [])
  assert.equal(h.store.lessor.remainingMs(1n, 17_000), 1_000)
  assert.deepEqual(h.store.lessor.expired(18_000), [1n])
  assert.throws(() => h.store.lessor.renew(1n, 18_001), /requested lease not found/)
  assert.throws(() => h.store.lessor.renew(99n, 0), /requested lease not found/)
})

test('lessor: renew on a follower throws NotPrimaryError (the member forwards to the leader)', () => {
  const h = new Harness()
  h.grant(10, 1n)
  assert.throws(() => h.store.lessor.renew(1n, 0), NotPrimaryError)
  h.store.lessor.promote(0)
  h.store.lessor.demote()
  assert.throws(() => h.store.lessor.renew(1n, 0), NotPrimaryError)
})

test('lessor: promote extends every lease by the given grace (one election timeout)', () => {
  const h = new Harness()
  h.grant(10, 1n)
  h.store.lessor.promote(0, 1_000)
  assert.deepEqual(h.store.lessor.expired(10_500), [])
  assert.deepEqual(h.store.lessor.expired(11_000), [1n])
})

test('lessor: checkpoints carry remaining time to the next leader, so long leases still expire', () => {
  const a = new Harness({ lessor: { checkpointIntervalMs: 60_000 } })
  const b2 = new Harness()
  const grant = { type: 'lease-grant', request: { ttl: 300, id: 1n } } as const
  a.ok(grant)
  b2.ok(grant)
  a.store.lessor.promote(0)
  assert.deepEqual(a.store.lessor.checkpoints(59_999), [])
  const due = a.store.lessor.checkpoints(60_000)
  assert.deepEqual(due, [{ id: 1n, remainingMs: 240_000 }])
  for (const h of [a, b2]) h.ok({ type: 'lease-checkpoint', request: { checkpoints: due } })
  // Leadership moves to b2 at t=100 s on its own clock; the lease has 240 s left, not 300.
  b2.store.lessor.promote(100_000)
  assert.equal(b2.store.leaseTimeToLive({ id: 1n, keys: false }, 100_000).ttl, 240)
  assert.deepEqual(b2.store.lessor.expired(339_999), [])
  assert.deepEqual(b2.store.lessor.expired(340_000), [1n])
})

test('lessor: a renew after a checkpoint clears it at once (remaining 0: the full TTL), and only once', () => {
  const h = new Harness({ lessor: { checkpointIntervalMs: 60_000 } })
  h.grant(300, 1n)
  h.ok({ type: 'lease-checkpoint', request: { checkpoints: [{ id: 1n, remainingMs: 10_000 }] } })
  h.store.lessor.promote(0)
  assert.equal(h.store.lessor.remainingMs(1n, 0), 10_000, 'the new leader starts from the checkpoint')
  h.store.lessor.renew(1n, 5_000)
  const due = h.store.lessor.checkpoints(5_000)
  assert.deepEqual(due, [{ id: 1n, remainingMs: 0 }])
  h.ok({ type: 'lease-checkpoint', request: { checkpoints: due } })
  h.store.lessor.renew(1n, 6_000)
  assert.deepEqual(h.store.lessor.checkpoints(6_000), [], 'renewing a lease without a checkpoint proposes nothing')
  assert.deepEqual(h.store.lessor.checkpoints(64_999), [])
  assert.deepEqual(h.store.lessor.checkpoints(65_000), [{ id: 1n, remainingMs: 241_000 }], 'then one per interval')
  // A new leader gives a cleared lease its full TTL.
  const next = new Harness()
  next.grant(300, 1n)
  next.ok({ type: 'lease-checkpoint', request: { checkpoints: [{ id: 1n, remainingMs: 10_000 }] } })
  next.ok({ type: 'lease-checkpoint', request: { checkpoints: due } })
  next.store.lessor.promote(0)
  assert.equal(next.store.lessor.remainingMs(1n, 0), 300_000)
})

test('lessor: by default each lease is checkpointed once every 5 minutes (etcd\'s interval), none before, kept alive or not', () => {
  const h = new Harness()
  h.grant(60, 1n)
  h.grant(600, 2n)
  h.store.lessor.promote(0)
  for (let t = 0; t < 300_000; t += 1_000) {
    assert.deepEqual(h.store.lessor.checkpoints(t), [], `at ${t} ms`)
    if (t % 20_000 === 0) h.store.lessor.renew(1n, t)
  }
  assert.deepEqual(h.store.lessor.checkpoints(300_000), [{ id: 1n, remainingMs: 40_000 }, { id: 2n, remainingMs: 300_000 }])
})

test('lease: put and txn with an unknown lease are NotFound; a revoked lease is unknown', () => {
  const h = new Harness()
  h.grant(60, 5n)
  h.revoke(5n)
  assert.throws(() => h.put('k', 'v', { lease: 5n }), /requested lease not found/)
  assert.deepEqual(h.store.leaseLeases().leases, [])
  assert.equal(h.get('k', { rangeEnd: b('l') }).count, 0)
})
