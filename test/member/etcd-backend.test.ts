/**
 * A member's state as etcd's backend buckets and back: the snapshot image read as bbolt holds
 * etcd's buckets and records, and a store filled from them answers as the member did (every
 * uncompacted revision, leases, alarms, HashKV), with the auth store rebuilt (users, their
 * password hashes and roles, role permissions, auth on).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import initSqlJs from 'sql.js'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'
import { etcdPasswordHash } from '../../src/member/auth-password.ts'
import { AuthStore, encodeAuthCommand } from '../../src/member/auth-store.ts'
import { BackendChangedError, backendContents, writeBackend } from '../../src/member/etcd-backend.ts'
import { backendImage } from '../../src/member/snapshot-http.ts'
import { MvccStore } from '../../src/mvcc/index.ts'
import { rangeReq } from '../mvcc/helpers.ts'
import { BoltBuilder, readBolt, type BoltFile } from '../../src/storage/index.ts'

const SQL = await initSqlJs()
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

describe('etcd backend buckets', () => {
  let s: SingleMember
  let bolt: BoltFile
  let lease = ''
  let compactedAt = 0

  const ok = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<any> => {
    const r = await s.call(path, body, headers)
    assert.equal(r.status, 200, `${path}: ${r.text}`)
    return r.json
  }

  before(async () => {
    s = await startSingleMember()
    for (let i = 0; i < 3; i++) await ok('/v3/kv/put', { key: b64('a'), value: b64(`a${i}`) })
    await ok('/v3/kv/put', { key: b64('gone'), value: b64('x') })
    await ok('/v3/kv/deleterange', { key: b64('gone') })
    compactedAt = Number((await ok('/v3/kv/put', { key: b64('b'), value: b64('b0') })).header.revision)
    await ok('/v3/kv/compaction', { revision: compactedAt, physical: true })
    lease = (await ok('/v3/lease/grant', { TTL: 600 })).ID
    await ok('/v3/kv/put', { key: b64('leased'), value: b64('v'), lease })
    await ok('/v3/kv/txn', {
      success: [
        { request_put: { key: b64('t1'), value: b64('1') } },
        { request_delete_range: { key: b64('a') } },
      ],
    })
    await ok('/v3/kv/put', { key: b64('a'), value: b64('again') })
    await ok('/v3/auth/role/add', { name: 'root' })
    await ok('/v3/auth/role/add', { name: 'r1' })
    await ok('/v3/auth/role/grant', { name: 'r1', perm: { permType: 'READWRITE', key: b64('p/'), range_end: b64('p0') } })
    await ok('/v3/auth/user/add', { name: 'root', password: 'rootpw' })
    await ok('/v3/auth/user/grant', { user: 'root', role: 'root' })
    await ok('/v3/auth/user/add', { name: 'nopw', options: { no_password: true } })
    await ok('/v3/auth/user/grant', { user: 'nopw', role: 'r1' })
    await ok('/v3/auth/enable', {})
    bolt = readBolt(await backendImage(s.member.actor))
  })

  after(() => s.stop())

  const bucket = (name: string): readonly (readonly [Uint8Array, Uint8Array])[] =>
    bolt.buckets.find((b) => b.name === name)?.entries ?? []

  test("etcd's buckets, in name order", () => {
    assert.deepEqual(
      bolt.buckets.map((b) => b.name),
      ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta'],
    )
  })

  test('the key bucket: revision keys in order, tombstones marked, rows below the compaction reduced', () => {
    const keys = bucket('key').map(([k]) => k)
    const mains = keys.map((k) => Number(new DataView(k.buffer, k.byteOffset).getBigUint64(0)))
    const revision = s.member.actor.store.currentRevision()
    assert.equal(mains[mains.length - 1], revision)
    assert.ok(keys.every((k) => k[8] === 0x5f && (k.length === 17 || (k.length === 18 && k[17] === 0x74))))
    // At or below the compaction only each key's newest row stays: a@4 and b@compactedAt, not
    // a@2, a@3, nor gone's put and delete.
    assert.deepEqual(mains.filter((m) => m <= compactedAt), [4, compactedAt])
    const tombstones = keys.filter((k) => k.length === 18).map((k) => Number(new DataView(k.buffer, k.byteOffset).getBigUint64(0)))
    assert.equal(tombstones.length, 1, 'the txn deleting a')
  })

  test('meta holds the applied index and the compaction; lease and cluster as etcd writes them', () => {
    const meta = new Map(bucket('meta').map(([k, v]) => [text(k), v]))
    const applied = meta.get('consistent_index') as Uint8Array
    assert.equal(new DataView(applied.buffer, applied.byteOffset).getBigUint64(0), BigInt(s.member.actor.store.appliedIndex()))
    const compact = meta.get('scheduledCompactRev') as Uint8Array
    assert.equal(compact.length, 17)
    assert.equal(Number(new DataView(compact.buffer, compact.byteOffset).getBigUint64(0)), compactedAt)
    assert.deepEqual(meta.get('finishedCompactRev'), compact)
    const [leaseKey] = bucket('lease')[0] as readonly [Uint8Array, Uint8Array]
    assert.equal(new DataView(leaseKey.buffer, leaseKey.byteOffset).getBigUint64(0), BigInt(lease))
    assert.deepEqual(bucket('cluster').map(([k, v]) => [text(k), text(v)]), [['clusterVersion', '3.4.0']])
    const [[memberKey, memberJson]] = bucket('members') as [readonly [Uint8Array, Uint8Array]]
    assert.equal(text(memberKey), s.member.identity.memberId.toString(16))
    assert.equal(JSON.parse(text(memberJson)).id, s.member.identity.memberId)
  })

  test('a store filled from the buckets answers as the member does, at every revision kept', async () => {
    const contents = backendContents(bolt.buckets)
    const db = new SQL.Database()
    const store = new MvccStore(db)
    store.loadContents(contents.rows, contents.summary)
    const original = s.member.actor.store
    assert.equal(store.currentRevision(), original.currentRevision())
    assert.equal(store.compactMainRevision(), compactedAt)
    for (let rev = compactedAt; rev <= original.currentRevision(); rev++) {
      const req = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), revision: rev }
      const range = (st: MvccStore): unknown => st.range(rangeReq('', req)).kvs
      assert.deepEqual(range(store), range(original), `revision ${rev}`)
    }
    assert.throws(() => store.range(rangeReq('a', { revision: compactedAt - 1 })), /compacted/)
    assert.equal(store.hashKv(0).hash, original.hashKv(0).hash)
    assert.deepEqual(store.leaseLeases().leases, original.leaseLeases().leases)
    assert.deepEqual(store.leaseKeys(BigInt(lease)).map(text), ['leased'])
    store.close()
    db.close()
  })

  test('a compaction while the history is read refuses the backend; writes alone do not', async () => {
    const { token } = await ok('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })
    const root = { Authorization: token as string }
    let written = 0
    await writeBackend(new BoltBuilder(), s.member.actor, async () => {
      await ok('/v3/kv/put', { key: b64('during'), value: b64(String(written++)) }, root)
    })
    assert.ok(written > 0, 'it paused at least once')
    const compacting = writeBackend(new BoltBuilder(), s.member.actor, async () => {
      await ok('/v3/kv/compaction', { revision: s.member.actor.store.currentRevision() }, root)
    })
    await assert.rejects(compacting, BackendChangedError)
  })

  test('the auth store rebuilt from the buckets: users, hashes, roles, permissions, enabled', () => {
    const db = new SQL.Database()
    const auth = new AuthStore(db)
    for (const c of backendContents(bolt.buckets).auth(new Uint8Array(32).fill(7)))
      assert.equal(auth.apply(encodeAuthCommand(c)), null, c.type)
    const original = s.member.actor.auth
    assert.equal(auth.enabled(), true)
    assert.deepEqual(auth.users(), original.users())
    for (const name of original.users()) {
      const [mine, theirs] = [auth.user(name), original.user(name)]
      assert.equal(mine?.hash, theirs?.hash == null ? null : etcdPasswordHash(theirs.hash), name)
      assert.deepEqual(mine?.roles, theirs?.roles, name)
    }
    assert.equal(auth.user('nopw')?.hash, null)
    assert.match(auth.user('root')?.hash ?? '', /^\$2[ab]\$10\$/, "etcd's bcrypt hash")
    assert.deepEqual(auth.roles(), original.roles())
    assert.deepEqual(auth.role('r1'), original.role('r1'))
    db.close()
  })
})
