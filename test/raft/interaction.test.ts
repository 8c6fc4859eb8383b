/**
 * Golden interaction scripts: runs every testdata/*.txt. Each case is a command, a `----` line and
 * the expected output, with a blank line between cases and optional `#` comment lines before a
 * command. `REWRITE=1` rewrites the files with the actual output; review the diff before keeping
 * it (only commit changes whose cause you understand).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from './interaction/args.ts'
import { COMMANDS } from './interaction/commands.ts'
import { InteractionEnv } from './interaction/env.ts'

interface Case {
  readonly comments: readonly string[]
  readonly command: string
  readonly expected: string
  readonly line: number
}

export function parseScript(text: string): Case[] {
  const lines = text.split('\n')
  const cases: Case[] = []
  let comments: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string
    if (l.trim() === '') continue
    if (l.startsWith('#')) {
      comments.push(l)
      continue
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected ---- after the command`)
    const out: string[] = []
    let j = i + 2
    while (j < lines.length && (lines[j] as string).trim() !== '') out.push(lines[j++] as string)
    cases.push({ comments, command: l, expected: out.join('\n'), line: i + 1 })
    comments = []
    i = j
  }
  return cases
}

function runCommand(env: InteractionEnv, command: string): string {
  const [name, ...words] = command.trim().split(/\s+/)
  const handler = COMMANDS[name as string]
  if (!handler) throw new Error(`unknown command ${name}`)
  handler(env, parseArgs(words))
  return env.flush()
}

const DIR = join(import.meta.dirname, 'testdata')
const rewrite = process.env.REWRITE === '1'

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort()) {
  test(`interaction: ${file}`, () => {
    const path = join(DIR, file)
    const cases = parseScript(readFileSync(path, 'utf8'))
    assert.ok(cases.length > 0, 'a script needs at least one case')
    const env = new InteractionEnv()
    const actual = cases.map((c) => runCommand(env, c.command))
    if (rewrite) {
      const text = cases.map((c, i) => [...c.comments, c.command, '----', actual[i]].join('\n')).join('\n\n')
      writeFileSync(path, `${text}\n`)
      return
    }
    cases.forEach((c, i) => assert.equal(actual[i], c.expected, `${file}:${c.line}: ${c.command}`))
  })
}

test('the script parser reads comments, commands and multi-line output, and rejects a missing ----', () => {
  const cases = parseScript('# hello\ncampaign 1\n----\na\nb\n\nstatus 1\n----\nok\n')
  assert.deepEqual(
    cases.map((c) => [c.comments, c.command, c.expected, c.line]),
    [
      [['# hello'], 'campaign 1', 'a\nb', 2],
      [[], 'status 1', 'ok', 7],
    ],
  )
  assert.throws(() => parseScript('campaign 1\nok\n'), /expected ----/)
})
