/** killOnExit: a registered child does not outlive a tool that dies of an uncaught error. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAlive } from './proc-fs.ts'

const HERE = resolve(fileURLToPath(new URL('.', import.meta.url)))

/** Runs a tool that starts `sleep 30` (registered or not), prints its PID, then throws. */
function orphanOf(register: boolean): number {
  const script = `
    import { spawn } from 'node:child_process'
    import { killOnExit } from ${JSON.stringify(resolve(HERE, 'kill-on-exit.ts'))}
    const child = spawn('sleep', ['30'], { stdio: 'ignore' })
    if (${register}) killOnExit(child)
    console.log(child.pid)
    setTimeout(() => { throw new Error('the tool dies') }, 100)
  `
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.notEqual(run.status, 0, 'the tool died of its error')
  return Number(run.stdout.trim())
}

test('a registered child is killed when the tool dies; an unregistered one is left running', () => {
  const killed = orphanOf(true)
  const left = orphanOf(false)
  try {
    assert.equal(isAlive(killed), false)
    assert.equal(isAlive(left), true, 'without it the child outlives the tool (what the helper is for)')
  } finally {
    if (isAlive(left)) process.kill(left, 'SIGKILL')
  }
})
