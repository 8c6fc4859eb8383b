/**
 * exitWithParent (src/member/exit-with-parent.ts): off unless EDGECD_EXIT_WITH_PARENT=1; on, the
 * end of stdin (or an error on it) calls stop once and force after the grace period. And the real
 * thing: a parent process (fixtures/member-parent.ts) spawns a member with a stdin pipe and is
 * killed with SIGKILL; with the variable set the member exits within a few seconds, without it the
 * member keeps serving (then the test kills it by PID).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { EXIT_WITH_PARENT_ENV, exitWithParent } from '../../src/member/exit-with-parent.ts'
import { eventually, freePort, sleep } from '../e2e/cluster-harness.ts'
import { commandLine, isAlive } from '../proc-fs.ts'
import type { MemberParentConfig } from './fixtures/member-parent.ts'

const PARENT = resolve(fileURLToPath(new URL('./fixtures/member-parent.ts', import.meta.url)))

interface Calls {
  stops: number
  forces: number
}

function watch(env: Record<string, string>, stdin: PassThrough, graceMs = 50): Calls {
  const calls: Calls = { stops: 0, forces: 0 }
  exitWithParent(env, stdin, { stop: () => calls.stops++, force: () => calls.forces++, graceMs })
  return calls
}

test('off unless the variable is exactly 1: stdin is left alone', async () => {
  for (const value of [undefined, '', '0', 'true']) {
    const stdin = new PassThrough()
    const calls = watch(value === undefined ? {} : { [EXIT_WITH_PARENT_ENV]: value }, stdin)
    assert.equal(stdin.readableFlowing, null, `stdin read with ${EXIT_WITH_PARENT_ENV}=${value}`)
    stdin.end('x')
    stdin.resume()
    await sleep(100)
    assert.deepEqual(calls, { stops: 0, forces: 0 }, `${EXIT_WITH_PARENT_ENV}=${value}`)
  }
})

test('on: input is discarded; the end of stdin stops once, then forces after the grace period', async () => {
  const stdin = new PassThrough()
  const calls = watch({ [EXIT_WITH_PARENT_ENV]: '1' }, stdin, 100)
  stdin.write('anything\n')
  await sleep(20)
  assert.deepEqual(calls, { stops: 0, forces: 0 })
  stdin.end()
  await eventually('stopped', () => assert.equal(calls.stops, 1, 'not stopped yet'), { timeoutMs: 1000 })
  assert.equal(calls.forces, 0, 'forced before the grace period')
  stdin.destroy(new Error('EPIPE'))
  await eventually('forced', () => assert.equal(calls.forces, 1, 'not forced yet'), { timeoutMs: 1000 })
  assert.equal(calls.stops, 1, 'stopped twice')
})

test('on: an error on stdin stops too', async () => {
  const stdin = new PassThrough()
  const calls = watch({ [EXIT_WITH_PARENT_ENV]: '1' }, stdin)
  stdin.destroy(new Error('EIO'))
  await eventually('stopped', () => assert.equal(calls.stops, 1, 'not stopped yet'), { timeoutMs: 1000 })
})

interface Spawned {
  readonly parent: number
  readonly member: number
  readonly url: string
  readonly log: string
}

/** Starts the parent and waits until its member serves; the test's end kills both by PID. */
async function startParent(t: TestContext, exitWithParentOn: boolean): Promise<Spawned> {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-parent-'))
  const url = `http://127.0.0.1:${await freePort()}`
  const log = join(dir, 'member.log')
  const config: MemberParentConfig = {
    args: [
      '--name', 'p1', '--data-dir', join(dir, 'p1'), '--listen-client-urls', url,
      '--heartbeat-interval', '50', '--election-timeout', '500',
    ],
    log,
    exitWithParent: exitWithParentOn,
  }
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  parent.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')))
  let member = 0
  t.after(() => {
    if (parent.pid !== undefined && isAlive(parent.pid)) process.kill(parent.pid, 'SIGKILL')
    if (member !== 0 && isAlive(member) && commandLine(member).includes('workers/member.ts')) process.kill(member, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  member = await eventually('the parent prints its member PID', () => {
    const m = /^(\d+)\n/.exec(out)
    assert.ok(m !== null, `no PID line yet (${JSON.stringify(out)})`)
    return Number(m[1])
  }, { timeoutMs: 20_000 })
  await eventually('the member serves', async () => {
    assert.equal(isAlive(member), true, `the member exited:\n${readFileSync(log, 'utf8')}`)
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
    assert.equal(res.status, 200, `health: ${res.status}`)
  }, { timeoutMs: 30_000, intervalMs: 100 })
  return { parent: parent.pid as number, member, url, log }
}

test('with EDGECD_EXIT_WITH_PARENT=1 a member exits within seconds of its parent being killed', { timeout: 60_000 }, async (t) => {
  const s = await startParent(t, true)
  process.kill(s.parent, 'SIGKILL')
  const killedAt = Date.now()
  await eventually('the member exits', () => assert.equal(isAlive(s.member), false, 'the member still runs'), {
    timeoutMs: 5000,
    intervalMs: 50,
  })
  t.diagnostic(`member gone ${Date.now() - killedAt} ms after its parent`)
  assert.match(readFileSync(s.log, 'utf8'), /stdin ended: the parent process is gone/)
})

test('without it the member outlives its parent (normal runs are unaffected)', { timeout: 60_000 }, async (t) => {
  const s = await startParent(t, false)
  process.kill(s.parent, 'SIGKILL')
  await sleep(3000)
  assert.equal(isAlive(s.member), true, 'the member exited with its parent')
  const res = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(2000) })
  assert.equal(res.status, 200)
})
