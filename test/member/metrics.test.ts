/** The member's /metrics: etcd's names for what dashboards and alerts read, plus process metrics. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemberMetrics, type Member } from '../../src/member/index.ts'
import { parsePrometheus, type Sample } from '../../src/gateway/ui-metrics.ts'
import { b64, startSingleMember } from '../auth/single-member.ts'

function one(samples: readonly Sample[], name: string): Sample {
  const found = samples.filter((s) => s.name === name)
  assert.equal(found.length, 1, `${name}: ${found.length} samples`)
  return found[0] as Sample
}

test('after writes: keys, revision, sizes, quota, leader, applied, server id and versions', async () => {
  let member: Member | null = null
  const metrics = new MemberMetrics(() => member, { server: '3.4.23', cluster: '3.4.0' })
  const solo = await startSingleMember({ flags: ['--quota-backend-bytes', '1048576'], events: metrics.events() })
  member = solo.member
  try {
    for (const k of ['a', 'b', 'c']) assert.equal((await solo.call('/v3/kv/put', { key: b64(k), value: b64('v') })).status, 200)
    assert.equal((await solo.call('/v3/kv/deleterange', { key: b64('b') })).status, 200)
    const samples = parsePrometheus((await metrics.render()).body)
    const value = (name: string): number => one(samples, name).value
    assert.equal(value('etcd_debugging_mvcc_keys_total'), 2)
    assert.equal(value('etcd_debugging_mvcc_current_revision'), solo.member.actor.store.currentRevision())
    assert.equal(value('etcd_server_quota_backend_bytes'), 1048576)
    assert.equal(value('etcd_server_has_leader'), 1)
    assert.equal(value('etcd_server_is_leader'), 1)
    assert.ok(value('etcd_server_proposals_applied_total') >= 4)
    const total = value('etcd_mvcc_db_total_size_in_bytes')
    assert.equal(value('etcd_debugging_mvcc_db_total_size_in_bytes'), total)
    assert.ok(total > 0 && value('etcd_mvcc_db_total_size_in_use_in_bytes') <= total)
    assert.deepEqual(one(samples, 'etcd_server_id').labels, { server_id: solo.member.identity.memberId.toString(16) })
    assert.deepEqual(one(samples, 'etcd_server_version').labels, { server_version: '3.4.23' })
    assert.deepEqual(one(samples, 'etcd_cluster_version').labels, { cluster_version: '3.4' })
    assert.ok(value('process_resident_memory_bytes') > 0)
    assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds'))
  } finally {
    await solo.stop()
  }
})
