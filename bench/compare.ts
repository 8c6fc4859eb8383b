/**
 * `npm run bench:compare`: edgecd against etcd 3.4 on this machine, the same load through the same
 * JSON HTTP API. A 3-member etcd and a 3-member edgecd (plus gateway) run on loopback one after
 * the other, never at once; for each: 100k keys loaded (then RSS per member and bytes on disk),
 * put / linearizable get / serializable get / txn create-if-absent / watch delivery at 1, 16, 64
 * and 256 connections (wrk), and the time from kill -9 of the leader to the next successful write.
 * Before each run it waits (bounded) for an idle machine and records how busy it was.
 *
 * Then put and both gets over etcd's gRPC API (grpc-put, grpc-get-linearizable,
 * grpc-get-serializable; h2load), which is how etcd's own clients reach it.
 *
 * With `--rounds N` it does all that N times, the systems alternating (keys and failover in the
 * first round only), and the tables give median runs and per-round ratio ranges (lib/rounds.ts).
 *
 * Installs etcd-server, etcd-client, wrk and nghttp2-client (h2load) with apt-get when they are
 * missing and it runs as root; otherwise says what to install. Writes `bench/results/<date>-compare.md` and `.json`.
 *
 *   node --import tsx bench/compare.ts [--duration 10s] [--quick] [--connections 1,64] …  (--help)
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startEdgecd, startEtcd, type Cluster } from './lib/clusters.ts'
import { driveSystem } from './lib/drive.ts'
import { gatewayProcessesOption, generatorTools, needsH2load, parseOptions, stamp, type BenchOptions } from './lib/options.ts'
import { renderMarkdown, type Report } from './lib/report.ts'
import { ensureTools, machineDescription } from './lib/system.ts'

const log = (s: string): void => console.log(s)

/** The version a command prints (`wrk -v` prints it and exits 1, so the exit status is ignored). */
function version(cmd: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?'
}

/** Node's flags for a profiled edgecd process: none without --profile. */
function profFlags(o: BenchOptions): string[] {
  return o.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(o.profileDir)}`]
}

/**
 * Starts `system`, drives it and stops it, adding what it measured to `report`. Keys are loaded
 * and failover is run in the first round only: RSS and disk after a load, and one failover, are
 * what those tables show.
 */
async function runSystem(system: string, round: number, o: BenchOptions, report: Report): Promise<void> {
  log(`starting a 3-member ${system} on loopback…`)
  let cluster: Cluster
  if (system === 'etcd') cluster = await startEtcd()
  else if (system === 'edgecd')
    cluster = await startEdgecd({
      nodeFlags: profFlags(o),
      gatewayNodeFlags: profFlags(o),
      gatewayProcesses: o.gatewayProcesses,
      ...(o.root === null ? {} : { root: resolve(o.root) }),
    })
  else throw new Error(`unknown system ${system}`)
  const stopOnSignal = (): void => void cluster.stop().then(() => process.exit(130))
  process.once('SIGINT', stopOnSignal)
  try {
    const first = round === 1
    const r = await driveSystem(cluster, { ...o, keys: first ? o.keys : 0, failover: first && o.failover }, log)
    report.runs.push(...r.runs.map((run) => (o.rounds > 1 ? { ...run, round } : run)))
    if (r.loaded !== null) report.loaded[system] = r.loaded
    if (r.failover !== null) report.failover[system] = r.failover
  } finally {
    await cluster.stop()
    process.removeListener('SIGINT', stopOnSignal)
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), {})
  const { commands, packages } = generatorTools(o.loads)
  if (o.systems.includes('etcd')) ensureTools(['etcd', 'etcdctl', ...commands], ['etcd-server', 'etcd-client', ...packages], log)
  else ensureTools(commands, packages, log)
  const date = new Date()
  const report: Report = {
    date: date.toISOString(),
    machine: machineDescription(),
    versions: {
      etcd: version('etcd', ['--version'], /etcd Version: (\S+)/),
      wrk: version('wrk', ['-v'], /wrk (\S+)/),
      ...(needsH2load(o.loads) ? { h2load: version('h2load', ['--version'], /h2load nghttp2\/(\S+)/) } : {}),
      edgecd: version('git', ['rev-parse', '--short', 'HEAD'], /(\S+)/),
      node: process.version,
    },
    options: { duration: `${o.durationS}s`, connections: o.connections, loads: o.loads, keys: o.keys, idleLoad: o.idleThreshold, rounds: o.rounds, ...gatewayProcessesOption(o) },
    runs: [],
    loaded: {},
    failover: {},
    notes: [],
  }
  for (let round = 1; round <= o.rounds; round++)
    for (const system of o.systems) {
      if (o.rounds > 1) log(`round ${round} of ${o.rounds}:`)
      await runSystem(system, round, o, report)
    }
  mkdirSync(o.outDir, { recursive: true })
  const base = join(o.outDir, `${stamp(date)}-compare`)
  const md = renderMarkdown(report)
  writeFileSync(`${base}.md`, `${md}\n`)
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`)
  log('')
  log(md)
  log(`written: ${base}.md, ${base}.json`)
}

main().catch((err: unknown) => {
  console.error(`bench:compare: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
