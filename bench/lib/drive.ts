/**
 * Runs the whole suite against one started cluster: load keys (RSS, disk), every load at every
 * connection count through each target (the leader, and edgecd's gateway), then failover (which
 * leaves the cluster one member short, so it goes last).
 *
 * @module
 */
import type { Cluster, Proc } from './clusters.ts'
import type { BenchOptions } from './options.ts'
import {
  failover,
  loadKeys,
  perProcess,
  seedGetKeys,
  throughputRun,
  watchRun,
  type FailoverResult,
  type LoadKeysResult,
  type RunResult,
} from './suite.ts'

export interface SystemResults {
  readonly runs: RunResult[]
  readonly loaded: LoadKeysResult | null
  readonly failover: FailoverResult | null
}

function describe(r: RunResult): string {
  const w = r.figures
  const extra = r.watch === undefined ? '' : `, events/s ${r.watch.eventsPerS.toFixed(0)}, lag p99 ${r.watch.lagP99Ms.toFixed(1)} ms`
  return (
    `  ${r.system} ${r.via} ${r.load} c=${r.connections}: ${w.rps.toFixed(0)} req/s, p50 ${w.p50Ms.toFixed(2)} ms, ` +
    `p99 ${w.p99Ms.toFixed(2)} ms, errors ${w.non2xx + w.socketErrors}${extra} | cpu ${perProcess(r.cpu, ' ')} | waiting ${perProcess(r.waits, ' ')} | others ${r.otherCores} ` +
    `| load ${r.idle.loadavg[0]}`
  )
}

export async function driveSystem(cluster: Cluster, o: BenchOptions, log: (s: string) => void): Promise<SystemResults> {
  const runs: RunResult[] = []
  const opts = { durationS: o.durationS, idleThreshold: o.idleThreshold, idleWaitMs: o.idleWaitMs, log }
  let leader = await cluster.leader()
  log(`${cluster.system}: leader ${leader.name} (${leader.url})${cluster.gateway === null ? '' : `, gateway ${cluster.gateway.url}`}`)
  let loaded: LoadKeysResult | null = null
  if (o.keys > 0) {
    log(`${cluster.system}: loading ${o.keys} keys through the leader…`)
    loaded = await loadKeys(cluster, leader.url, o.keys, 64)
    const rss = Object.entries(loaded.rssAfter).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MiB`).join(', ')
    const disk = Object.entries(loaded.disk).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MiB`).join(', ')
    log(`  ${o.keys} keys in ${loaded.seconds.toFixed(1)} s (${loaded.errors} errors); RSS ${rss}; disk ${disk}`)
  }
  await seedGetKeys(leader.url)
  for (const load of o.loads)
    for (const c of o.connections) {
      leader = await cluster.leader()
      const targets: Array<[string, Proc]> = []
      if (!o.gatewayOnly || cluster.gateway === null) targets.push(['leader', leader])
      if (cluster.gateway !== null && o.gateway) targets.push(['gateway', cluster.gateway])
      for (const [via, target] of targets) {
        try {
          const r =
            load === 'watch' ? await watchRun(cluster, target, via, c, opts) : await throughputRun(cluster, target, via, load, c, opts)
          runs.push(r)
          log(describe(r))
        } catch (err) {
          log(`  ${cluster.system} ${via} ${load} c=${c} failed: ${(err as Error).message}`)
        }
      }
    }
  let fo: FailoverResult | null = null
  if (o.failover) {
    log(`${cluster.system}: kill -9 of the leader…`)
    fo = await failover(cluster)
    log(`  killed ${fo.killed}; first write after ${fo.toWriteMs.toFixed(0)} ms` +
      (fo.toWriteViaGatewayMs === null ? '' : ` (through the gateway ${fo.toWriteViaGatewayMs.toFixed(0)} ms)`) +
      `; new leader ${fo.newLeader}`)
  }
  return { runs, loaded, failover: fo }
}
