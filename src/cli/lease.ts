/**
 * `lease grant <ttl> | revoke <id> | timetolive <id> [--keys] | list | keep-alive [--once] <id>`.
 * Lease IDs are read and printed in hex, as etcdctl does (`lease 694d77aa9e4f4f0a granted with
 * TTL(10s)`). `keep-alive` refreshes the lease until interrupted, printing each refresh, and
 * reports when the lease is gone.
 *
 * @module
 */
import type { Command } from 'commander'
import { EtcdError } from '../client/index.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { leaseHex } from './format.ts'
import { parseLeaseId } from './kv.ts'

function leaseArg(text: string): bigint {
  return parseLeaseId(text, 'lease ID arg')
}

/** etcdctl's wording for lease errors: `failed to grant lease (etcdserver: …)`. */
async function wrapped<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof EtcdError) throw new CliError(ExitCode.Error, `failed to ${what} lease (${err.message})`)
    throw err
  }
}

export function registerLease(program: Command, cli: () => Cli): void {
  const lease = program.command('lease').description('Lease related commands')

  lease
    .command('grant')
    .description('Creates leases')
    .argument('<ttl>', 'seconds')
    .action(async (ttlText: string) => {
      if (!/^[+-]?\d+$/.test(ttlText))
        throw new CliError(
          ExitCode.BadArgs,
          `bad TTL (strconv.ParseInt: parsing ${JSON.stringify(ttlText)}: invalid syntax)`,
        )
      const c = cli()
      const client = await c.client()
      const res = await wrapped('grant', () => client.lease.grant(Number(ttlText)))
      c.printer().grant(res)
    })

  lease
    .command('revoke')
    .description('Revokes leases')
    .argument('<leaseID>', 'in hex')
    .action(async (idText: string) => {
      const id = leaseArg(idText)
      const c = cli()
      const client = await c.client()
      const res = await wrapped('revoke', () => client.lease.revoke(id))
      c.printer().revoke(id, res)
    })

  lease
    .command('timetolive')
    .description('Get lease information')
    .argument('<leaseID>', 'in hex')
    .option('--keys', 'Get keys attached to this lease')
    .action(async (idText: string, flags: { readonly keys?: boolean }) => {
      const id = leaseArg(idText)
      const c = cli()
      const res = await (await c.client()).lease.timeToLive(id, { keys: flags.keys === true })
      c.printer().timeToLive(res, flags.keys === true)
    })

  lease
    .command('list')
    .description('List all active leases')
    .action(async () => {
      const c = cli()
      const res = await (await c.client()).lease.leases()
      c.printer().leases(res)
    })

  lease
    .command('keep-alive')
    .description('Keeps leases alive (renew)')
    .argument('<leaseID>', 'in hex')
    .option('--once', 'Resets the keep-alive time to its original value and exits immediately')
    .action(async (idText: string, flags: { readonly once?: boolean }) => {
      const id = leaseArg(idText)
      const c = cli()
      const printer = c.printer()
      const client = await c.streamClient()
      if (flags.once === true) {
        const res = await client.lease.keepAliveOnce(id)
        if (res.ttl <= 0) throw new CliError(ExitCode.BadConnection, 'etcdserver: requested lease not found')
        printer.keepAlive(res)
        return
      }
      const keepAlive = client.lease.keepAlive(id)
      for await (const res of keepAlive) printer.keepAlive(res)
      await keepAlive.done
      if (printer.format === 'simple') c.output.out(`lease ${leaseHex(id)} expired or revoked.`)
    })
}
