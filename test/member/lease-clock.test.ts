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

test('leases cost an idle member no log entries: its raft index stays put while they live and are kept alive', async () => {
  // Election timeout 200 ms: checkpoints every election timeout would add an entry 5 times a second.
  const solo = await startSingleMember()
  try {
    // The member publishes its client URLs once it leads (an entry of its own; its name it has
    // from --initial-cluster from the start): wait for them first.
    while ((await solo.call('/v3/cluster/member/list', {})).json.members[0].clientURLs === undefined)
      await new Promise((resolve) => setTimeout(resolve, 20))
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await solo.call('/v3/lease/grant', { TTL: 60 })).json.ID)
    const index = async (): Promise<string> => (await solo.call('/v3/maintenance/status', {})).json.raftIndex
    const before = await index()
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      for (const id of ids) assert.equal((await solo.call('/v3/lease/keepalive', { ID: id })).status, 200)
    }
    assert.equal(await index(), before)
  } finally {
    await solo.stop()
  }
})
