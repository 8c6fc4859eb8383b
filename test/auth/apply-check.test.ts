/**
 * Permissions checked again when a write is applied: a write checked at one auth revision and
 * applied after the auth store changed is judged by the rights as of its place in the log, so
 * a revoke that commits before an in-flight write stops it, and one that commits after does not.
 * The writes are proposed on the actor directly with the proposer a request would name.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Applied } from '../../src/member/actor.ts'
import type { Command, PutRequest } from '../../src/mvcc/index.ts'
import { b64, startSingleMember, type SingleMember } from './single-member.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const EMPTY = new Uint8Array(0)

function put(key: string, lease = 0n): Command {
  const request: PutRequest = { key: enc(key), value: enc('v'), lease, prevKv: false, ignoreValue: false, ignoreLease: false }
  return { type: 'put', request }
}

async function call(s: SingleMember, path: string, body: unknown, token?: string): Promise<any> {
  const r = await s.call(path, body, token === undefined ? {} : { Authorization: token })
  assert.equal(r.status, 200, `${path}: ${r.text}`)
  return r.json
}

describe('permissions at apply', () => {
  let s: SingleMember
  let root: string

  before(async () => {
    s = await startSingleMember()
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/role/add', { name: 'writer' }],
      ['/v3/auth/role/grant', { name: 'writer', perm: { key: b64('w/'), range_end: b64('w0'), permType: 'READWRITE' } }],
      ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'writer' }],
      ['/v3/auth/enable', {}],
    ] as const)
      await call(s, path, body)
    root = (await call(s, '/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token
  })
  after(() => s.stop())

  const revision = (): number => s.member.actor.auth.revision()
  const exists = (key: string): boolean =>
    s.member.actor.store.range({ key: enc(key), rangeEnd: EMPTY, limit: 0, revision: 0, sortOrder: 'NONE', sortTarget: 'KEY',
      serializable: true, keysOnly: false, countOnly: true, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0,
      maxCreateRevision: 0 }).count === 1
  const grantWriter = (): Promise<unknown> =>
    call(s, '/v3/auth/role/grant', { name: 'writer', perm: { key: b64('w/'), range_end: b64('w0'), permType: 'READWRITE' } }, root)
  const revokeWriter = (): Promise<unknown> =>
    call(s, '/v3/auth/role/revoke', { role: 'writer', key: b64('w/'), range_end: b64('w0') }, root)

  it('refuses a write checked before a revoke that was applied first', async () => {
    const checkedAt = revision()
    await revokeWriter()
    const applied = await s.member.actor.propose(put('w/late'), { user: 'alice', authRevision: checkedAt })
    assert.equal(applied.error?.message, 'etcdserver: permission denied')
    assert.equal(exists('w/late'), false, 'the refused write must not be in the store')
    await grantWriter()
  })

  it('lets a write through when the auth store changed but its rights did not', async () => {
    const checkedAt = revision()
    await call(s, '/v3/auth/user/add', { name: 'bob', password: 'bobpw' }, root)
    assert.ok(revision() > checkedAt, 'adding a user bumps the auth revision')
    const applied = await s.member.actor.propose(put('w/ok'), { user: 'alice', authRevision: checkedAt })
    assert.equal(applied.error, null)
    assert.equal(exists('w/ok'), true, 'the permitted write is applied')
  })

  it('judges each write by its place in the log relative to the revoke', async () => {
    const checkedAt = revision()
    const by = { user: 'alice', authRevision: checkedAt }
    const before: Array<Promise<Applied>> = []
    const afterRevoke: Array<Promise<Applied>> = []
    for (let i = 0; i < 20; i++) before.push(s.member.actor.propose(put(`w/before-${i}`), by))
    const revoke = s.member.actor.proposeAuth({ type: 'role-revoke', role: 'writer', key: enc('w/'), rangeEnd: enc('w0') })
    for (let i = 0; i < 20; i++) afterRevoke.push(s.member.actor.propose(put(`w/after-${i}`), by))
    assert.equal((await revoke).error, null)
    for (const [i, p] of before.entries()) assert.equal((await p).error, null, `write ${i} before the revoke`)
    for (const [i, p] of afterRevoke.entries())
      assert.equal((await p).error?.message, 'etcdserver: permission denied', `write ${i} after the revoke`)
    for (let i = 0; i < 20; i++) {
      assert.equal(exists(`w/before-${i}`), true, `w/before-${i} applied`)
      assert.equal(exists(`w/after-${i}`), false, `w/after-${i} not applied`)
    }
    await grantWriter()
  })

  it('refuses a write of a user deleted meanwhile; a compaction is not checked (etcd 3.4)', async () => {
    await call(s, '/v3/auth/user/add', { name: 'carol', password: 'carolpw' }, root)
    await call(s, '/v3/auth/user/grant', { user: 'carol', role: 'writer' }, root)
    const checkedAt = revision()
    await call(s, '/v3/auth/user/delete', { name: 'carol' }, root)
    const applied = await s.member.actor.propose(put('w/carol'), { user: 'carol', authRevision: checkedAt })
    assert.equal(applied.error?.message, 'etcdserver: permission denied')
    const compact = await s.member.actor.propose({ type: 'compaction', request: { revision: 1, physical: false } }, {
      user: 'alice',
      authRevision: checkedAt,
    })
    assert.equal(compact.error, null)
  })

  it('refuses a lease revoke once a key on the lease is out of reach', async () => {
    const lease = (await call(s, '/v3/lease/grant', { TTL: 60 }, root)).ID
    await call(s, '/v3/kv/put', { key: b64('w/leased'), value: b64('v'), lease }, root)
    const checkedAt = revision()
    await revokeWriter()
    const applied = await s.member.actor.propose({ type: 'lease-revoke', request: { id: BigInt(lease) } }, {
      user: 'alice',
      authRevision: checkedAt,
    })
    assert.equal(applied.error?.message, 'etcdserver: permission denied')
    assert.equal(exists('w/leased'), true, 'the lease and its key stay')
    await grantWriter()
  })

  it('lets everything through once auth is disabled', async () => {
    const checkedAt = revision()
    await revokeWriter()
    await call(s, '/v3/auth/disable', {}, root)
    const applied = await s.member.actor.propose(put('w/open'), { user: 'alice', authRevision: checkedAt })
    assert.equal(applied.error, null)
    assert.equal(exists('w/open'), true, 'applied with auth off')
  })

  it('through HTTP, a write names its user and is refused after a revoke', async () => {
    await call(s, '/v3/auth/role/grant', { name: 'writer', perm: { key: b64('w/'), range_end: b64('w0'), permType: 'READWRITE' } })
    await call(s, '/v3/auth/enable', {})
    root = (await call(s, '/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token
    const alice = (await call(s, '/v3/auth/authenticate', { name: 'alice', password: 'alicepw' })).token
    // Observe the proposal the HTTP layer makes, then hold its apply back behind a revoke.
    const actor = s.member.actor
    const original = actor.propose.bind(actor)
    let seen: Parameters<typeof actor.propose>[1]
    actor.propose = async (command, by) => {
      // Only the put: the member's own proposals (lease checkpoints, alarms) may come meanwhile.
      if (command.type === 'put') {
        seen = by
        await revokeWriter()
      }
      return original(command, by)
    }
    try {
      const r = await s.call('/v3/kv/put', { key: b64('w/http'), value: b64('v') }, { Authorization: alice })
      assert.equal(seen?.user, 'alice')
      assert.equal(r.status, 403, r.text)
      assert.deepEqual(r.json, { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 })
    } finally {
      actor.propose = original
    }
    assert.equal(exists('w/http'), false, 'refused write not applied')
  })
})
