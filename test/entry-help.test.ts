/** The member's and the gateway's entry points answer --help, and a bad flag with one line, exit 2. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MEMBER_FLAGS } from '../src/member/config.ts'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))

function run(entry: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // Without EDGECD_* variables, which stand for flags.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGECD_')))
  const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, entry), ...args], { encoding: 'utf8', env, timeout: 20_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('member: --help lists every flag and exits 0; an unknown flag gets one line and exit 2', () => {
  const help = run('workers/member.ts', '--help')
  assert.equal(help.status, 0, help.stderr)
  for (const flag of MEMBER_FLAGS) assert.match(help.stdout, new RegExp(`--${flag} `))
  const bad = run('workers/member.ts', '--bogus')
  assert.equal(bad.status, 2)
  assert.equal(bad.stderr.trim(), "edgecd member: Unknown option '--bogus' (--help lists the flags)")
})

test('gateway: --help lists its flags and variables and exits 0; no endpoints gets one line and exit 2', () => {
  const help = run('workers/gateway-node.ts', '--help')
  assert.equal(help.status, 0, help.stderr)
  for (const word of ['--listen', '--endpoints', 'EDGECD_REQUEST_TIMEOUT_MS', 'EDGECD_AUTO_SYNC', 'EDGECD_AUTH_FAILURE_LIMIT'])
    assert.ok(help.stdout.includes(word), word)
  const bad = run('workers/gateway-node.ts', '--listen', '127.0.0.1:0')
  assert.equal(bad.status, 2)
  assert.equal(bad.stderr.trim(), 'edgecd gateway: EDGECD_ENDPOINTS: no member endpoint given (--help lists the flags)')
})
