/**
 * Secrets stay secret: a member process logging at debug level goes through user creation,
 * logins (good and bad), password changes, calls with valid, stale and garbage tokens, and a
 * forced failure; neither its log nor any error body holds a password or a token.
 */
import { after, before, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { tempDir } from '../tls/certs.ts'
import { freePort, spawnMember, waitHealthy, type MemberProcess } from '../tls/processes.ts'

const PASSWORDS = ['Root-Secret-7f3a9c', 'Alice-Secret-19be4d', 'Changed-Secret-55aa01', 'Wrong-Secret-c0ffee']
const b64 = (s: string): string => Buffer.from(s).toString('base64')

let dir = ''
let member: MemberProcess

before(async () => {
  dir = tempDir('edgecd-secrets-')
  member = spawnMember({ name: 's1', scheme: 'http', port: await freePort(), dir, flags: ['--log-level', 'debug'] })
  await waitHealthy(member.url, fetch)
})

after(async () => {
  await member.stop()
  rmSync(dir, { recursive: true, force: true })
})

it('no password or token in the log or in error bodies', async () => {
  const bodies: string[] = []
  const call = async (path: string, body: unknown, token?: string): Promise<any> => {
    const res = await fetch(member.url + path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: token === undefined ? {} : { Authorization: token },
    })
    const text = await res.text()
    if (res.status !== 200) bodies.push(text)
    return JSON.parse(text)
  }
  const [rootPw, alicePw, changedPw, wrongPw] = PASSWORDS as [string, string, string, string]
  await call('/v3/auth/user/add', { name: 'root', password: rootPw })
  await call('/v3/auth/user/grant', { user: 'root', role: 'root' })
  await call('/v3/auth/user/add', { name: 'alice', password: alicePw })
  await call('/v3/auth/enable', {})
  const root = (await call('/v3/auth/authenticate', { name: 'root', password: rootPw })).token as string
  const alice = (await call('/v3/auth/authenticate', { name: 'alice', password: alicePw })).token as string
  await call('/v3/auth/authenticate', { name: 'alice', password: wrongPw })
  await call('/v3/auth/user/changepw', { name: 'alice', password: changedPw }, root)
  await call('/v3/kv/range', { key: b64('x') }, alice)
  await call('/v3/kv/range', { key: b64('x') }, `Bearer ${root}`)
  await call('/v3/kv/put', { key: b64('x'), value: b64(rootPw) }, 'garbage-token')
  await call('/v3/auth/user/add', { name: 'root', password: rootPw }, root)
  assert.ok(bodies.length >= 5)
  await member.stop()
  const log = readFileSync(member.log, 'utf8')
  assert.ok(log.length > 0)
  for (const secret of [...PASSWORDS, root, alice, root.split('.')[0] as string]) {
    assert.ok(!log.includes(secret), `the log holds a secret: ${secret}`)
    for (const body of bodies) assert.ok(!body.includes(secret), `an error body holds a secret: ${body}`)
  }
})
