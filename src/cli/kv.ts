/**
 * `put`, `get` and `del`, with etcdctl's flags and checks. The flag definitions and their
 * translation into requests are shared with `txn`, whose operation lines are these same commands
 * (txn.ts parses them with {@link kvOpCommands}).
 *
 *   put [--lease=<hex>] [--prev-kv] [--ignore-value] [--ignore-lease] <key> [value]   (value: stdin)
 *   get [--prefix|--from-key] [--rev=N] [--limit=N] [--keys-only|--count-only] [--sort-by=T]
 *       [--order=O] [--consistency=l|s] [--print-value-only] <key> [range_end]
 *   del [--prefix|--from-key] [--prev-kv] <key> [range_end]
 *
 * @module
 */
import { Command, InvalidArgumentError } from 'commander'
import { op, type DeleteOptions, type PutOptions, type RangeOptions, type RangeSelector } from '../client/index.ts'
import type { RequestOp, SortOrder, SortTarget } from '../mvcc/kv.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'

export interface GetFlags {
  readonly consistency: string
  readonly order?: string
  readonly sortBy?: string
  readonly limit?: number
  readonly prefix?: boolean
  readonly fromKey?: boolean
  readonly rev?: number
  readonly keysOnly?: boolean
  readonly countOnly?: boolean
  readonly printValueOnly?: boolean
}

export interface PutFlags {
  readonly lease: string
  readonly prevKv?: boolean
  readonly ignoreValue?: boolean
  readonly ignoreLease?: boolean
}

export interface DelFlags {
  readonly prefix?: boolean
  readonly prevKv?: boolean
  readonly fromKey?: boolean
}

/** A key as given on the command line (UTF-8) with the options of its request. */
export interface KeyRequest<O> {
  readonly key: string
  readonly options: O
}

/** commander parser for an int64 flag. */
export function int64Flag(text: string): number {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new InvalidArgumentError('not an integer.')
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('out of range.')
  return n
}

/** A hex int64 as etcdctl's strconv.ParseInt(s, 16, 64) reads it (lease IDs). */
export function parseLeaseId(text: string, what: string): bigint {
  const m = /^([+-]?)([0-9a-fA-F]+)$/.exec(text)
  const magnitude = m === null ? null : BigInt(`0x${m[2]}`)
  const id = magnitude === null || m?.[1] !== '-' ? magnitude : -magnitude
  if (id === null || id > 0x7fffffffffffffffn || id < -0x8000000000000000n) {
    const why = id === null ? 'invalid syntax' : 'value out of range'
    const parsing = `strconv.ParseInt: parsing ${JSON.stringify(text)}: ${why}`
    throw new CliError(ExitCode.BadArgs, `bad ${what} (${parsing}), expecting ID in Hex`)
  }
  return id
}

export function addGetOptions(cmd: Command): Command {
  return cmd
    .argument('<key>')
    .argument('[range_end]')
    .option('--consistency <l|s>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--order <order>', 'Order of results; ASCEND or DESCEND (ASCEND by default)')
    .option('--sort-by <target>', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION')
    .option('--limit <n>', 'Maximum number of results', int64Flag)
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--rev <n>', 'Specify the kv revision', int64Flag)
    .option('--keys-only', 'Get only the keys')
    .option('--count-only', 'Get only the count')
    .option('--print-value-only', 'Only write values when using the "simple" output format')
}

export function addPutOptions(cmd: Command): Command {
  return cmd
    .argument('<key>')
    .argument('[value]')
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key', '0')
    .option('--prev-kv', 'return the previous key-value pair before modification')
    .option('--ignore-value', 'updates the key using its current value')
    .option('--ignore-lease', 'updates the key using its current lease')
}

export function addDelOptions(cmd: Command): Command {
  return cmd
    .argument('<key>')
    .argument('[range_end]')
    .option('--prefix', 'delete keys with matching prefix')
    .option('--prev-kv', 'return deleted key-value pairs')
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare')
}

/**
 * The key and range of `key [range_end]` with --prefix / --from-key, as etcdctl reads them: an
 * empty key with either flag means every key (`"\0"` from-key).
 */
function keyRange(
  key: string,
  rangeEnd: string | undefined,
  flags: { readonly prefix?: boolean; readonly fromKey?: boolean },
): KeyRequest<RangeSelector> {
  if (flags.prefix === true && flags.fromKey === true)
    throw new CliError(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one')
  if (rangeEnd !== undefined && (flags.prefix === true || flags.fromKey === true))
    throw new CliError(
      ExitCode.BadArgs,
      'too many arguments, only accept one argument when `--prefix` or `--from-key` is set',
    )
  if (key === '' && (flags.prefix === true || flags.fromKey === true)) return { key: '\0', options: { fromKey: true } }
  if (rangeEnd !== undefined) return { key, options: { rangeEnd } }
  return { key, options: { prefix: flags.prefix === true, fromKey: flags.fromKey === true } }
}

const SORT_TARGETS: Readonly<Record<string, SortTarget>> = {
  CREATE: 'CREATE', KEY: 'KEY', MODIFY: 'MOD', VALUE: 'VALUE', VERSION: 'VERSION',
}

export function getRequest(key: string, rangeEnd: string | undefined, flags: GetFlags): KeyRequest<RangeOptions> {
  if (flags.keysOnly === true && flags.countOnly === true)
    throw new CliError(ExitCode.BadArgs, '`--keys-only` and `--count-only` cannot be set at the same time, choose one')
  if (flags.consistency !== 'l' && flags.consistency !== 's')
    throw new CliError(ExitCode.BadFeature, `unknown consistency flag ${JSON.stringify(flags.consistency)}`)
  const order = (flags.order ?? '').toUpperCase()
  if (order !== '' && order !== 'ASCEND' && order !== 'DESCEND')
    throw new CliError(ExitCode.BadFeature, `bad sort order ${flags.order}`)
  const target = SORT_TARGETS[(flags.sortBy ?? 'KEY').toUpperCase()]
  if (target === undefined) throw new CliError(ExitCode.BadFeature, `bad sort target ${flags.sortBy}`)
  const range = keyRange(key, rangeEnd, flags)
  return {
    key: range.key,
    options: {
      ...range.options,
      limit: flags.limit ?? 0,
      revision: Math.max(0, flags.rev ?? 0),
      sortOrder: (order === '' ? 'NONE' : order) as SortOrder,
      sortTarget: target,
      serializable: flags.consistency === 's',
      keysOnly: flags.keysOnly === true,
      countOnly: flags.countOnly === true,
    },
  }
}

/** put's options; `value` is the value argument, undefined when not given (then read from stdin). */
export function putRequest(key: string, value: string | undefined, flags: PutFlags): KeyRequest<PutOptions> {
  if (flags.ignoreValue === true && value !== undefined)
    throw new CliError(ExitCode.BadArgs, "put command needs only 1 argument when 'ignore-value' is set")
  return {
    key,
    options: {
      lease: parseLeaseId(flags.lease, 'lease ID'),
      prevKv: flags.prevKv === true,
      ignoreValue: flags.ignoreValue === true,
      ignoreLease: flags.ignoreLease === true,
    },
  }
}

export function delRequest(key: string, rangeEnd: string | undefined, flags: DelFlags): KeyRequest<DeleteOptions> {
  const range = keyRange(key, rangeEnd, flags)
  return { key: range.key, options: { ...range.options, prevKv: flags.prevKv === true } }
}

/** Reads all of stdin (put's value when not given as an argument). */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/**
 * A program with put, get and del whose actions hand their operation to `onOp` instead of running
 * it: how a txn line becomes a RequestOp with exactly the flags of the real commands.
 */
export function kvOpCommands(onOp: (op: RequestOp) => void): Command {
  const silent = (): void => undefined
  const program = new Command().exitOverride().configureOutput({ writeOut: silent, writeErr: silent })
  addPutOptions(program.command('put')).action((key: string, value: string | undefined, flags: PutFlags) => {
    const req = putRequest(key, value, flags)
    if (flags.ignoreValue !== true && value === undefined)
      throw new CliError(ExitCode.BadArgs, 'put command needs 2 arguments')
    onOp(op.put(req.key, value ?? '', req.options))
  })
  addGetOptions(program.command('get')).action((key: string, rangeEnd: string | undefined, flags: GetFlags) => {
    const req = getRequest(key, rangeEnd, flags)
    onOp(op.get(req.key, req.options))
  })
  addDelOptions(program.command('del')).action((key: string, rangeEnd: string | undefined, flags: DelFlags) => {
    const req = delRequest(key, rangeEnd, flags)
    onOp(op.delete(req.key, req.options))
  })
  return program
}

export function registerKv(program: Command, cli: () => Cli): void {
  addPutOptions(program.command('put'))
    .description('Puts the given key into the store (the value is read from stdin when not given)')
    .action(async (key: string, value: string | undefined, flags: PutFlags) => {
      const req = putRequest(key, value, flags)
      let bytes: string | Uint8Array = value ?? ''
      if (flags.ignoreValue !== true && value === undefined) {
        bytes = await readStdin()
        if (bytes.length === 0)
          throw new CliError(ExitCode.BadArgs, 'put command needs 1 argument and input from stdin or 2 arguments')
      }
      const c = cli()
      const res = await (await c.client()).kv.put(req.key, bytes, req.options)
      c.printer().put(res)
    })

  addGetOptions(program.command('get'))
    .description('Gets the key or a range of keys')
    .action(async (key: string, rangeEnd: string | undefined, flags: GetFlags) => {
      const c = cli()
      const printer = c.printer()
      if (flags.printValueOnly === true && printer.format !== 'simple')
        throw new CliError(ExitCode.BadArgs, 'print-value-only is only for `--write-out=simple`')
      const req = getRequest(key, rangeEnd, flags)
      const res = await (await c.client()).kv.get(req.key, req.options)
      printer.with({ valueOnly: flags.printValueOnly === true }).get(res, { countOnly: flags.countOnly === true })
    })

  addDelOptions(program.command('del'))
    .description('Removes the specified key or range of keys [key, range_end)')
    .action(async (key: string, rangeEnd: string | undefined, flags: DelFlags) => {
      const req = delRequest(key, rangeEnd, flags)
      const c = cli()
      const res = await (await c.client()).kv.delete(req.key, req.options)
      c.printer().del(res)
    })
}
