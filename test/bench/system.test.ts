/**
 * bench/lib/system.ts: the CPU time of a process counts its child processes, running ones and
 * ended ones alike (a gateway run as several processes is measured as one).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds, cpuWaitSeconds } from '../../bench/lib/system.ts'
import { childrenOf, isAlive } from '../proc-fs.ts'

// A parent that idles while its child burns CPU for BURN_MS, and stays up after the child ended.
const BURN_MS = 1200
const PARENT = `
const { spawn } = require('node:child_process')
spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < ${BURN_MS}) {}'], { stdio: 'ignore' })
setInterval(() => {}, 1000)
`

test('cpuSeconds and cpuWaitSeconds of a process include its children, while they run and after they end', { timeout: 30_000 }, async () => {
  const parent = spawn(process.execPath, ['-e', PARENT], { stdio: 'ignore' })
  const pid = parent.pid as number
  try {
    let child: number | undefined
    for (let i = 0; i < 200 && child === undefined; i++) {
      child = childrenOf(pid)[0]
      if (child === undefined) await sleep(10)
    }
    assert.ok(child !== undefined, 'the parent started its child')
    await sleep(BURN_MS / 2)
    const childCpu = cpuSeconds(child)
    const parentCpu = cpuSeconds(pid)
    assert.ok(childCpu >= 0.2, `the child burns CPU (${childCpu} s)`)
    assert.ok(parentCpu >= childCpu, `the parent's ${parentCpu} s include its running child's ${childCpu} s`)
    assert.ok(cpuWaitSeconds(pid) >= cpuWaitSeconds(child), 'and its wait for a CPU')

    for (let i = 0; i < 500 && isAlive(child); i++) await sleep(10)
    assert.ok(!isAlive(child), 'the child ended')
    const after = cpuSeconds(pid)
    assert.ok(after >= (BURN_MS / 1000) * 0.5, `the parent's ${after} s still include its ended child's`)
  } finally {
    parent.kill('SIGKILL')
  }
})
