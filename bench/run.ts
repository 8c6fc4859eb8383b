/**
 * `npm run bench`: the edgecd-only figures, for quick checks while optimizing. Starts a 3-member
 * edgecd (plus gateway) on loopback and runs put, linearizable get, serializable get and txn
 * create-if-absent through the leader at 64 connections (5 s each, after waiting for an idle
 * machine); no etcd, no key loading, no failover unless asked (--keys, --loads …,watch).
 * `--profile DIR` runs the members (and the gateway) under `node --cpu-prof` and prints the
 * leader's (and the gateway's) top self-time functions afterwards. `--gateway` also runs every
 * load through the gateway; `--gateway-only` runs them through the gateway alone.
 *
 *   node --import tsx bench/run.ts [--duration 5s] [--connections 64] [--loads put] [--gateway] [--profile DIR] [--save]
 *
 * @module
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startEdgecd } from './lib/clusters.ts'
import { driveSystem } from './lib/drive.ts'
import { gatewayProcessesOption, generatorTools, parseOptions, stamp } from './lib/options.ts'
import { renderProfile } from './lib/profile.ts'
import { renderMarkdown } from './lib/report.ts'
import { ensureTools, machineDescription } from './lib/system.ts'

const log = (s: string): void => console.log(s)

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), {
    durationS: 5,
    connections: [64],
    loads: ['put', 'get-linearizable', 'get-serializable', 'get-prefix', 'txn-create'],
    keys: 0,
    gateway: false,
    failover: false,
    idleWaitMs: 30_000,
  })
  const { commands, packages } = generatorTools(o.loads)
  ensureTools(commands, packages, log)
  const profileDir = o.profileDir === null ? null : resolve(o.profileDir)
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true })
  const profFlags = profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
  const cluster = await startEdgecd({
    gateway: o.gateway,
    nodeFlags: profFlags,
    gatewayNodeFlags: profFlags,
    gatewayProcesses: o.gatewayProcesses,
    ...(o.root === null ? {} : { root: resolve(o.root) }),
  })
  const stopOnSignal = (): void => void cluster.stop().then(() => process.exit(130))
  process.once('SIGINT', stopOnSignal)
  let leaderPid = 0
  const date = new Date()
  try {
    leaderPid = (await cluster.leader()).pid
    const r = await driveSystem(cluster, o, log)
    const md = renderMarkdown({
      date: date.toISOString(),
      machine: machineDescription(),
      versions: { node: process.version },
      options: { duration: `${o.durationS}s`, connections: o.connections, loads: o.loads, ...gatewayProcessesOption(o) },
      runs: r.runs,
      loaded: r.loaded === null ? {} : { edgecd: r.loaded },
      failover: r.failover === null ? {} : { edgecd: r.failover },
      notes: [],
    })
    log('')
    log(md)
    if (o.save) {
      mkdirSync(o.outDir, { recursive: true })
      const file = join(o.outDir, `${stamp(date)}-edgecd.json`)
      writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`)
      log(`written: ${file}`)
    }
  } finally {
    leaderPid = (await cluster.leader(2000).catch(() => null))?.pid ?? leaderPid
    await cluster.stop()
  }
  if (profileDir !== null) {
    const profiled: Array<[string, number]> = [['the leader', leaderPid]]
    if (cluster.gateway !== null) profiled.push(['the gateway', cluster.gateway.pid])
    for (const [who, pid] of profiled) {
      const mine = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`))
      for (const f of mine) log(`${who}:\n${renderProfile(join(profileDir, f), 40)}`)
      if (mine.length === 0) log(`no profile of ${who} (pid ${pid}) in ${profileDir}`)
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
