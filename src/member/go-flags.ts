/**
 * A command line as Go's `flag` package reads it (etcd's), rewritten for node's `parseArgs`:
 *
 * - `-name` is `--name` (Go takes one dash or two);
 * - a value flag takes the next argument whatever it starts with (`--quota-backend-bytes -1`),
 *   where parseArgs would refuse a value that starts with a dash;
 * - a boolean flag takes a value only after `=`, any of strconv.ParseBool's (`--auto-promote=false`);
 *   booleans are given apart from the arguments, the last one of each winning.
 *
 * Anything else is passed on as it is, for parseArgs to accept or refuse.
 *
 * @module
 */

export interface GoFlagArgs {
  /** The arguments for parseArgs, every value flag as `--flag=value`, no boolean flag. */
  readonly args: string[]
  /** Boolean flags given, by name: their value (the last one given wins, as in Go). */
  readonly booleans: Map<string, boolean>
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** strconv.ParseBool: true or false, or null for anything else. */
export function goBool(text: string): boolean | null {
  return TRUE.has(text) ? true : FALSE.has(text) ? false : null
}

/** Rewrites `argv`; throws an Error worded as Go's for a bad boolean value or a missing value. */
export function goFlagArgs(argv: readonly string[], valueFlags: ReadonlySet<string>, booleanFlags: ReadonlySet<string>): GoFlagArgs {
  const args: string[] = []
  const booleans = new Map<string, boolean>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const m = /^--?([^-=][^=]*)(=(.*))?$/s.exec(arg)
    const name = m?.[1]
    if (m === null || name === undefined || (!valueFlags.has(name) && !booleanFlags.has(name))) {
      args.push(arg)
      continue
    }
    const inline = m[3]
    if (booleanFlags.has(name)) {
      const value = inline === undefined ? true : goBool(inline)
      if (value !== null) booleans.set(name, value)
      else throw new Error(`invalid boolean value ${JSON.stringify(inline)} for -${name}: parse error`)
      continue
    }
    if (inline !== undefined) args.push(`--${name}=${inline}`)
    else if (i + 1 < argv.length) args.push(`--${name}=${argv[++i] as string}`)
    else throw new Error(`flag needs an argument: -${name}`)
  }
  return { args, booleans }
}
