/**
 * The space quota on a member, as etcd 3.4 answers it (checked with etcdctl against both): a
 * write whose cost (256 bytes + key + value) would take the database past --quota-backend-bytes
 * is refused with `database space exceeded` (429 / 8) and raises the member's NOSPACE alarm,
 * so nothing oversized is stored; once the alarm is disarmed, small writes go through again.
 * Only a write raises it: one refused, or one admitted by its cost whose apply takes the database
 * past the quota (etcd's quota applier); a member over its quota that is not written to raises nothing.
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

it('a write that fits by its cost but takes the database past its quota once applied raises NOSPACE, and is kept', async () => {
  const quota = 600_000
  const solo = await startSingleMember({ flags: ['--quota-backend-bytes', String(quota)] })
  const alarms = async (): Promise<unknown> => (await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json.alarms
  try {
    // Puts whose cost (~1.3 KB) is far below a page allocation's (8 KiB pages): as the database
    // nears the quota, one is admitted by its cost, and the pages its apply takes go past it.
    const value = Buffer.alloc(1000, 7).toString('base64')
    let crossed = -1
    for (let i = 0; i < 2000 && crossed < 0; i++) {
      const put = await solo.call('/v3/kv/put', { key: b64(`q/${i}`), value })
      assert.equal(put.status, 200, `put ${i} is refused (${put.text}) before any applied one took the database past its quota`)
      if (solo.member.actor.store.overQuota()) crossed = i
    }
    assert.ok(crossed >= 0, 'the puts reached the quota')
    let raised: unknown
    for (let i = 0; i < 100 && raised === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20))
      raised = await alarms()
    }
    assert.deepEqual(raised, [{ memberID: String(solo.member.actor.config.id), alarm: 'NOSPACE' }], 'the apply raised it, no refusal')
    assert.equal((await solo.call('/v3/kv/range', { key: b64(`q/${crossed}`), count_only: true })).json.count, '1', 'the write that crossed is kept')
    assert.equal((await solo.call('/v3/kv/put', { key: b64('after'), value: b64('v') })).status, 429)
  } finally {
    await solo.stop()
  }
})

it('once the database has reached the quota, a txn that writes nothing is refused too and raises NOSPACE; a range and a delete are not checked', async () => {
  // The database of a new member is larger than 16 KiB: at its quota from the start.
  const solo = await startSingleMember({ flags: ['--quota-backend-bytes', '16384'] })
  try {
    assert.equal((await solo.call('/v3/kv/range', { key: b64('k') })).status, 200)
    assert.equal((await solo.call('/v3/kv/deleterange', { key: b64('k') })).status, 200)
    assert.deepEqual((await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json, {}, 'neither raised anything')
    for (const txn of [{ success: [{ request_range: { key: b64('k') } }] }, { success: [{ request_delete_range: { key: b64('k') } }] }, {}]) {
      const answer = await solo.call('/v3/kv/txn', txn)
      assert.deepEqual([answer.status, answer.json.message], [429, 'etcdserver: mvcc: database space exceeded'], JSON.stringify(txn))
    }
    let alarms: unknown
    for (let i = 0; i < 100 && alarms === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20))
      alarms = (await solo.call('/v3/maintenance/alarm', { action: 'GET' })).json.alarms
    }
    assert.deepEqual(alarms, [{ memberID: String(solo.member.actor.config.id), alarm: 'NOSPACE' }])
  } finally {
    await solo.stop()
  }
})
