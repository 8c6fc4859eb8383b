/**
 * etcd's `--auth-token jwt,sign-method=…,priv-key=…,pub-key=…,ttl=…`: the options are parsed
 * and checked as etcd takes them; keys in openssl's forms (RSA PKCS#1, EC SEC1, PKCS#8, raw HMAC
 * bytes) sign tokens with the method asked for, which a JWT library verifies with the public key
 * alone; a member accepts them and refuses a token signed with another key.
 */
import { describe, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes, verify as verifySignature } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jwtKeys, type JwtKeys } from '../../src/member/auth-tokens.ts'
import { parseMemberConfig } from '../../src/member/config.ts'
import type { JwtSignMethod } from '../../src/member/jwt-options.ts'
import { b64, startSingleMember } from './single-member.ts'

test("--auth-token's jwt options: sign-method and priv-key needed, ttl a duration (default 5m), nothing else", () => {
  const jwt = (value: string) => parseMemberConfig(['--auth-token', value], {}).security?.jwt
  assert.deepEqual(jwt('jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS512,ttl=10m'), { signMethod: 'RS512', privKeyFile: 'a.key', pubKeyFile: 'a.pub', ttlMs: 600_000 })
  assert.deepEqual(jwt('jwt,priv-key=k,sign-method=HS256'), { signMethod: 'HS256', privKeyFile: 'k', pubKeyFile: null, ttlMs: 300_000 })
  assert.equal(jwt('jwt'), null, "plain jwt: edgecd's HS256 with the cluster's key")
  const refused: Array<[string[], RegExp]> = [
    [['--auth-token', 'jwt,priv-key=k'], /jwt needs sign-method, one of HS256, .*; got ""/],
    [['--auth-token', 'jwt,priv-key=k,sign-method=EdDSA'], /got "EdDSA"/],
    [['--auth-token', 'jwt,sign-method=RS256,pub-key=p'], /jwt needs priv-key/],
    [['--auth-token', 'jwt,sign-method=RS256,priv-key=k,ttl=10'], /jwt ttl must be a positive duration such as 10m, got "10"/],
    [['--auth-token', 'jwt,sign-method=RS256,priv-key=k,colour=blue'], /unknown jwt option "colour=blue"/],
    [['--auth-token', 'simple,ttl=5m'], /must be simple, jwt, or jwt with etcd's options/],
    [['--auth-token', 'jwt,sign-method=HS256,priv-key=k', '--auth-token-key', 'x'.repeat(16)], /--auth-token-key: not with --auth-token's jwt options/],
  ]
  for (const [argv, re] of refused) assert.throws(() => parseMemberConfig(argv, {}), re, argv.join(' '))
})

test('a key of the wrong kind or curve for the method is refused when the keys are read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-jwt-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const p384 = keyFiles(dir, 'ES384')
  const read = (p: string): Buffer => readFileSync(p)
  await assert.rejects(jwtKeys({ signMethod: 'ES256', privKeyFile: p384.priv, pubKeyFile: null, ttlMs: 1 }, read), /priv-key is on curve secp384r1, ES256 needs prime256v1/)
  await assert.rejects(jwtKeys({ signMethod: 'RS256', privKeyFile: p384.priv, pubKeyFile: null, ttlMs: 1 }, read), /priv-key is a ec key, RS256 needs rsa/)
  assert.equal((await jwtKeys({ signMethod: 'ES384', privKeyFile: p384.priv, pubKeyFile: p384.pub, ttlMs: 1 }, read)).alg, 'ES384')
})

/** The key files of one method, written as openssl writes them. */
function keyFiles(dir: string, method: JwtSignMethod): { priv: string; pub: string | null; publicPem: string | null } {
  const priv = join(dir, `${method}.key`)
  if (method.startsWith('HS')) {
    writeFileSync(priv, randomBytes(64))
    return { priv, pub: null, publicPem: null }
  }
  const { privateKey, publicKey } = method.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[method.slice(0, 5)] as string })
    : generateKeyPairSync('rsa', { modulusLength: 2048 })
  // `openssl genrsa` writes PKCS#1, `openssl ecparam -genkey` SEC1; PS keys here as PKCS#8.
  const type = method.startsWith('RS') ? 'pkcs1' : method.startsWith('ES') ? 'sec1' : 'pkcs8'
  writeFileSync(priv, privateKey.export({ format: 'pem', type } as never) as string)
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }) as string
  const pub = join(dir, `${method}.pub`)
  writeFileSync(pub, publicPem)
  return { priv, pub, publicPem }
}

describe("tokens signed with etcd's JWT options", () => {
  for (const method of ['RS256', 'ES256', 'PS384', 'HS512'] as const) {
    it(`${method}: issued, verified by its public key alone, accepted; another key's refused`, { timeout: 30_000 }, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'edgecd-jwt-'))
      t.after(() => rmSync(dir, { recursive: true, force: true }))
      const files = keyFiles(dir, method)
      const keys = await jwtKeys({ signMethod: method, privKeyFile: files.priv, pubKeyFile: files.pub, ttlMs: 60_000 }, (p) => readFileSync(p))
      const s = await startSingleMember({ auth: { tokens: { mode: 'jwt', ttlMs: 60_000, key: null, jwt: keys } } })
      t.after(() => s.stop())
      for (const [path, body] of [
        ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
        ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
        ['/v3/auth/enable', {}],
      ] as const)
        assert.equal((await s.call(path, body)).status, 200, path)
      const token = (await s.call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).json.token as string
      const [header, payload, signature] = token.split('.') as [string, string, string]
      assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: method, typ: 'JWT' })
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
      assert.deepEqual(Object.keys(claims).sort(), ['exp', 'revision', 'username'])
      assert.equal(claims.username, 'root')
      if (files.publicPem !== null && method !== 'PS384') {
        const key = method.startsWith('ES') ? { key: files.publicPem, dsaEncoding: 'ieee-p1363' as const } : files.publicPem
        assert.ok(verifySignature('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')), 'the signature verifies')
      }
      assert.equal((await s.call('/v3/kv/range', { key: b64('k') }, { Authorization: token })).status, 200)

      // The same claims signed with another key of the same method are refused.
      const other = keyFiles(mkdtempSync(join(dir, 'other-')), method)
      const otherKeys: JwtKeys = await jwtKeys({ signMethod: method, privKeyFile: other.priv, pubKeyFile: null, ttlMs: 60_000 }, (p) => readFileSync(p))
      const { sign } = await import('hono/jwt')
      const forged = await sign(claims, otherKeys.signKey, method)
      const refused = await s.call('/v3/kv/range', { key: b64('k') }, { Authorization: forged })
      assert.deepEqual([refused.status, refused.json.message], [401, 'etcdserver: invalid auth token'])
    })
  }
})
