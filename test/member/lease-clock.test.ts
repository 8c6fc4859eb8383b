/** A lease's TTL runs from the moment its grant is applied on the leader, as in etcd. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startSingleMember } from '../auth/single-member.ts'

test('time-to-live right after a grant is one whole second short of the TTL, between ticks too', async () => {
  // Ticks every second: a grant and the question after it land between two ticks.
  const solo = await startSingleMember({ flags: ['--heartbeat-interval', '1000', '--election-timeout', '5000'] })
  try {
    for (let i = 0; i < 3; i++) {
      const grant = await solo.call('/v3/lease/grant', { TTL: 60 })
      assert.equal(grant.status, 200, grant.text)
      const ttl = await solo.call('/v3/lease/timetolive', { ID: grant.json.ID })
      assert.deepEqual([ttl.json.TTL, ttl.json.grantedTTL], ['59', '60'], ttl.text)
    }
  } finally {
    await solo.stop()
  }
})
