/**
 * The `edgecd` command line: etcdctl v3's commands, flags, output formats and exit codes, over
 * the typed client (src/client). {@link run} parses the arguments, runs one command, and answers
 * the exit code; what the command prints goes to the given {@link Output}.
 *
 *   edgecd [--endpoints=…] [-w simple|json|table] [--dial-timeout=2s] [--command-timeout=5s]
 *          [--hex] [--user=name[:password]] <command> …
 *
 * Errors are printed as `Error: <message>` on stderr; usage errors (unknown flag, missing
 * argument) add the command's help and exit 1; the other exit codes are etcdctl's (errors.ts).
 *
 * @module
 */
import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { registerAuth } from './auth.ts'
import { registerConcurrency } from './concurrency.ts'
import { Cli, resolveGlobals } from './context.ts'
import { registerEndpoint } from './endpoint.ts'
import { CliError, ExitCode } from './errors.ts'
import { registerKv } from './kv.ts'
import { registerLease } from './lease.ts'
import { registerMaintenance } from './maintenance.ts'
import { registerMember } from './member.ts'
import type { Output } from './output.ts'
import { registerSnapshot } from './snapshot.ts'
import { registerTxn } from './txn.ts'
import { registerUp } from './up.ts'
import { registerWatch } from './watch.ts'

const PACKAGE = new URL('../../package.json', import.meta.url)
const VERSION = (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { readonly version: string }).version

/** The exit code for what a command threw, after printing it (commander prints its own). */
function report(err: unknown, output: Output): number {
  if (err instanceof CommanderError) return err.exitCode
  if (err instanceof CliError) {
    if (err.message !== '') output.err(`Error: ${err.message}`)
    return err.exitCode
  }
  output.err(`Error: ${err instanceof Error ? err.message : String(err)}`)
  return ExitCode.Error
}

/** Runs the command in `argv` (the arguments after the program name); resolves its exit code. */
export async function run(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  output: Output,
): Promise<number> {
  const write = (to: (line: string) => void) => (text: string): void => to(text.replace(/\n$/, ''))
  const program = new Command('edgecd')
    .description("A command line client for edgecd, with etcdctl v3's commands and flags")
    .option('--endpoints <list>', 'comma-separated endpoints, host:port or URLs (default "127.0.0.1:2379")')
    .option('-w, --write-out <format>', 'set the output format (simple, json, table) (default "simple")')
    .option('--dial-timeout <duration>', 'time for a stream (watch, keep-alive, snapshot) to open (default 2s)')
    .option('--command-timeout <duration>', 'timeout for short running command, failover included (default 5s)')
    .option('--hex', 'print byte strings as hex encoded strings')
    .option('--user <username[:password]>', 'username[:password] for authentication')
    .option('--password <password>', 'password for authentication (then --user holds only the name)')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: write((line) => output.out(line)),
      writeErr: write((line) => output.err(line)),
      outputError: (text, to) => to(text.replace(/^error: /, 'Error: ')),
    })
  let context: Cli | undefined
  const cli = (): Cli => (context ??= new Cli(resolveGlobals(program.opts(), env), output))
  registerKv(program, cli)
  registerTxn(program, cli)
  registerWatch(program, cli, argv)
  registerLease(program, cli)
  registerMember(program, cli)
  registerEndpoint(program, cli)
  registerMaintenance(program, cli)
  registerSnapshot(program, cli)
  registerConcurrency(program, cli)
  registerAuth(program, cli)
  registerUp(program)
  program
    .command('version')
    .description('Prints the version of edgecd')
    .action(() => {
      output.out(`edgecd version: ${VERSION}`)
      output.out('API version: 3.4')
    })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return ExitCode.Success
  } catch (err) {
    return report(err, output)
  }
}
