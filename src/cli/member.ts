/**
 * `member list | add <name> --peer-urls=… [--learner] | remove <id> | update <id> --peer-urls=… |
 * promote <id>`. Member IDs are read and printed in hex, as etcdctl does. `member add` prints, in
 * simple format, the variables that start the new member (`EDGECD_NAME`, `EDGECD_INITIAL_CLUSTER`,
 * …, which src/member/config.ts reads; etcdctl prints `ETCD_*`).
 *
 * @module
 */
import type { Command } from 'commander'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'

/** A hex uint64 as etcdctl's strconv.ParseUint(s, 16, 64) reads it. */
export function parseMemberId(text: string): bigint {
  const ok = /^[0-9a-fA-F]+$/.test(text)
  const id = ok ? BigInt(`0x${text}`) : null
  if (id === null || id > 0xffffffffffffffffn) {
    const why = id === null ? 'invalid syntax' : 'value out of range'
    const parsing = `strconv.ParseUint: parsing ${JSON.stringify(text)}: ${why}`
    throw new CliError(ExitCode.BadArgs, `bad member ID arg (${parsing}), expecting ID in Hex`)
  }
  return id
}

interface AddFlags {
  readonly peerUrls?: string
  readonly learner?: boolean
}

function peerUrls(text: string | undefined): string[] {
  if (text === undefined || text === '') throw new CliError(ExitCode.BadArgs, 'member peer urls not provided')
  return text.split(',')
}

export function registerMember(program: Command, cli: () => Cli): void {
  const member = program.command('member').description('Membership related commands')

  member
    .command('add')
    .description('Adds a member into the cluster')
    .argument('<memberName>')
    .argument('[extra...]')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the new member.')
    .option('--learner', 'indicates if the new member is raft learner')
    .action(async (name: string, extra: string[], flags: AddFlags) => {
      if (extra.length > 0) {
        const urls = [name, ...extra].filter((a) => a.toLowerCase().startsWith('http'))
        const hints = urls.map((a) => `, did you mean --peer-urls=${a}`)
        throw new CliError(ExitCode.BadArgs, 'too many arguments' + hints.join(''))
      }
      const urls = peerUrls(flags.peerUrls)
      const c = cli()
      const res = await (await c.client()).cluster.memberAdd(urls, { isLearner: flags.learner === true })
      c.printer().memberAdd(res, name, flags.peerUrls as string)
    })

  member
    .command('remove')
    .description('Removes a member from the cluster')
    .argument('<memberID>', 'in hex')
    .action(async (idText: string) => {
      const id = parseMemberId(idText)
      const c = cli()
      const res = await (await c.client()).cluster.memberRemove(id)
      c.printer().memberChange('removed from', id, res)
    })

  member
    .command('update')
    .description('Updates a member in the cluster')
    .argument('<memberID>', 'in hex')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the updated member.')
    .action(async (idText: string, flags: { readonly peerUrls?: string }) => {
      const id = parseMemberId(idText)
      const urls = peerUrls(flags.peerUrls)
      const c = cli()
      const res = await (await c.client()).cluster.memberUpdate(id, urls)
      c.printer().memberChange('updated in', id, res)
    })

  member
    .command('list')
    .description('Lists all members in the cluster (simple: ID, Status, Name, Peer Addrs, Client Addrs, Is Learner)')
    .action(async () => {
      const c = cli()
      const res = await (await c.client()).cluster.memberList()
      c.printer().memberList(res)
    })

  member
    .command('promote')
    .description('Promotes a non-voting member in the cluster')
    .argument('<memberID>', 'in hex')
    .action(async (idText: string) => {
      const id = parseMemberId(idText)
      const c = cli()
      const res = await (await c.client()).cluster.memberPromote(id)
      c.printer().memberChange('promoted in', id, res)
    })
}
