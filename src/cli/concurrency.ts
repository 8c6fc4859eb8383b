/**
 * `lock` and `elect`, with etcdctl's semantics, over the v3lock and v3election services:
 *
 *   lock [--ttl=10] <name> [command args…]
 *     holds the lock on a session (a lease kept alive): prints the lock key, then holds it until
 *     interrupted (then unlocks); with a command, runs it with ETCD_LOCK_KEY and ETCD_LOCK_REV set
 *     and unlocks when it ends. Exit 1 with `session expired` if the lease is lost.
 *   elect <name> <proposal>
 *     campaigns (waiting while another leads), prints the leader key and value, leads until
 *     interrupted, then resigns.
 *   elect -l <name>
 *     observes: prints the leader's key and value, and again at every change, until interrupted.
 *
 * Built on the client's Session, Mutex and Election (src/client); the session's lease is revoked
 * on the way out, so what it held goes at once.
 *
 * @module
 */
import type { Command } from 'commander'
import { Election, Mutex, Session, utf8, type Client } from '../client/index.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { runCommand } from './exec.ts'
import { int64Flag } from './kv.ts'

/** An abort signal fired by SIGINT or SIGTERM, until disposed. */
function interruption(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const abort = (): void => controller.abort()
  process.once('SIGINT', abort)
  process.once('SIGTERM', abort)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', abort)
      process.off('SIGTERM', abort)
    },
  }
}

/** Which comes first: the interruption, or the end of the session. */
function holdUntil(signal: AbortSignal, session: Session): Promise<'interrupted' | 'lost'> {
  return Promise.race([
    new Promise<'interrupted'>((resolve) => {
      if (signal.aborted) resolve('interrupted')
      signal.addEventListener('abort', () => resolve('interrupted'), { once: true })
    }),
    session.done.then((end) => (end === 'lost' ? 'lost' : 'interrupted')),
  ])
}

/**
 * Runs `work` under a new session that is closed (its lease revoked) afterwards, with the
 * interruption signal; a wait ended by the interruption or the session's loss is reported as
 * etcdctl does (`context canceled`, `lost`).
 */
async function withSession(
  client: Client,
  ttl: number,
  lost: string,
  work: (session: Session, interrupted: AbortSignal) => Promise<void>,
): Promise<void> {
  const session = await Session.create(client, { ttl })
  const interrupted = interruption()
  try {
    await work(session, interrupted.signal)
  } catch (err) {
    if (interrupted.signal.aborted) throw new CliError(ExitCode.Error, 'context canceled')
    if (session.signal.aborted) throw new CliError(ExitCode.Error, lost)
    throw err
  } finally {
    interrupted.dispose()
    await session.close().catch(() => undefined)
  }
}

async function lock(c: Cli, name: string, command: readonly string[], ttl: number): Promise<void> {
  const client = await c.client()
  await withSession(client, ttl, 'session expired', async (session, interrupted) => {
    const mutex = new Mutex(session, name)
    const held = await mutex.lock({ signal: interrupted })
    if (command.length > 0) {
      const env = { ETCD_LOCK_KEY: utf8(held.key), ETCD_LOCK_REV: String(held.revision) }
      const failure = await runCommand(command, env)
      await mutex.unlock()
      if (failure !== null) throw new CliError(ExitCode.Error, failure)
      return
    }
    const res = await client.kv.get(held.key)
    if (res.kvs.length === 0) throw new CliError(ExitCode.Error, 'lock lost on init')
    c.printer().get(res)
    if ((await holdUntil(interrupted, session)) === 'lost') throw new CliError(ExitCode.Error, 'session expired')
    await mutex.unlock()
  })
}

async function campaign(c: Cli, name: string, proposal: string): Promise<void> {
  const client = await c.client()
  await withSession(client, 60, 'elect: session expired', async (session, interrupted) => {
    const election = new Election(session, name)
    const leader = await election.campaign(proposal, { signal: interrupted })
    c.printer().get(await client.kv.get(leader.key))
    if ((await holdUntil(interrupted, session)) === 'lost')
      throw new CliError(ExitCode.Error, 'elect: session expired')
    await election.resign()
  })
}

/** Prints the leader's key and value, then every change, until interrupted. */
async function observe(c: Cli, name: string): Promise<void> {
  const client = await c.client()
  const printer = c.printer()
  const interrupted = interruption()
  try {
    for await (const res of client.election.observe(name, { signal: interrupted.signal })) {
      if (res.kv !== null) printer.get({ header: res.header, kvs: [res.kv], more: false, count: 1 })
    }
  } catch (err) {
    if (!interrupted.signal.aborted) throw err
  } finally {
    interrupted.dispose()
  }
  if (!interrupted.signal.aborted) throw new CliError(ExitCode.Error, 'elect: observer lost')
}

export function registerConcurrency(program: Command, cli: () => Cli): void {
  program
    .command('lock')
    .description('Acquires a named lock (put the command after -- when it has options of its own)')
    .argument('<lockname>')
    .argument('[exec-command...]', 'command to run while holding the lock, then release it')
    .option('--ttl <seconds>', 'timeout for session', int64Flag, 10)
    .action(async (name: string, command: string[], flags: { readonly ttl: number }) => {
      await lock(cli(), name, command, flags.ttl)
    })

  program
    .command('elect')
    .description('Observes and participates in leader election')
    .argument('<election-name>')
    .argument('[proposal]')
    .option('-l, --listen', 'observation mode')
    .action(async (name: string, proposal: string | undefined, flags: { readonly listen?: boolean }) => {
      if (proposal === undefined && flags.listen !== true)
        throw new CliError(ExitCode.BadArgs, 'no proposal argument but -l not set')
      if (proposal !== undefined && flags.listen === true)
        throw new CliError(ExitCode.BadArgs, 'proposal given but -l is set')
      if (proposal === undefined) await observe(cli(), name)
      else await campaign(cli(), name, proposal)
    })
}
