/**
 * Running a user's command from `watch … -- cmd` and `lock name cmd`: stdio shared with edgecd,
 * extra variables added to the environment, and the outcome described the way Go's exec does
 * (`exit status 3`, `signal: killed`).
 *
 * @module
 */
import { spawn } from 'node:child_process'

/** Runs `argv` to its end; resolves null on success, else Go's description of the failure. */
export function runCommand(argv: readonly string[], env: Readonly<Record<string, string>>): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } })
    child.once('error', (err) => resolve((err as Error).message))
    child.once('exit', (code, signal) => {
      if (signal !== null) resolve(`signal: ${signal === 'SIGKILL' ? 'killed' : signal}`)
      else resolve(code === 0 ? null : `exit status ${code}`)
    })
  })
}

/** Go's `%q` of a string slice: `["echo" "hi"]`. */
export function quoteArgs(argv: readonly string[]): string {
  return '[' + argv.map((a) => JSON.stringify(a)).join(' ') + ']'
}
