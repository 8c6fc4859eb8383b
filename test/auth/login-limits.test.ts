/**
 * The failed-login limits on a real member (single-member.ts), every request seen from one
 * address as all clients behind a gateway are: guesses at one account lock that account only;
 * one address spraying names is stopped by the looser per-address limit; concurrent guesses do not
 * get past the limit while their hashes are computed; calls that check no password (auth off) and
 * successes do not count.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { startSingleMember, type SingleMember } from './single-member.ts'

const GATEWAY = { address: '10.0.0.9', commonName: null }

async function setUp(s: SingleMember): Promise<void> {
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await s.call(path, body)
    assert.equal(r.status, 200, `${path}: ${r.text}`)
  }
}

async function login(s: SingleMember, name: string, password: string): Promise<[number, string | undefined]> {
  const r = await s.call('/v3/auth/authenticate', { name, password })
  return [r.status, r.json?.message ?? (typeof r.json?.token === 'string' ? 'token' : undefined)]
}

const TOO_MANY: [number, string] = [429, 'etcdserver: too many requests']
const FAILED: [number, string] = [400, 'etcdserver: authentication failed, invalid user ID or password']

describe('failed-login limits on a member, all clients behind one address', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({
      connection: GATEWAY,
      auth: { failures: { max: 3, windowMs: 60_000, maxAddresses: 100, maxPerAddress: 7 } },
    })
    await setUp(s)
  })
  after(() => s.stop())

  it('guesses at root lock root (even with its password), not alice logging in from the same address', async () => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await login(s, 'root', 'guess'), FAILED, `guess ${i}`)
    assert.deepEqual(await login(s, 'root', 'rootpw'), TOO_MANY)
    assert.deepEqual(await login(s, 'alice', 'alicepw'), [200, 'token'])
  })

  it('concurrent guesses: only the limit of them reach the password check', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => login(s, 'alice', 'guess')))
    const count = (want: [number, string]): number => answers.filter((a) => a[0] === want[0] && a[1] === want[1]).length
    assert.deepEqual([count(FAILED), count(TOO_MANY)], [3, 5], JSON.stringify(answers))
  })

  it('one address spraying names meets the per-address limit, for every name', async () => {
    // 6 failures so far (3 as root, 3 as alice); one more fills the address's 7.
    assert.deepEqual(await login(s, 'nobody', 'guess'), FAILED)
    assert.deepEqual(await login(s, 'somebody', 'guess'), TOO_MANY)
  })
})

describe('failed-login limits on a member: calls that check no password do not count', () => {
  let s: SingleMember
  before(async () => {
    s = await startSingleMember({ connection: GATEWAY, auth: { failures: { max: 2, windowMs: 60_000, maxAddresses: 100 } } })
  })
  after(() => s.stop())

  it('authenticate while auth is off, then with the right password once it is on', async () => {
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await login(s, 'root', 'rootpw'), [412, 'etcdserver: authentication is not enabled'], `call ${i}`)
    }
    await setUp(s)
    assert.deepEqual(await login(s, 'root', 'rootpw'), [200, 'token'])
    assert.deepEqual(await login(s, 'root', 'rootpw'), [200, 'token'], 'a success does not count either')
    assert.deepEqual(await login(s, 'root', 'rootpw'), [200, 'token'])
  })

  it("a password for a user made without one: etcd's error (500 / 2), every time", async () => {
    assert.equal((await s.call('/v3/auth/user/add', { name: 'cn-only', options: { no_password: true } }, { authorization: await token(s) })).status, 200)
    for (let i = 0; i < 4; i++) {
      const want = [500, 'auth: authentication failed, password was given for no password user']
      assert.deepEqual(await login(s, 'cn-only', 'anything'), want, `call ${i}`)
    }
  })
})

async function token(s: SingleMember): Promise<string> {
  return (await s.call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).json.token as string
}
