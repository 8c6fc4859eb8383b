/**
 * The chaos runner (`npm run chaos`, test/chaos/run.ts) killed with SIGKILL mid-run, when no exit
 * hook of its own can run: every member process it started exits within a few seconds anyway
 * (each has its stdin a pipe from the runner and EDGECD_EXIT_WITH_PARENT=1; cluster.ts). Only the
 * partition fault is drawn, so no member is paused (SIGSTOP) at the moment of the kill.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually } from '../e2e/cluster-harness.ts'
import { childrenOf, commandLine, isAlive } from '../proc-fs.ts'

const RUN = resolve(fileURLToPath(new URL('./run.ts', import.meta.url)))

test('killing the chaos runner with SIGKILL takes its members down with it', { timeout: 120_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'edgecd-chaos-death-'))
  const runner = spawn(
    process.execPath,
    ['--import', 'tsx', RUN, '--seed', '7', '--time', '120', '--faults', 'partition', '--out', out],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  runner.stdout?.on('data', (b: Buffer) => (output += b.toString('utf8')))
  runner.stderr?.on('data', (b: Buffer) => (output += b.toString('utf8')))
  const runnerExited = new Promise<void>((res) => runner.once('exit', () => res()))
  const isMember = (pid: number): boolean => commandLine(pid).includes('workers/member.ts')
  let members: number[] = []
  t.after(async () => {
    if (runner.exitCode === null && runner.signalCode === null) process.kill(runner.pid as number, 'SIGKILL')
    await runnerExited
    for (const pid of members) if (isAlive(pid) && isMember(pid)) process.kill(pid, 'SIGKILL')
    rmSync(out, { recursive: true, force: true })
  })

  members = await eventually('three members up and a first fault injected', () => {
    assert.equal(runner.exitCode, null, `the runner exited:\n${output}`)
    const running = childrenOf(runner.pid as number).filter(isMember)
    assert.equal(running.length, 3, `${running.length} members so far`)
    assert.match(output, /^ {2}\d+\.\ds partition /m, 'no fault logged yet')
    return running
  }, { timeoutMs: 90_000, intervalMs: 200 })

  process.kill(runner.pid as number, 'SIGKILL')
  await runnerExited
  await eventually('every member has exited', () => {
    for (const pid of members) assert.equal(isAlive(pid), false, `member ${pid} still runs`)
  }, { timeoutMs: 8000, intervalMs: 100 })
})
