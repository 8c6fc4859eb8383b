/**
 * The space quota on a member, as etcd 3.4 answers it (checked with etcdctl against both): a
 * write whose cost (256 bytes + key + value) would take the database past --quota-backend-bytes
 * is refused with `database space exceeded` (429 / 8) and raises the member's NOSPACE alarm,
 * so nothing oversized is stored; once the alarm is disarmed, small writes go through again.
 * Only a refused write raises it: a member over its quota that is not written to raises nothing.
 * A negative quota turns it off.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

const QUOTA = 400_000

describe('quota on a member', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({ flags: ['--quota-backend-bytes', String(QUOTA)] })
  })
  after(() => s.stop())

  it('refuses a write that would not fit, raises NOSPACE, and serves small writes once disarmed', async () => {
    const big = await s.call('/v3/kv/put', { key: b64('big'), value: Buffer.alloc(1 << 20).toString('base64') })
    assert.deepEqual([big.status, big.json.code, big.json.message], [429, 8, 'etcdserver: mvcc: database space exceeded'])
    const id = String(s.member.actor.config.id)
    let alarms: unknown = []
    for (let i = 0; i < 100 && JSON.stringify(alarms) === '[]'; i++) {
      await new Promise((r) => setTimeout(r, 20))
      alarms = (await s.call('/v3/maintenance/alarm', { action: 'GET' })).json.alarms ?? []
    }
    assert.deepEqual(alarms, [{ memberID: id, alarm: 'NOSPACE' }])
    assert.equal((await s.call('/v3/kv/range', { key: b64('big') })).json.count, undefined, 'nothing was stored')
    const small = await s.call('/v3/kv/put', { key: b64('small'), value: b64('v') })
    assert.equal(small.status, 429, 'the alarm refuses every write that needs space')
    assert.equal((await s.call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: id, alarm: 'NOSPACE' })).status, 200)
    assert.equal((await s.call('/v3/kv/put', { key: b64('small'), value: b64('v') })).status, 200)
  })
})

it('a member over its quota raises no alarm until a write is refused, which its quota is checked for first', async () => {
  // The database of a new member is larger than 16 KiB: over this quota from the start.
  const solo = await startSingleMember({ flags: ['--quota-backend-bytes', '16384'] })
  try {
    await new Promise((r) => setTimeout(r, 1000)) // five election timeouts
    assert.deepEqual((await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json, {})
    // The quota is checked first, as etcd's: a put also too large (over --max-request-bytes) is refused for space.
    const put = await solo.call('/v3/kv/put', { key: b64('k'), value: Buffer.alloc(1_600_000).toString('base64') })
    assert.deepEqual([put.status, put.json.message], [429, 'etcdserver: mvcc: database space exceeded'])
    let alarms: unknown
    for (let i = 0; i < 100 && alarms === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20))
      alarms = (await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json.alarms
    }
    assert.deepEqual(alarms, [{ memberID: String(solo.member.actor.config.id), alarm: 'NOSPACE' }], 'the refusal raised it')
  } finally {
    await solo.stop()
  }
})

it('a negative quota refuses nothing for space', async () => {
  const solo = await startSingleMember({ flags: ['--quota-backend-bytes', '-1'] })
  try {
    const big = await solo.call('/v3/kv/put', { key: b64('big'), value: Buffer.alloc(1 << 20).toString('base64') })
    assert.equal(big.status, 200, big.text)
    assert.deepEqual((await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json, {})
  } finally {
    await solo.stop()
  }
})
