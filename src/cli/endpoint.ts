/**
 * `endpoint health | status | hashkv [--rev=N]`, each over every endpoint of `--endpoints` (or,
 * with `--cluster`, every client URL in the member list), asked one by one:
 *
 * - health: a linearizable read of the key `health` through that endpoint alone (etcdctl's check;
 *   permission denied counts as healthy); simple output goes to stderr, as etcdctl's does;
 * - status: version, DB size, leader, learner, raft term/index/applied index, alarms (table
 *   columns as etcdctl 3.4's);
 * - hashkv: the hash of the KV history up to `--rev` (0: all).
 *
 * @module
 */
import type { Command } from 'commander'
import { EtcdError, GrpcCode } from '../client/index.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { goDuration } from './format.ts'
import { int64Flag } from './kv.ts'
import type { EndpointHashKv, EndpointHealth, EndpointStatus } from './output.ts'

/** An endpoint as printed, and the URL it is called at. */
export interface Target {
  readonly name: string
  readonly url: string
}

/** `--endpoints` as given, or with `cluster`, the client URLs of every member. */
export async function targets(c: Cli, cluster: boolean): Promise<Target[]> {
  if (!cluster) return c.globals.endpoints.map((name, i) => ({ name, url: c.urls[i] as string }))
  const client = await c.client()
  const { members } = await client.cluster.memberList().catch((err: Error) => {
    throw new CliError(ExitCode.Error, `failed to fetch endpoints from etcd cluster member list: ${err.message}`)
  })
  return members.flatMap((m) => m.clientUrls).map((url) => ({ name: url, url }))
}

async function health(c: Cli, t: Target): Promise<EndpointHealth> {
  const client = await c.client({ endpoints: [t.url] })
  const start = process.hrtime.bigint()
  let error = ''
  try {
    await client.kv.get('health')
  } catch (err) {
    if (!(err instanceof EtcdError && err.code === GrpcCode.PermissionDenied)) error = (err as Error).message
  }
  const took = goDuration(process.hrtime.bigint() - start)
  return { endpoint: t.name, health: error === '', took, error }
}

export function registerEndpoint(program: Command, cli: () => Cli): void {
  const endpoint = program.command('endpoint').description('Endpoint related commands')
  const clusterFlag = ['--cluster', 'use all endpoints from the cluster member list'] as const

  endpoint
    .command('health')
    .description('Checks the healthiness of endpoints specified in `--endpoints` flag')
    .option(...clusterFlag)
    .action(async (flags: { readonly cluster?: boolean }) => {
      const c = cli()
      const list = await Promise.all((await targets(c, flags.cluster === true)).map((t) => health(c, t)))
      c.printer().endpointHealth(list)
      if (list.some((h) => h.error !== '')) throw new CliError(ExitCode.Error, 'unhealthy cluster')
    })

  endpoint
    .command('status')
    .description('Prints out the status of endpoints specified in `--endpoints` flag')
    .option(...clusterFlag)
    .action(async (flags: { readonly cluster?: boolean }) => {
      const c = cli()
      const client = await c.client()
      const list: EndpointStatus[] = []
      let failed = false
      for (const t of await targets(c, flags.cluster === true)) {
        try {
          list.push({ endpoint: t.name, status: await client.maintenance.status({ endpoint: t.url }) })
        } catch (err) {
          failed = true
          c.output.err(`Failed to get the status of endpoint ${t.name} (${(err as Error).message})`)
        }
      }
      c.printer().endpointStatus(list)
      if (failed) throw new CliError(ExitCode.Error, '')
    })

  endpoint
    .command('hashkv')
    .description('Prints the KV history hash for each endpoint in --endpoints')
    .option(...clusterFlag)
    .option('--rev <n>', 'maximum revision to hash (default: all revisions)', int64Flag)
    .action(async (flags: { readonly cluster?: boolean; readonly rev?: number }) => {
      const c = cli()
      const client = await c.client()
      const list: EndpointHashKv[] = []
      let last: Error | null = null
      for (const t of await targets(c, flags.cluster === true)) {
        try {
          list.push({ endpoint: t.name, hashKv: await client.maintenance.hashKv(flags.rev ?? 0, { endpoint: t.url }) })
        } catch (err) {
          last = err as Error
          c.output.err(`Failed to get the hash of endpoint ${t.name} (${last.message})`)
        }
      }
      c.printer().endpointHashKv(list)
      if (last !== null) throw new CliError(ExitCode.Error, last.message)
    })
}
