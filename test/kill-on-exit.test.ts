/** killOnExit: registered children do not outlive a tool, however the tool ends. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAlive } from './proc-fs.ts'

const HERE = resolve(fileURLToPath(new URL('.', import.meta.url)))
const IMPORT = `import { exitOnSignals, killOnExit } from ${JSON.stringify(resolve(HERE, 'kill-on-exit.ts'))}`

/** Kills what a failed assertion left running. */
function reap(pids: readonly number[]): void {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
}

/** Runs a tool that starts `sleep 30` (registered or not), prints its PID, then throws. */
function orphanOf(register: boolean): number {
  const script = `
    import { spawn } from 'node:child_process'
    ${IMPORT}
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
    reap([killed, left])
  }
})

test('with group, what the child started dies too, even after the child itself has exited', () => {
  // The detached shell starts a background sleep (same process group), prints its PID and exits.
  const script = `
    import { spawn } from 'node:child_process'
    ${IMPORT}
    const shell = spawn('sh', ['-c', 'sleep 30 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
    killOnExit(shell, { group: ${'GROUP'} })
    let out = ''
    shell.stdout.on('data', (d) => { out += d })
    shell.once('exit', () => setTimeout(() => { console.log(out.trim()); process.exit(0) }, 50))
  `
  const grandchild = (group: boolean): number => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script.replace('GROUP', String(group))], { encoding: 'utf8' })
    assert.equal(run.status, 0, run.stderr)
    return Number(run.stdout.trim())
  }
  const killed = grandchild(true)
  const left = grandchild(false)
  try {
    assert.ok(killed > 0 && left > 0)
    assert.equal(isAlive(killed), false, 'the group was killed')
    assert.equal(isAlive(left), true, 'without group only the (already gone) child is meant')
  } finally {
    reap([killed, left])
  }
})

test('after exitOnSignals, SIGTERM to the tool kills its registered children', async () => {
  const script = `
    import { spawn } from 'node:child_process'
    ${IMPORT}
    exitOnSignals()
    const registered = killOnExit(spawn('sleep', ['30'], { stdio: 'ignore' }))
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    console.log(registered.pid, other.pid)
    setInterval(() => {}, 1000)
  `
  const tool = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((res) => tool.stdout.once('data', (d: Buffer) => res(d.toString())))
  const [registered, unregistered] = line.trim().split(' ').map(Number) as [number, number]
  try {
    const exited = new Promise<number | null>((res) => tool.once('exit', (code) => res(code)))
    tool.kill('SIGTERM')
    assert.equal(await exited, 143, 'SIGTERM ended the tool through process.exit, with 128 + 15')
    // The tool's SIGKILL is delivered, not yet acted on, when kill() returns: give it a moment.
    for (let i = 0; i < 100 && isAlive(registered); i++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(isAlive(registered), false)
    assert.equal(isAlive(unregistered), true)
  } finally {
    reap([registered, unregistered])
  }
})
