/**
 * Reading a password for `--user name` and `user add` / `user passwd`: from a terminal without
 * echo (raw mode; Enter ends it, Backspace erases, Ctrl-C interrupts); when stdin is not a
 * terminal, the next line of stdin (so scripts can pipe it in). The prompt goes to stderr.
 *
 * @module
 */
import { createInterface } from 'node:readline'
import { CliError, ExitCode } from './errors.ts'

let lines: AsyncIterator<string> | null = null

async function nextLine(): Promise<string> {
  lines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]()
  const { done, value } = await lines.next()
  if (done === true) throw new CliError(ExitCode.InvalidInput, 'no password given on stdin')
  return value
}

function fromTerminal(prompt: string): Promise<string> {
  const input = process.stdin
  process.stderr.write(prompt)
  input.setRawMode(true)
  input.setEncoding('utf8')
  input.resume()
  return new Promise<string>((resolve, reject) => {
    let text = ''
    const finish = (): void => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      process.stderr.write('\n')
    }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish()
          return resolve(text)
        }
        if (ch === '\u0003') {
          finish()
          return reject(new CliError(ExitCode.Interrupted, 'interrupted'))
        }
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('')
        else text += ch
      }
    }
    input.on('data', onData)
  })
}

/** One password, after printing `prompt`. */
export function readPassword(prompt: string): Promise<string> {
  return process.stdin.isTTY ? fromTerminal(prompt) : nextLine()
}

/** A new password for `name`: typed twice on a terminal (etcdctl's prompts), one line otherwise. */
export async function readNewPassword(name: string): Promise<string> {
  const password = await readPassword(`Password of ${name}: `)
  if (!process.stdin.isTTY) return password
  const again = await readPassword(`Type password of ${name} again for confirmation: `)
  if (again !== password) throw new CliError(ExitCode.BadArgs, 'given passwords are different.')
  return password
}
