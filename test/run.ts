/**
 * Test entry point: finds every `*.test.ts` under test/ (or under the paths given as arguments),
 * runs them with node's test runner (spec reporter), passes its output through, and ends with
 * the plain summary line `N passed, N failed`. `npm test -- test/raft` runs one folder.
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { constants } from 'node:os'
import { join } from 'node:path'

function collect(path: string, out: string[]): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures' || name === 'testdata') continue
      collect(join(path, name), out)
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path)
  }
}

const roots = process.argv.slice(2)
const files: string[] = []
for (const root of roots.length > 0 ? roots : ['test']) collect(root, files)
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

/**
 * A test file that runs longer than this fails, and its process is ended: a hang (a promise that
 * never settles, with no timer left to time it out) costs 6 minutes, not the whole run. The
 * longest file takes about 2.5 minutes on 2 loaded cores.
 */
const FILE_TIMEOUT_MS = 6 * 60_000

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
// A SIGTERM or SIGHUP to this process (npm passes a SIGTERM to it, see the `exec` in package.json)
// goes on to the test runner, which ends its files through their exit hooks; Ctrl-C's SIGINT
// reaches the runner by itself (same process group). A second signal ends this process at once.
let stoppedBy: NodeJS.Signals | null = null
for (const signal of ['SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    if (stoppedBy !== null) process.exit(128 + constants.signals[signal])
    stoppedBy = signal
    child.kill(signal)
  })
let tail = ''
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString('utf8')).slice(-1_000_000)
})
child.on('close', (code) => {
  const count = (label: string): number => {
    const m = new RegExp(`ℹ ${label} (\\d+)`).exec(tail)
    return m ? Number(m[1]) : 0
  }
  const passed = count('pass')
  const failed = count('fail') + count('cancelled')
  console.log(`${passed} passed, ${failed} failed${stoppedBy === null ? '' : ` (stopped by ${stoppedBy})`}`)
  if (stoppedBy !== null) process.exit(128 + constants.signals[stoppedBy])
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
