/**
 * `txn`: etcdctl's transaction syntax, read from stdin (`-i` prints a prompt before each part).
 * Three parts, each ended by a blank line (or by the end of the input): compares, the operations
 * run when every compare holds, and the operations run otherwise.
 *
 * ```
 * mod("key1") > "0"                 compare: target("key") op "value", op one of = != > <
 * value("key2") = "x"               targets: ver|version, c|create, m|mod, val|value, lease
 *                                   (a lease compare takes the ID in hex, like put --lease)
 * put key1 "overwrote-key1"         operations: put, get, del with their usual flags
 * get key2 --prefix
 *
 * put key1 "created-key1"
 * ```
 *
 * Keys and values in compares are Go-quoted strings (`"…"` with Go escapes, or `` `…` ``);
 * operation lines are split into words like a shell would (double or single quotes).
 *
 * @module
 */
import type { Command } from 'commander'
import { createInterface } from 'node:readline'
import { compare, type CompareOp } from '../client/index.ts'
import type { Compare, RequestOp, TxnRequest } from '../mvcc/kv.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { kvOpCommands, parseLeaseId } from './kv.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, '\\': 0x5c, "'": 0x27, '"': 0x22,
}

const UNICODE_DIGITS = { u: 4, U: 8 } as const

/**
 * A Go-quoted string (as `%q` scans it) starting at `pos` after optional spaces: its bytes and
 * the position after its closing quote, or null when there is none.
 */
export function readGoQuoted(text: string, pos: number): { value: Uint8Array; end: number } | null {
  let i = pos
  while (text[i] === ' ' || text[i] === '\t') i++
  if (text[i] === '`') {
    const close = text.indexOf('`', i + 1)
    return close < 0 ? null : { value: encoder.encode(text.slice(i + 1, close)), end: close + 1 }
  }
  if (text[i] !== '"') return null
  const bytes: number[] = []
  for (i++; i < text.length; i++) {
    const c = text[i] as string
    if (c === '"') return { value: new Uint8Array(bytes), end: i + 1 }
    if (c !== '\\') {
      const cp = text.codePointAt(i) as number
      bytes.push(...encoder.encode(String.fromCodePoint(cp)))
      if (cp > 0xffff) i++
      continue
    }
    const e = text[++i]
    if (e === undefined) return null
    const simple = SIMPLE_ESCAPES[e]
    if (simple !== undefined) {
      bytes.push(simple)
    } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else if (/^[0-7]{3}$/.test(text.slice(i, i + 3)) && parseInt(text.slice(i, i + 3), 8) < 256) {
      bytes.push(parseInt(text.slice(i, i + 3), 8))
      i += 2
    } else if (e === 'u' || e === 'U') {
      const hex = text.slice(i + 1, i + 1 + UNICODE_DIGITS[e])
      const cp = hex.length === UNICODE_DIGITS[e] && /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : -1
      if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null
      bytes.push(...encoder.encode(String.fromCodePoint(cp)))
      i += hex.length
    } else {
      return null
    }
  }
  return null
}

/** A line split into words as etcdctl's argify does: `"…"` (Go escapes), `'…'`, or bare words. */
export function argify(line: string): string[] {
  const words: string[] = []
  for (const m of line.matchAll(/"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g)) {
    const word = m[0]
    if (word.startsWith("'")) {
      words.push(word.slice(1, -1))
    } else if (word.startsWith('"')) {
      const quoted = readGoQuoted(word, 0)
      if (quoted === null) throw new CliError(ExitCode.InvalidInput, `invalid quoted string ${word}`)
      words.push(decoder.decode(quoted.value))
    } else {
      words.push(word)
    }
  }
  return words
}

const OPS: ReadonlySet<string> = new Set(['=', '!=', '>', '<'])

/** One compare line: `target("key") op "value"`. */
export function parseCompare(line: string): Compare {
  const malformed = (why = ''): CliError => new CliError(ExitCode.InvalidInput, `malformed comparison: ${line}${why}`)
  const paren = line.indexOf('(')
  if (paren < 0) throw malformed()
  const target = line.slice(0, paren)
  const key = readGoQuoted(line, paren + 1)
  if (key === null) throw malformed()
  const rest = /^\s*\)\s*(\S+)/.exec(line.slice(key.end))
  if (rest === null) throw malformed()
  const operator = rest[1] as string
  const value = readGoQuoted(line, key.end + rest[0].length)
  if (value === null) throw malformed()
  if (!OPS.has(operator))
    throw new CliError(ExitCode.InvalidInput, `invalid txn compare request: ${line} (unknown operator ${operator})`)
  const op = operator as CompareOp
  const text = decoder.decode(value.value)
  const int = (): number => {
    if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
      throw new CliError(ExitCode.InvalidInput, `invalid txn compare request: ${line}`)
    return Number(text)
  }
  switch (target) {
    case 'ver':
    case 'version':
      return compare.version(key.value, op, int())
    case 'c':
    case 'create':
      return compare.createRevision(key.value, op, int())
    case 'm':
    case 'mod':
      return compare.modRevision(key.value, op, int())
    case 'val':
    case 'value':
      return compare.value(key.value, op, value.value)
    case 'lease':
      return compare.lease(key.value, op, parseLeaseId(text, 'lease ID'))
    default:
      throw malformed(` (unknown target ${target})`)
  }
}

/** One operation line: `put k v [--lease=…]`, `get k [flags]` or `del k [flags]`. */
export function parseOp(line: string): RequestOp {
  const args = argify(line)
  if (args.length < 2) throw new CliError(ExitCode.InvalidInput, `invalid txn request: ${line}`)
  let parsed: RequestOp | undefined
  try {
    kvOpCommands((op) => (parsed = op)).parse(args, { from: 'user' })
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(ExitCode.InvalidInput, `invalid txn request: ${line}`)
  }
  if (parsed === undefined) throw new CliError(ExitCode.InvalidInput, `invalid txn request: ${line}`)
  return parsed
}

async function section<T>(lines: AsyncIterator<string>, parse: (line: string) => T): Promise<T[]> {
  const out: T[] = []
  for (;;) {
    const next = await lines.next()
    if (next.done === true) return out
    const line = next.value.trim()
    if (line === '') return out
    out.push(parse(line))
  }
}

/** Reads the three parts of a txn; `prompt` is called before each (interactive mode prints it). */
export async function readTxn(lines: AsyncIterator<string>, prompt: (text: string) => void): Promise<TxnRequest> {
  prompt('compares:')
  const compares = await section(lines, parseCompare)
  prompt('success requests (get, put, del):')
  const success = await section(lines, parseOp)
  prompt('failure requests (get, put, del):')
  const failure = await section(lines, parseOp)
  return { compare: compares, success, failure }
}

export function registerTxn(program: Command, cli: () => Cli): void {
  program
    .command('txn')
    .description('Txn processes all the requests in one transaction (read from stdin)')
    .option('-i, --interactive', 'Input transaction in interactive mode')
    .action(async (flags: { readonly interactive?: boolean }) => {
      const c = cli()
      const input = createInterface({ input: process.stdin, terminal: false })
      let request: TxnRequest
      try {
        request = await readTxn(input[Symbol.asyncIterator](), (text) => {
          if (flags.interactive === true) c.output.out(text)
        })
      } finally {
        input.close()
      }
      const res = await (await c.client()).kv.txn()
        .if(...request.compare)
        .then(...request.success)
        .else(...request.failure)
        .commit()
      c.printer().txn(res)
    })
}
