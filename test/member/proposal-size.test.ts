/**
 * --max-request-bytes on what etcd proposes, as etcd 3.4 answers (checked against it): every
 * proposed call (auth calls too) and the txns of lock and campaign, which fail as those services
 * fail (500 / 2); a txn that only reads is not proposed, so it is served whatever its size, and
 * adds no revision.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'

const MAX = 10_000
const big = Buffer.alloc(MAX + 100, 97).toString('base64')

describe('--max-request-bytes on proposals', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({ flags: ['--max-request-bytes', String(MAX)] })
  })
  after(() => s.stop())

  it('refuses an auth call too large as a proposal: 400 / 3', async () => {
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'x'.repeat(MAX + 100), password: 'p' }],
      ['/v3/auth/role/add', { name: 'x'.repeat(MAX + 100) }],
    ] as const) {
      const r = await s.call(path, body)
      assert.deepEqual([r.status, r.json.code, r.json.message], [400, 3, 'etcdserver: request is too large'], path)
    }
    assert.deepEqual((await s.call('/v3/auth/user/list', {})).json.users, undefined, 'no user was added')
  })

  it('refuses a lock or a campaign whose txn is too large as their services fail: 500 / 2', async () => {
    const lease = (await s.call('/v3/lease/grant', { TTL: 60 })).json.ID
    for (const [path, body] of [
      ['/v3/lock/lock', { name: big, lease }],
      ['/v3/election/campaign', { name: b64('e'), value: big, lease }],
    ] as const) {
      const r = await s.call(path, body)
      assert.deepEqual([r.status, r.json.code, r.json.message], [500, 2, 'etcdserver: request is too large'], path)
    }
    assert.equal((await s.call('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') })).json.count, undefined, 'nothing was stored')
  })

  it('serves a txn that only reads whatever its size, at the current revision, without a new one', async () => {
    const put = await s.call('/v3/kv/put', { key: b64('k'), value: b64('v') })
    const revision = put.json.header.revision
    const txn = await s.call('/v3/kv/txn', {
      compare: [{ key: b64('k'), target: 'VALUE', result: 'EQUAL', value: big }],
      success: [{ request_range: { key: b64('k') } }],
      failure: [{ request_range: { key: b64('k'), serializable: true } }, { request_range: { key: b64('nope') } }],
    })
    assert.equal(txn.status, 200, txn.text)
    assert.deepEqual([txn.json.header.revision, txn.json.succeeded, txn.json.responses[0].response_range.kvs[0].value], [revision, undefined, b64('v')])
    const again = await s.call('/v3/kv/put', { key: b64('k'), value: b64('w') })
    assert.equal(Number(again.json.header.revision), Number(revision) + 1, 'the txn added no revision')
    const writing = await s.call('/v3/kv/txn', { compare: [{ key: b64('k'), target: 'VALUE', result: 'EQUAL', value: big }], success: [{ request_put: { key: b64('k') } }] })
    assert.deepEqual([writing.status, writing.json.code], [400, 3], 'one that may write is a proposal')
  })
})
