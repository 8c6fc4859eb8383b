/**
 * Tokens and their end: expiry (simple and JWT), revocation by changepw and user delete (not by role revoke)
 * and auth disable; the limit on failed logins; the auth-off errors; per-stream caps; and the
 * pure parts (range coverage, the replicated store's determinism).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import initSqlJs from 'sql.js'
import { covers } from '../../src/member/auth-perms.ts'
import { AuthStore, encodeAuthCommand, type AuthCommand } from '../../src/member/auth-store.ts'
import { readBody } from '../../src/member/http-body.ts'
import { b64, startSingleMember, type SingleMember } from './single-member.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function setUp(s: SingleMember): Promise<void> {
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/role/add', { name: 'reader' }],
    ['/v3/auth/role/grant', { name: 'reader', perm: { key: b64('a/'), range_end: b64('a0') } }],
    ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
    ['/v3/auth/user/grant', { user: 'alice', role: 'reader' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await s.call(path, body)
    assert.equal(r.status, 200, `${path}: ${r.text}`)
  }
}

async function login(s: SingleMember, name: string, password: string): Promise<string> {
  const r = await s.call('/v3/auth/authenticate', { name, password })
  assert.equal(r.status, 200, r.text)
  return r.json.token
}

async function readStatus(s: SingleMember, token: string): Promise<number> {
  return (await s.call('/v3/kv/range', { key: b64('a/x') }, { Authorization: token })).status
}

for (const mode of ['simple', 'jwt'] as const) {
  describe(`${mode} tokens`, () => {
    let s: SingleMember
    before(async () => {
      s = await startSingleMember({ auth: { tokens: { mode, ttlMs: 1500, key: null } } })
      await setUp(s)
    })
    after(() => s.stop())

    it('work until they expire', async () => {
      const token = await login(s, 'alice', 'alicepw')
      if (mode === 'simple') assert.match(token, /^[A-Za-z]{16}\.\d+$/)
      else assert.equal(token.split('.').length, 3)
      assert.equal(await readStatus(s, token), 200)
      await sleep(2700)
      assert.equal(await readStatus(s, token), 401)
    })

    it(mode === 'simple' ? 'are renewed by use, and expire once idle for the TTL' : 'expire at their exp however much they are used', async () => {
      const token = await login(s, 'alice', 'alicepw')
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) {
        await sleep(500)
        statuses.push(await readStatus(s, token))
      }
      // Used every 0.5 s for 3 s, twice the TTL: a simple token lives on, a JWT ends at its exp.
      if (mode === 'simple') assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200])
      else assert.equal(statuses.at(-1), 401, `statuses ${statuses.join(',')}`)
      await sleep(1800)
      assert.equal(await readStatus(s, token), 401, 'idle past the TTL')
    })

    it('changepw voids the old token, not the new one', async () => {
      const root = await login(s, 'root', 'rootpw')
      const old = await login(s, 'alice', 'alicepw')
      const r = await s.call('/v3/auth/user/changepw', { name: 'alice', password: 'pw2' }, { Authorization: root })
      assert.equal(r.status, 200, r.text)
      assert.equal(await readStatus(s, old), 401)
      assert.equal((await s.call('/v3/auth/authenticate', { name: 'alice', password: 'alicepw' })).status, 400)
      assert.equal(await readStatus(s, await login(s, 'alice', 'pw2')), 200)
      // etcd checks the password before the token a login comes with.
      const stale = { Authorization: old }
      const wrong = await s.call('/v3/auth/authenticate', { name: 'alice', password: 'alicepw' }, stale)
      assert.deepEqual([wrong.status, wrong.json.message], [400, 'etcdserver: authentication failed, invalid user ID or password'])
      const right = await s.call('/v3/auth/authenticate', { name: 'alice', password: 'pw2' }, stale)
      assert.deepEqual([right.status, right.json.message], [401, 'etcdserver: invalid auth token'])
    })

    it('revoking a role leaves the token valid but refuses what the role allowed (etcd 3.4); deleting the user voids it', async () => {
      const root = await login(s, 'root', 'rootpw')
      await s.call('/v3/auth/user/add', { name: 'bob', password: 'bobpw' }, { Authorization: root })
      await s.call('/v3/auth/user/grant', { user: 'bob', role: 'reader' }, { Authorization: root })
      const first = await login(s, 'bob', 'bobpw')
      assert.equal(await readStatus(s, first), 200)
      await s.call('/v3/auth/user/revoke', { name: 'bob', role: 'reader' }, { Authorization: root })
      assert.equal(await readStatus(s, first), 403)
      const second = await login(s, 'bob', 'bobpw')
      assert.equal(await readStatus(s, second), 403)
      await s.call('/v3/auth/user/delete', { name: 'bob' }, { Authorization: root })
      assert.equal(await readStatus(s, second), 401)
    })
  })
}

describe('auth on and off', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({ auth: { failures: { max: 3, windowMs: 60_000, maxAddresses: 10 } } })
  })
  after(() => s.stop())

  it('refuses enable without root, then without the root role; authenticate while off', async () => {
    const enable = async (): Promise<[number, string]> => {
      const r = await s.call('/v3/auth/enable', {})
      return [r.status, r.json.message]
    }
    assert.deepEqual(await enable(), [412, 'etcdserver: root user does not exist'])
    await s.call('/v3/auth/user/add', { name: 'root', password: 'rootpw' })
    assert.deepEqual(await enable(), [412, 'etcdserver: root user does not have root role'])
    const off = await s.call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })
    assert.deepEqual([off.status, off.json.message], [412, 'etcdserver: authentication is not enabled'])
    const errors = [
      ['/v3/auth/user/add', { name: '' }, 400, 'etcdserver: user name is empty'],
      ['/v3/auth/user/add', { name: 'root' }, 412, 'etcdserver: user name already exists'],
      ['/v3/auth/role/add', { name: '' }, 400, 'etcdserver: role name is empty'],
      ['/v3/auth/role/get', { role: 'root' }, 412, 'etcdserver: role name not found'],
      ['/v3/auth/role/delete', { role: 'root' }, 412, 'etcdserver: role name not found'],
      ['/v3/auth/user/revoke', { name: 'root', role: 'x' }, 412, 'etcdserver: role is not granted to the user'],
      ['/v3/auth/user/get', { name: 'nobody' }, 412, 'etcdserver: user name not found'],
      // etcd 3.5's answer; etcd 3.4.23 accepts this grant and crashes applying it.
      ['/v3/auth/role/grant', { name: 'root' }, 400, 'etcdserver: permission not given'],
    ] as const
    for (const [path, body, status, message] of errors) {
      const r = await s.call(path, body)
      assert.deepEqual([r.status, r.json.message], [status, message], path)
    }
    // With auth off a role named root is added, listed and deleted like any other.
    assert.equal((await s.call('/v3/auth/role/add', { name: 'root' })).status, 200)
    assert.deepEqual((await s.call('/v3/auth/role/list', {})).json.roles, ['root'])
    assert.equal((await s.call('/v3/auth/role/delete', { role: 'root' })).status, 200)
    await s.call('/v3/auth/user/grant', { user: 'root', role: 'root' })
    assert.deepEqual(await enable(), [200, undefined])
    const on = await s.call('/v3/auth/role/delete', { role: 'root' }, { Authorization: await login(s, 'root', 'rootpw') })
    assert.deepEqual([on.status, on.json.message], [400, 'etcdserver: invalid auth management'])
  })

  it('limits failed logins per address: too many requests (429 / 8), even with the right password', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await s.call('/v3/auth/authenticate', { name: 'root', password: 'nope' })).status, 400)
    const r = await s.call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })
    assert.deepEqual([r.status, r.json.code, r.json.message], [429, 8, 'etcdserver: too many requests'])
  })

  it('disable voids every token; a second disable is fine', async () => {
    const other = await startSingleMember()
    try {
      await setUp(other)
      const root = await login(other, 'root', 'rootpw')
      assert.equal((await other.call('/v3/auth/disable', {}, { Authorization: root })).status, 200)
      assert.equal((await other.call('/v3/auth/disable', {})).status, 200)
      assert.equal((await other.call('/v3/auth/enable', {})).status, 200)
      assert.equal(await readStatus(other, root), 401)
      const status = await other.call('/v3/auth/status', {})
      assert.equal(status.json.enabled, true)
    } finally {
      await other.stop()
    }
  })

  it("while auth is off a call with a token is refused as with a bad one (etcd); what needs nothing, authenticate and timetolive are not", async () => {
    const other = await startSingleMember()
    try {
      const stale = { Authorization: 'AbCdEfGhIjKlMnOp.7' }
      const answer = async (path: string, body: unknown, headers: Record<string, string> = stale): Promise<[number, number | undefined, string | undefined]> => {
        const r = await other.call(path, body, headers)
        return [r.status, r.json.code, r.json.message]
      }
      const invalid = [401, 16, 'etcdserver: invalid auth token']
      assert.deepEqual(await answer('/v3/kv/put', { key: b64('k'), value: b64('v') }), invalid)
      assert.deepEqual(await answer('/v3/kv/range', { key: b64('k') }), invalid)
      assert.deepEqual(await answer('/v3/kv/range', { key: b64('k') }, { 'Grpc-Metadata-Token': 'x' }), invalid)
      assert.deepEqual(await answer('/v3/auth/enable', {}), invalid)
      assert.deepEqual(await answer('/v3/maintenance/hash', {}), [500, 2, 'auth: invalid auth token'])
      assert.deepEqual(await answer('/v3/lock/lock', { name: b64('l') }), [500, 2, 'etcdserver: invalid auth token'])
      assert.deepEqual(await answer('/v3/auth/authenticate', { name: 'root', password: 'x' }), [412, 9, 'etcdserver: authentication is not enabled'])
      assert.equal((await other.call('/v3/maintenance/status', {}, stale)).status, 200)
      assert.equal((await other.call('/v3/lease/timetolive', { ID: '1', keys: true }, stale)).status, 200)
      assert.equal((await other.call('/v3/kv/put', { key: b64('k'), value: b64('v') })).status, 200, 'no token: served')
      const res = await other.app.request('/v3/watch', { method: 'POST', body: JSON.stringify({ create_request: { key: b64('k') } }), headers: stale })
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const first = JSON.parse(new TextDecoder().decode((await reader.read()).value)).result
      await reader.cancel()
      assert.deepEqual([first.created, first.canceled, first.cancel_reason], [true, true, 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token'])
    } finally {
      await other.stop()
    }
  })

  it('a token header sent empty is a token no user holds: invalid with auth on or off (etcd), not "no token"', async () => {
    const other = await startSingleMember()
    try {
      const put = async (headers: Record<string, string>): Promise<[number, string]> => {
        const r = await other.call('/v3/kv/put', { key: b64('z'), value: b64('1') }, headers)
        return [r.status, r.json.message]
      }
      const invalid: [number, string] = [401, 'etcdserver: invalid auth token']
      for (const on of [false, true]) {
        if (on) await setUp(other)
        assert.deepEqual(await put({ Authorization: '' }), invalid, `auth ${on ? 'on' : 'off'}`)
        assert.deepEqual(await put({ 'Grpc-Metadata-Token': '' }), invalid, `auth ${on ? 'on' : 'off'}`)
        assert.equal((await other.call('/v3/maintenance/status', {}, { Authorization: '' })).status, 200)
      }
      assert.deepEqual(await put({}), [400, 'etcdserver: user name is empty'])
      const root = await login(other, 'root', 'rootpw')
      assert.deepEqual(await put({ Authorization: root, 'Grpc-Metadata-Token': '' }), invalid)
    } finally {
      await other.stop()
    }
  })

  it("a call with both token headers acts with Grpc-Metadata-Token's, as etcd reads it first", async () => {
    const other = await startSingleMember()
    try {
      await setUp(other)
      const root = await login(other, 'root', 'rootpw')
      const put = (headers: Record<string, string>): Promise<number> => other.call('/v3/kv/put', { key: b64('z'), value: b64('1') }, headers).then((r) => r.status)
      assert.equal(await put({ Authorization: 'garbage', 'Grpc-Metadata-Token': root }), 200)
      assert.equal(await put({ Authorization: root, 'Grpc-Metadata-Token': 'garbage' }), 401)
    } finally {
      await other.stop()
    }
  })
})

describe('per-stream caps', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({ streams: { maxWatchers: 2, maxLeases: 2 } })
  })
  after(() => s.stop())

  it('a watch stream holds at most --max-watchers-per-stream watchers', async () => {
    const create = JSON.stringify({ create_request: { key: b64('w') } })
    const controller = new AbortController()
    const res = await s.app.request('/v3/watch', { method: 'POST', body: create + create + create, signal: controller.signal })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    while (text.split('\n').length < 4) text += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    const lines = text.trim().split('\n').map((l) => JSON.parse(l).result)
    assert.deepEqual(lines.map((l) => l.canceled ?? false), [false, false, true])
    assert.equal(lines[2].cancel_reason, 'etcdserver: too many watchers on the WatchStream')
  })

  it('a watcher ended by a compaction no longer counts against the cap', async () => {
    // After a compaction at revision 0 a -1 start ends at once with an empty, uncancelled answer.
    assert.equal((await s.call('/v3/kv/compaction', {})).status, 200)
    const ended = JSON.stringify({ create_request: { key: b64('w'), start_revision: -1 } })
    const live = JSON.stringify({ create_request: { key: b64('w') } })
    const controller = new AbortController()
    const res = await s.app.request('/v3/watch', { method: 'POST', body: ended + ended + live + live, signal: controller.signal })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    while (text.split('\n').length < 7) text += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    const lines = text.trim().split('\n').map((l) => JSON.parse(l).result)
    assert.deepEqual(lines.map((l) => [l.created ?? false, l.canceled ?? false]), [
      [true, false], [false, false], [true, false], [false, false], [true, false], [true, false],
    ])
  })

  it('a keepalive stream renews at most --max-leases-per-stream leases', async () => {
    const body = ['1', '2', '1', '3'].map((id) => JSON.stringify({ ID: id })).join('')
    const text = await (await s.app.request('/v3/lease/keepalive', { method: 'POST', body })).text()
    const lines = text.trim().split('\n')
    assert.equal(lines.length, 4)
    assert.match(lines[3] as string, /too many leases on the keepalive stream/)
  })
})

describe('pure parts', () => {
  it('covers: a request must lie wholly inside the union of matching grants', () => {
    const perm = (permType: 'READ' | 'WRITE' | 'READWRITE', key: string, end: string) => ({
      permType,
      key: enc(key),
      rangeEnd: end === '\0' ? new Uint8Array([0]) : enc(end),
    })
    const perms = [perm('READ', 'a', 'c'), perm('READWRITE', 'c', 'e'), perm('WRITE', 'x', '')]
    assert.ok(covers(perms, 'read', enc('b'), enc('')))
    assert.ok(covers(perms, 'read', enc('a'), enc('e')))
    assert.ok(!covers(perms, 'read', enc('a'), enc('f')))
    assert.ok(!covers(perms, 'write', enc('b'), enc('')))
    assert.ok(covers(perms, 'write', enc('x'), enc('')))
    assert.ok(!covers(perms, 'write', enc('x'), enc('y')))
    assert.ok(covers([perm('READ', 'm', '\0')], 'read', enc('zzz'), new Uint8Array([0])))
    // An empty or inverted range needs its key alone (etcd 3.4): c is readable, f and b/w are not.
    assert.ok(covers(perms, 'read', enc('c'), enc('a')))
    assert.ok(covers(perms, 'read', enc('b'), enc('b')))
    assert.ok(!covers(perms, 'read', enc('f'), enc('a')))
    assert.ok(!covers(perms, 'write', enc('b'), enc('b')))
  })

  it('the replicated store: the same commands give the same tables on every member', async () => {
    const SQL = await initSqlJs()
    const commands: AuthCommand[] = [
      { type: 'user-add', name: 'root', hash: 'h1' },
      { type: 'user-grant', user: 'root', role: 'root' },
      { type: 'role-add', name: 'r' },
      { type: 'role-grant', name: 'r', perm: { permType: 'WRITE', key: enc('k'), rangeEnd: enc('') } },
      { type: 'enable', jwtKey: enc('key-of-the-first-enable') },
      { type: 'token', tokenHash: 'abc', user: 'root', revision: 5, issuedAt: 1000, expiresAt: 2000 },
      { type: 'role-revoke', role: 'r', key: enc('k'), rangeEnd: enc('x') },
      { type: 'user-delete', name: 'root' },
    ]
    const dumps = [1, 2].map(() => {
      const db = new SQL.Database()
      const store = new AuthStore(db)
      const errors = commands.map((c) => store.apply(encodeAuthCommand(c))?.message ?? null)
      const tables = ['auth_meta', 'auth_users', 'auth_user_roles', 'auth_roles', 'auth_perms', 'auth_tokens']
      return { errors, rows: tables.map((t) => JSON.stringify(db.exec(`SELECT * FROM ${t} ORDER BY 1`))) }
    })
    assert.deepEqual(dumps[0], dumps[1])
    assert.deepEqual(dumps[0]?.errors.slice(-2), [
      'etcdserver: permission is not granted to the role',
      'etcdserver: invalid auth management',
    ])
  })

  it('a unary body that does not arrive in time is refused (504 / 4)', async () => {
    const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(enc('{"key":')) })
    const request = new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit)
    await assert.rejects(readBody(request, 1 << 20, 1 << 20, 100), { code: 4, message: 'context deadline exceeded' })
  })
})
