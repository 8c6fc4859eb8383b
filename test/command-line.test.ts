/** commandLine / usageCheck: the tools' answers to --help, to a bad command line and to a good one. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const MODULE = resolve(fileURLToPath(new URL('.', import.meta.url)), 'command-line.ts')

/** Runs a tool with a --count option (a whole number ≥ 1) and a --loud flag, with `args`. */
function tool(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = `
    import { commandLine, usageCheck, wholeNumber } from ${JSON.stringify(MODULE)}
    const values = commandLine('usage: tool [--count N] [--loud]', { count: { type: 'string', default: '1' }, loud: { type: 'boolean' } })
    const count = usageCheck('usage: tool [--count N] [--loud]', () => wholeNumber('count', values.count, 1))
    console.log(JSON.stringify({ count, loud: values.loud === true }))
  `
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-cli-'))
  try {
    writeFileSync(join(dir, 'tool.ts'), script)
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'tool.ts'), ...args], { encoding: 'utf8' })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('good options parse, with defaults', () => {
  assert.deepEqual(JSON.parse(tool('--count', '3', '--loud').stdout), { count: 3, loud: true })
  assert.deepEqual(JSON.parse(tool().stdout), { count: 1, loud: false })
})

test('--help prints the usage and exits 0', () => {
  const r = tool('--help')
  assert.equal(r.status, 0)
  assert.equal(r.stdout.trim(), 'usage: tool [--count N] [--loud]')
})

test('an unknown option, a stray argument or a bad value: one line and the usage on stderr, exit 2', () => {
  for (const [args, message] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--count', '0'], /^--count: not a whole number ≥ 1: 0$/],
    [['--count', '2.5'], /^--count: not a whole number ≥ 1: 2.5$/],
    [['--count', ' '], /^--count: not a whole number ≥ 1:  $/],
  ] as const) {
    const r = tool(...args)
    assert.equal(r.status, 2, args.join(' '))
    assert.equal(r.stdout, '')
    const lines = r.stderr.trim().split('\n')
    assert.match(lines[0] as string, message)
    assert.equal(lines[1], 'usage: tool [--count N] [--loud]')
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})
