/**
 * The command line of the project's tools (simulator, chaos, compat, benchmarks): node:util's
 * parseArgs (strict: unknown options and positionals are refused), plus `--help`, which prints the
 * usage and exits 0, and a bad command line answered with one line and the usage on stderr and
 * exit code 2, never a stack trace. A tool's own checks of the values throw `UsageError` to be
 * answered the same way (through `usageCheck`).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

type Options = NonNullable<ParseArgsConfig['options']>
type Config<O extends Options> = { args: string[]; strict: true; options: O & { help: { type: 'boolean' } } }
/** What parseArgs gives for these options (with --help). */
export type CommandLineValues<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>['values']

/** A bad command line, found after parsing (a value out of range, an unknown name). */
export class UsageError extends Error {}

function refuse(message: string, usage: string): never {
  console.error(`${message}\n${usage}`)
  process.exit(2)
}

/** Parses `argv` against `options` (plus --help); exits on --help or a bad command line. */
export function commandLine<const O extends Options>(
  usage: string,
  options: O,
  argv: readonly string[] = process.argv.slice(2),
): CommandLineValues<O> {
  const config: Config<O> = { args: [...argv], strict: true, options: { ...options, help: { type: 'boolean' } } }
  let values: CommandLineValues<O>
  try {
    values = parseArgs(config).values
  } catch (err) {
    refuse((err as Error).message, usage)
  }
  if ((values as { help?: boolean }).help === true) {
    console.log(usage)
    process.exit(0)
  }
  return values
}

/** Runs `derive` (which turns parsed values into a tool's settings); a UsageError it throws exits 2. */
export function usageCheck<T>(usage: string, derive: () => T): T {
  try {
    return derive()
  } catch (err) {
    if (err instanceof UsageError) refuse(err.message, usage)
    throw err
  }
}

/** The value of option `--name` as a whole number ≥ `min`, or a UsageError. */
export function wholeNumber(name: string, text: string, min = 0): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name}: not a whole number ≥ ${min}: ${text}`)
  return n
}
