/**
 * The auth commands of the `edgecd` CLI (etcdctl's syntax and output) against a member process:
 * enabling auth as etcd's guide does it, users, roles and permissions, `--user name:password`,
 * and passwords read from stdin when not given (stdin is not a terminal here).
 */
import { after, before, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../../src/cli/program.ts'
import type { Output } from '../../src/cli/output.ts'
import { tempDir } from '../tls/certs.ts'
import { freePort, spawnMember, waitHealthy, type MemberProcess } from '../tls/processes.ts'

const BIN = resolve(fileURLToPath(new URL('../../bin/edgecd.js', import.meta.url)))

let dir = ''
let member: MemberProcess

before(async () => {
  dir = tempDir('edgecd-cli-auth-')
  member = spawnMember({ name: 'c1', scheme: 'http', port: await freePort(), dir })
  await waitHealthy(member.url, fetch)
})

after(async () => {
  await member.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function edgecd(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const output: Output = {
    out: (l) => out.push(typeof l === 'string' ? l : new TextDecoder().decode(l)),
    err: (l) => err.push(l),
  }
  const code = await run(['--endpoints', member.url, ...args], {}, output)
  return { code, out, err }
}

/** The CLI as a process, `stdin` written to it. */
function edgecdWithStdin(stdin: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, '--endpoints', member.url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('close', (code) => resolveRun({ code, out }))
    child.stdin.end(stdin)
  })
}

it('enables auth the etcd way and manages users, roles and permissions', async () => {
  assert.deepEqual((await edgecd('auth', 'enable')).err, ['Error: etcdserver: root user does not exist'])
  assert.deepEqual((await edgecd('user', 'add', 'root:rootpw')).out, ['User root created'])
  assert.deepEqual((await edgecd('user', 'grant-role', 'root', 'root')).out, ['Role root is granted to user root'])
  assert.deepEqual((await edgecd('role', 'add', 'reader')).out, ['Role reader created'])
  assert.deepEqual((await edgecd('role', 'grant-permission', '--prefix', 'reader', 'read', 'a/')).out, ['Role reader updated'])
  assert.deepEqual((await edgecd('role', 'grant-permission', 'reader', 'readwrite', 'k1')).out, ['Role reader updated'])
  assert.deepEqual((await edgecd('role', 'get', 'reader')).out, [
    'Role reader',
    'KV Read:',
    '\t[a/, a0) (prefix a/)',
    '\tk1',
    'KV Write:',
    '\tk1',
  ])
  assert.deepEqual((await edgecd('auth', 'enable')).out, ['Authentication Enabled'])
  assert.equal((await edgecd('user', 'list')).err[0], 'Error: etcdserver: user name is empty')
  const asRoot = ['--user', 'root:rootpw']
  assert.deepEqual((await edgecd(...asRoot, 'user', 'add', 'alice:alicepw')).out, ['User alice created'])
  assert.deepEqual((await edgecd(...asRoot, 'user', 'grant-role', 'alice', 'reader')).out, [
    'Role reader is granted to user alice',
  ])
  assert.deepEqual((await edgecd(...asRoot, 'user', 'get', 'alice')).out, ['User: alice', 'Roles: reader'])
  assert.deepEqual((await edgecd(...asRoot, 'user', 'list')).out, ['alice', 'root'])
  assert.deepEqual((await edgecd(...asRoot, 'role', 'list')).out, ['reader'])
  assert.deepEqual((await edgecd(...asRoot, 'put', 'a/1', 'v')).out, ['OK'])
  assert.deepEqual((await edgecd('--user', 'alice:alicepw', 'get', 'a/1')).out, ['a/1', 'v'])
  assert.deepEqual((await edgecd('--user', 'alice:alicepw', 'put', 'a/1', 'w')).err, ['Error: etcdserver: permission denied'])
  assert.deepEqual((await edgecd('--user', 'alice:nope', 'get', 'a/1')).err, [
    'Error: etcdserver: authentication failed, invalid user ID or password',
  ])
  assert.deepEqual((await edgecd(...asRoot, 'role', 'revoke-permission', 'reader', 'k1')).out, [
    'Permission of key k1 is revoked from role reader',
  ])
  assert.deepEqual((await edgecd(...asRoot, '-w', 'json', 'auth', 'status')).out.length, 1)
  assert.deepEqual((await edgecd(...asRoot, 'auth', 'status')).out[0], 'Authentication Status: true')
  assert.deepEqual((await edgecd(...asRoot, 'user', 'revoke-role', 'alice', 'reader')).out, [
    'Role reader is revoked from user alice',
  ])
  assert.deepEqual((await edgecd(...asRoot, 'role', 'delete', 'reader')).out, ['Role reader deleted'])
})

it('reads passwords missing from user add, user passwd and --user from stdin (in that order)', async () => {
  const added = await edgecdWithStdin('carolpw\nrootpw\n', '--user', 'root', 'user', 'add', 'carol')
  assert.equal(added.code, 0, added.out)
  assert.match(added.out, /User carol created/)
  const changed = await edgecdWithStdin('carol2\nrootpw\n', '--user', 'root', 'user', 'passwd', 'carol')
  assert.match(changed.out, /Password updated/)
  assert.match((await edgecdWithStdin('carol2\n', '--user', 'carol', 'user', 'get', 'carol')).out, /User: carol/)
  assert.deepEqual((await edgecd('--user', 'root:rootpw', 'auth', 'disable')).out, ['Authentication Disabled'])
})
