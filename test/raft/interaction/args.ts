/** Parsing of interaction command arguments: positional IDs and key=value / key=(a,b) options. */

export interface Args {
  readonly positional: readonly string[]
  readonly options: ReadonlyMap<string, string>
}

export function parseArgs(words: readonly string[]): Args {
  const positional: string[] = []
  const options = new Map<string, string>()
  for (const w of words) {
    const eq = w.indexOf('=')
    if (eq > 0) options.set(w.slice(0, eq), w.slice(eq + 1))
    else positional.push(w)
  }
  return { positional, options }
}

/** The integer positional argument at `i`. */
export function intArg(a: Args, i: number): number {
  const v = a.positional[i]
  const n = Number(v)
  if (v === undefined || !Number.isSafeInteger(n)) throw new Error(`argument ${i + 1} must be an integer, got ${v}`)
  return n
}

/** All positional arguments as integers. */
export function intArgs(a: Args): number[] {
  return a.positional.map((_, i) => intArg(a, i))
}

/** A list option like voters=(1,2,3), as integers; [] if absent. */
export function intListOption(a: Args, key: string): number[] {
  const v = a.options.get(key)
  if (v === undefined) return []
  const inner = v.replace(/^\(/, '').replace(/\)$/, '').trim()
  return inner === '' ? [] : inner.split(',').map((x) => Number(x.trim()))
}

export function boolOption(a: Args, key: string, dflt: boolean): boolean {
  const v = a.options.get(key)
  return v === undefined ? dflt : v === 'true'
}
