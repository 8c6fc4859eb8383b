/**
 * A forwarding member vouching for its client's certificate user (src/member/forwarded-user.ts):
 *
 * - the proof itself: it verifies for the user, member, method and path it was made for, at a time
 *   close enough; any other key (the cluster token alone too), user, member, method, path, an old
 *   or future timestamp, or a garbled proof is refused;
 * - `connectionOf` (tls.ts) hands a claim on only for a forwarded request over a verified TLS
 *   connection with --client-cert-auth, and never takes a client's own claim as its CN;
 * - on an in-process leader with auth enabled, a claim that verifies makes its user the caller of a
 *   leader-only call (alice may ask a lease's time to live, is denied a member change; root may
 *   make it); a forged or stale claim, or one on a call that is not leader-only, grants nothing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import type { Hono } from 'hono'
import {
  AuthGate, connectionOf, createMemberApp, DEFAULT_AUTH_OPTIONS, DEFAULT_SECURITY, realClock, type SecurityConfig,
} from '../../src/member/index.ts'
import {
  FORWARDED_PROOF_HEADER, FORWARDED_USER_HEADER, FORWARDED_USER_VALIDITY_MS, forwardedUserKey, readForwardedClaim,
  signForwardedUser, verifyForwardedUser, type ForwardedCall,
} from '../../src/member/forwarded-user.ts'
import { FORWARDED_HEADER } from '../../src/member/forward.ts'
import { b64, startSingleMember, type SingleMember } from './single-member.ts'

const SECRET = new Uint8Array(randomBytes(32))
const KEY = forwardedUserKey(SECRET, 'edgecd-cluster') as Buffer
const CALL: ForwardedCall = { target: 42, method: 'POST', path: '/v3/lease/timetolive' }
const NOW = 1_700_000_000_000

function claimOf(headers: Record<string, string>): { user: string; proof: string } {
  return readForwardedClaim(new Headers(headers)) ?? assert.fail('both claim headers expected')
}

describe('the forwarded-user proof', () => {
  it('verifies for what it was made for, a little late or early, and a non-ASCII CN', () => {
    assert.equal(verifyForwardedUser(KEY, claimOf(signForwardedUser(KEY, CALL, 'alice', NOW)), CALL, NOW), 'alice')
    const skew = FORWARDED_USER_VALIDITY_MS - 1
    assert.equal(verifyForwardedUser(KEY, claimOf(signForwardedUser(KEY, CALL, 'alice', NOW)), CALL, NOW + skew), 'alice')
    assert.equal(verifyForwardedUser(KEY, claimOf(signForwardedUser(KEY, CALL, 'alice', NOW)), CALL, NOW - skew), 'alice')
    assert.equal(verifyForwardedUser(KEY, claimOf(signForwardedUser(KEY, CALL, 'zoë\nroot', NOW)), CALL, NOW), 'zoë\nroot')
  })

  it('refuses another key, user, member, method, path, time, and garbled proofs', () => {
    const good = claimOf(signForwardedUser(KEY, CALL, 'alice', NOW))
    const tokenOnly = Buffer.from(forwardedUserKey(new TextEncoder().encode('edgecd-cluster'), '') as Buffer)
    const cases: readonly [string, Buffer | null, { user: string; proof: string }, ForwardedCall, number][] = [
      ['no key', null, good, CALL, NOW],
      ['another secret', forwardedUserKey(new Uint8Array(randomBytes(32)), 'edgecd-cluster'), good, CALL, NOW],
      ['another cluster token', forwardedUserKey(SECRET, 'other-cluster'), good, CALL, NOW],
      ['keyed by the cluster token alone', KEY, claimOf(signForwardedUser(tokenOnly, CALL, 'alice', NOW)), CALL, NOW],
      ['another user', KEY, { ...good, user: 'root' }, CALL, NOW],
      ['another member', KEY, good, { ...CALL, target: 43 }, NOW],
      ['another method', KEY, good, { ...CALL, method: 'GET' }, NOW],
      ['another path', KEY, good, { ...CALL, path: '/v3/cluster/member/remove' }, NOW],
      ['too old', KEY, good, CALL, NOW + FORWARDED_USER_VALIDITY_MS + 1],
      ['from the future', KEY, good, CALL, NOW - FORWARDED_USER_VALIDITY_MS - 1],
      ['empty proof', KEY, { ...good, proof: '' }, CALL, NOW],
      ['proof without time', KEY, { ...good, proof: good.proof.split('.')[1] as string }, CALL, NOW],
      ['truncated MAC', KEY, { ...good, proof: good.proof.slice(0, -2) }, CALL, NOW],
      ['flipped MAC', KEY, { ...good, proof: good.proof.slice(0, -1) + (good.proof.endsWith('0') ? '1' : '0') }, CALL, NOW],
      ['bad user encoding', KEY, { ...good, user: '%E0%A4%A' }, CALL, NOW],
    ]
    for (const [name, key, claim, call, now] of cases) assert.equal(verifyForwardedUser(key, claim, call, now), null, name)
    assert.equal(forwardedUserKey(null, 'edgecd-cluster'), null, 'no key before auth was ever enabled')
  })
})

/** A Hono context as @hono/node-server gives it, over a TLS socket with a certificate of CN `cn`. */
function fakeContext(authorized: boolean, cn: string, headers: Record<string, string>): Context {
  const socket = { remoteAddress: '10.0.0.9', authorized, getPeerCertificate: () => ({ subject: { CN: cn } }) }
  const h = new Headers(headers)
  const incoming = { socket, headers: Object.fromEntries(h) }
  return { env: { incoming }, req: { header: (name: string) => h.get(name) ?? undefined } } as unknown as Context
}

describe('connectionOf and forwarded claims', () => {
  const tls = { certFile: 'x', keyFile: 'x', trustedCaFile: 'x' }
  const mtls: SecurityConfig = { ...DEFAULT_SECURITY, tls, clientCertAuth: true }
  const claim = { [FORWARDED_USER_HEADER]: 'root', [FORWARDED_PROOF_HEADER]: `${NOW}.${'0'.repeat(64)}` }

  it('hands a claim on only for a forwarded request on a verified connection with --client-cert-auth', () => {
    const forwarded = { [FORWARDED_HEADER]: '1', ...claim }
    assert.deepEqual(connectionOf(mtls)(fakeContext(true, 'm2', forwarded)), {
      address: '10.0.0.9',
      commonName: null,
      forwardClaim: { user: 'root', proof: claim[FORWARDED_PROOF_HEADER] },
    })
    assert.deepEqual(connectionOf(mtls)(fakeContext(true, 'm2', { [FORWARDED_HEADER]: '1' })), { address: '10.0.0.9', commonName: null })
    assert.deepEqual(connectionOf(mtls)(fakeContext(false, 'm2', forwarded)), { address: '10.0.0.9', commonName: null })
    const plainTls: SecurityConfig = { ...mtls, clientCertAuth: false }
    assert.deepEqual(connectionOf(plainTls)(fakeContext(true, 'm2', forwarded)), { address: '10.0.0.9', commonName: null })
  })

  it('ignores claim headers a client sends without the forwarded marker: its own CN stands', () => {
    assert.deepEqual(connectionOf(mtls)(fakeContext(true, 'alice', claim)), { address: '10.0.0.9', commonName: 'alice' })
  })
})

describe('a leader honouring forwarded claims', () => {
  let s: SingleMember
  let app: Hono
  let lease = ''

  before(async () => {
    s = await startSingleMember()
    const setup: readonly [string, unknown][] = [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', options: { no_password: true } }],
      ['/v3/auth/enable', {}],
    ]
    for (const [path, body] of setup) assert.equal((await s.call(path, body)).status, 200, path)
    lease = (await s.call('/v3/lease/grant', { TTL: 60 })).json.ID
    // What connectionOf gives for every request here: one forwarded over a verified TLS link.
    app = createMemberApp({
      member: {
        actor: s.member.actor,
        identity: s.member.identity,
        limits: { maxRequestBytes: 1572864, maxTxnOps: 128 },
        clusterToken: 'solo',
        versions: { server: '3.4.23', cluster: '3.4.0' },
        auth: new AuthGate(DEFAULT_AUTH_OPTIONS, () => realClock.now()),
      },
      connection: (c) => {
        const claim = readForwardedClaim({ get: (name) => c.req.header(name) })
        return claim === null ? { address: 'peer', commonName: null } : { address: 'peer', commonName: null, forwardClaim: claim }
      },
    })
  })

  after(() => s.stop())

  const key = (): Buffer => forwardedUserKey(s.member.actor.auth.jwtKey(), 'solo') ?? assert.fail('auth was enabled: a key')
  const self = (): number => s.member.actor.config.id

  async function call(path: string, body: unknown, headers: Record<string, string>): Promise<[number, string]> {
    const res = await app.request(path, { method: 'POST', body: JSON.stringify(body), headers: { [FORWARDED_HEADER]: '1', ...headers } })
    const json = (await res.json()) as { message?: string }
    return [res.status, json.message ?? 'ok']
  }

  function vouch(user: string, path: string, options: { key?: Buffer; target?: number; at?: number } = {}): Record<string, string> {
    const call = { target: options.target ?? self(), method: 'POST', path }
    return signForwardedUser(options.key ?? key(), call, user, options.at ?? realClock.now())
  }

  it('a vouched certificate user is the caller of a leader-only call', async () => {
    const ttl = '/v3/lease/timetolive'
    assert.deepEqual(await call(ttl, { ID: lease, keys: true }, vouch('alice', ttl)), [200, 'ok'])
    const promote = '/v3/cluster/member/promote'
    assert.deepEqual(await call(promote, { ID: '1' }, vouch('alice', promote)), [403, 'etcdserver: permission denied'])
    // Past the auth check: member 1 does not exist.
    assert.deepEqual(await call(promote, { ID: '1' }, vouch('root', promote)), [404, 'etcdserver: member not found'])
  })

  it('a missing, forged, stale, misdirected or misplaced claim grants nothing', async () => {
    const ttl = '/v3/lease/timetolive'
    const promote = '/v3/cluster/member/promote'
    const empty: [number, string] = [400, 'etcdserver: user name is empty']
    const forgedKey = forwardedUserKey(new TextEncoder().encode('solo'), 'solo') as Buffer
    const tampered = { ...vouch('alice', promote), [FORWARDED_USER_HEADER]: 'root' }
    const cases: readonly [string, string, unknown, Record<string, string>][] = [
      ['no claim', ttl, { ID: lease, keys: true }, {}],
      ['user without proof', ttl, { ID: lease, keys: true }, { [FORWARDED_USER_HEADER]: 'alice' }],
      ['garbage proof', promote, { ID: '1' }, { [FORWARDED_USER_HEADER]: 'root', [FORWARDED_PROOF_HEADER]: '1.abc' }],
      ['wrong key', promote, { ID: '1' }, vouch('root', promote, { key: forgedKey })],
      ['alice re-labelled as root', promote, { ID: '1' }, tampered],
      ['made for another path', promote, { ID: '1' }, vouch('root', ttl)],
      ['made for another member', promote, { ID: '1' }, vouch('root', promote, { target: self() + 1 })],
      ['stale', promote, { ID: '1' }, vouch('root', promote, { at: realClock.now() - 2 * FORWARDED_USER_VALIDITY_MS })],
      ['not a leader-only call', '/v3/kv/range', { key: b64('a') }, vouch('root', '/v3/kv/range')],
    ]
    for (const [name, path, body, headers] of cases) assert.deepEqual(await call(path, body, headers), empty, name)
  })
})
