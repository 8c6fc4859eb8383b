/**
 * The maintenance commands: `compaction [--physical] <rev>`, `defrag [--cluster]`,
 * `alarm list | disarm` and `move-leader <member ID in hex>`.
 *
 * `move-leader` asks the endpoints for their status to learn the current leader, and sends the
 * transfer to the leader's endpoint when one of them is the leader; otherwise through any of them
 * (a gateway, or a member, forwards it to the leader; etcdctl would refuse).
 *
 * @module
 */
import type { Command } from 'commander'
import type { StatusResponse } from '../api/index.ts'
import type { Answer } from '../client/index.ts'
import type { AlarmMember } from '../mvcc/kv.ts'
import type { Cli } from './context.ts'
import { targets } from './endpoint.ts'
import { CliError, ExitCode } from './errors.ts'
import { parseMemberId } from './member.ts'

export function registerMaintenance(program: Command, cli: () => Cli): void {
  program
    .command('compaction')
    .description('Compacts the event history in etcd')
    .argument('<revision>')
    .option('--physical', "'true' to wait for compaction to physically remove all old revisions")
    .action(async (revText: string, flags: { readonly physical?: boolean }) => {
      if (!/^[+-]?\d+$/.test(revText))
        throw new CliError(ExitCode.Error, `strconv.ParseInt: parsing ${JSON.stringify(revText)}: invalid syntax`)
      const rev = Number(revText)
      const c = cli()
      await (await c.client()).kv.compact(rev, { physical: flags.physical === true })
      c.output.out(`compacted revision ${rev}`)
    })

  program
    .command('defrag')
    .description('Defragments the storage of the etcd members with given endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .action(async (flags: { readonly cluster?: boolean }) => {
      const c = cli()
      const client = await c.client()
      let failures = 0
      for (const t of await targets(c, flags.cluster === true)) {
        try {
          await client.maintenance.defragment({ endpoint: t.url })
          c.output.out(`Finished defragmenting etcd member[${t.name}]`)
        } catch (err) {
          failures++
          c.output.err(`Failed to defragment etcd member[${t.name}] (${(err as Error).message})`)
        }
      }
      if (failures > 0) throw new CliError(ExitCode.Error, '')
    })

  const alarm = program.command('alarm').description('Alarm related commands')
  alarm
    .command('list')
    .description('Lists all alarms')
    .action(async () => {
      const c = cli()
      c.printer().alarm(await (await c.client()).maintenance.alarm('GET'))
    })
  alarm
    .command('disarm')
    .description('Disarms all alarms')
    .action(async () => {
      const c = cli()
      const client = await c.client()
      const disarmed: AlarmMember[] = []
      for (const a of (await client.maintenance.alarm('GET')).alarms)
        disarmed.push(...(await client.maintenance.alarm('DEACTIVATE', a.alarm, a.memberId)).alarms)
      c.printer().alarm({ alarms: disarmed })
    })

  program
    .command('move-leader')
    .description('Transfers leadership to another etcd cluster member.')
    .argument('<transferee-member-id>', 'in hex')
    .action(async (idText: string) => {
      const target = parseMemberId(idText)
      const c = cli()
      const client = await c.client()
      let status: Answer<StatusResponse> | null = null
      let leaderUrl: string | undefined
      for (const url of c.urls) {
        status = await client.maintenance.status({ endpoint: url })
        if (status.leader !== 0n && status.leader === status.header.memberId) {
          leaderUrl = url
          break
        }
      }
      if (status === null || status.leader === 0n) throw new CliError(ExitCode.Error, 'etcdserver: no leader')
      const res = await client.maintenance.moveLeader(target, leaderUrl === undefined ? {} : { endpoint: leaderUrl })
      c.printer().moveLeader(status.leader, target, res)
    })
}
