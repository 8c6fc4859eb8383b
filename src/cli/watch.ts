/**
 * `watch [--prefix] [--rev=N] [--prev-kv] <key> [range_end] [-- <command> args…]`: prints every
 * event as it comes (simple: the type, then the previous key and value with --prev-kv, then the
 * key and value), and with a command after `--`, runs it once per event with ETCD_WATCH_REVISION,
 * ETCD_WATCH_EVENT_TYPE, ETCD_WATCH_KEY and ETCD_WATCH_VALUE set, as etcdctl does. The watch
 * survives the loss of an endpoint (the client resumes it); it ends only when the server cancels
 * it (compaction), with etcdctl's `watch is canceled by the server` and exit code 5.
 *
 * @module
 */
import type { Command } from 'commander'
import type { WatchResponse } from '../api/index.ts'
import type { Answer } from '../client/index.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { quoteArgs, runCommand } from './exec.ts'
import { goQuote } from './format.ts'
import { int64Flag } from './kv.ts'

interface WatchFlags {
  readonly prefix?: boolean
  readonly rev?: number
  readonly prevKv?: boolean
}

/** The words after the `--` that follows the `watch` command in the raw arguments (none: []). */
export function execArgs(rawArgs: readonly string[]): { found: boolean; argv: string[] } {
  const at = rawArgs.indexOf('watch')
  const sep = rawArgs.indexOf('--', at + 1)
  return sep < 0 || at < 0 ? { found: false, argv: [] } : { found: true, argv: rawArgs.slice(sep + 1) }
}

/** etcdctl's reading of a canceled watch (clientv3's WatchResponse.Err()). */
function cancelReason(res: WatchResponse): string {
  if (res.compactRevision !== 0) return 'etcdserver: mvcc: required revision has been compacted'
  if (res.cancelReason !== '') return res.cancelReason
  return 'etcdserver: mvcc: required revision is a future revision'
}

function isProgress(res: WatchResponse): boolean {
  const quiet = res.events.length === 0 && !res.canceled && !res.created
  return quiet && res.compactRevision === 0 && res.header.revision !== 0
}

async function runPerEvent(argv: readonly string[], res: Answer<WatchResponse>, c: Cli): Promise<void> {
  const encoder = new TextEncoder()
  for (const e of res.events) {
    const failure = await runCommand(argv, {
      ETCD_WATCH_REVISION: String(res.header.revision),
      ETCD_WATCH_EVENT_TYPE: goQuote(encoder.encode(e.type)),
      ETCD_WATCH_KEY: goQuote(e.kv.key),
      ETCD_WATCH_VALUE: goQuote(e.kv.value),
    })
    if (failure !== null) {
      c.output.err(`command ${quoteArgs(argv)} error (${failure})`)
      throw new CliError(ExitCode.Error, '')
    }
  }
}

export function registerWatch(program: Command, cli: () => Cli, rawArgs: readonly string[]): void {
  program
    .command('watch')
    .description('Watches events stream on keys or prefixes')
    .argument('[args...]', 'key [range_end] [-- exec-command arg1 arg2 …]')
    .option('--prefix', 'Watch on a prefix if prefix is set')
    .option('--rev <n>', 'Revision to start watching', int64Flag)
    .option('--prev-kv', 'get the previous key-value pair before the event happens')
    .action(async (args: string[], flags: WatchFlags) => {
      const exec = execArgs(rawArgs)
      if (exec.found && exec.argv.length === 0)
        throw new CliError(ExitCode.BadArgs, 'bad number of arguments (found separator --, but no commands)')
      const watchArgs = args.slice(0, args.length - exec.argv.length)
      if (watchArgs.length < 1 || watchArgs.length > 2) throw new CliError(ExitCode.BadArgs, 'bad number of arguments')
      const [key, rangeEnd] = watchArgs as [string, string | undefined]
      if (rangeEnd !== undefined && flags.prefix === true)
        throw new CliError(ExitCode.BadArgs, '`range_end` and `--prefix` are mutually exclusive')
      const c = cli()
      const printer = c.printer()
      const client = await c.streamClient()
      const w = client.watch(key, {
        ...(rangeEnd === undefined ? { prefix: flags.prefix === true } : { rangeEnd }),
        startRevision: Math.max(0, flags.rev ?? 0),
        prevKv: flags.prevKv === true,
      })
      for await (const res of w) {
        if (res.created) continue
        if (res.canceled) c.output.err(`watch was canceled (${cancelReason(res)})`)
        if (isProgress(res)) c.output.out(`progress notify: ${res.header.revision}`)
        printer.watch(res)
        if (exec.argv.length > 0) await runPerEvent(exec.argv, res, c)
      }
      throw new CliError(ExitCode.Interrupted, 'watch is canceled by the server')
    })
}
