/**
 * Three-member clusters on loopback for the benchmarks, one process per member (plus edgecd's
 * gateway), each in a fresh temp dir with its output in `<dir>/<name>.log`:
 *
 *   etcd:   `etcd --name e1 --data-dir … --listen-client-urls … --listen-peer-urls … --initial-cluster …`
 *   edgecd: `node <member flags> [nodeFlags] dist/member.mjs --name m1 …` and
 *           `node dist/gateway.mjs …`, the bundles as `edgecd up` runs them (src/cli/bundles.ts,
 *           built from the checkout measured). Spawned here rather than through up(), to pick free
 *           ports and keep each process's output in its own file.
 *
 * Every process is stopped by its PID (SIGTERM, then SIGKILL after 10 s); an exit hook kills what
 * is left if the benchmark dies first.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { killOnExit } from '../../test/kill-on-exit.ts'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, sleep } from './system.ts'
import { postJson } from './http.ts'
import { gatewayCommand, memberCommand } from '../../src/cli/bundles.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export type System = 'etcd' | 'edgecd'

export interface Proc {
  readonly name: string
  readonly pid: number
  /** The client URL (for edgecd members also the peer URL). */
  readonly url: string
  readonly dataDir: string | null
  readonly child: ChildProcess
  readonly logFile: string
}

export interface Cluster {
  readonly system: System
  readonly dir: string
  readonly members: readonly Proc[]
  /** edgecd's gateway; null for etcd. */
  readonly gateway: Proc | null
  /** The current leader (asks every live member's status), waiting up to `timeoutMs` for one. */
  leader(timeoutMs?: number): Promise<Proc>
  /** kill -9 one process and wait for it to be gone. */
  kill9(p: Proc): Promise<void>
  /** Stops every process by PID and removes the temp dir (unless `keep`). */
  stop(keep?: boolean): Promise<void>
}

function startProc(
  dir: string,
  name: string,
  cmd: string,
  args: string[],
  cwd = ROOT,
  env: Readonly<Record<string, string>> = {},
): { child: ChildProcess; logFile: string } {
  const logFile = join(dir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`)
  killOnExit(child)
  return { child, logFile }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((r) => child.once('exit', () => r()))
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  process.kill(p.pid, 'SIGTERM')
  const t = setTimeout(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, 'SIGKILL')
  }, 10_000)
  await exited(p.child)
  clearTimeout(t)
}

interface StatusBody {
  readonly header?: { readonly member_id?: string }
  readonly leader?: string
}

async function findLeader(members: readonly Proc[], timeoutMs: number): Promise<Proc> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    for (const m of members) {
      if (m.child.exitCode !== null || m.child.signalCode !== null) continue
      try {
        const r = await postJson(`${m.url}/v3/maintenance/status`, '{}', 1000)
        const body = JSON.parse(r.body) as StatusBody
        if (r.status === 200 && body.leader !== undefined && body.leader !== '0' && body.leader === body.header?.member_id)
          return m
        last = r.body.slice(0, 200)
      } catch (err) {
        last = (err as Error).message
      }
    }
    await sleep(100)
  }
  throw new Error(`no leader after ${timeoutMs} ms (last: ${last})`)
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return ''
  }
}

function makeCluster(system: System, dir: string, members: Proc[], gateway: Proc | null): Cluster {
  return {
    system,
    dir,
    members,
    gateway,
    leader: (timeoutMs = 20_000) => findLeader(members, timeoutMs),
    async kill9(p) {
      if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.pid, 'SIGKILL')
      await exited(p.child)
    },
    async stop(keep = false) {
      await Promise.all([...members, ...(gateway === null ? [] : [gateway])].map(stopProc))
      if (!keep) rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function started(cluster: Cluster, timeoutMs: number): Promise<Cluster> {
  try {
    await cluster.leader(timeoutMs)
    return cluster
  } catch (err) {
    const logs = cluster.members.map((m) => `--- ${m.name}\n${tail(m.logFile)}`).join('\n')
    await cluster.stop(true)
    throw new Error(`${cluster.system} cluster did not start: ${(err as Error).message}\n${logs}\n(logs in ${cluster.dir})`)
  }
}

/** A 3-member etcd (the `etcd` binary on the PATH), ready once it has a leader. */
export async function startEtcd(size = 3): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-etcd-'))
  const names = Array.from({ length: size }, (_, i) => `e${i + 1}`)
  const clientPorts: number[] = []
  const peerPorts: number[] = []
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort())
    peerPorts.push(await freePort())
  }
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',')
  const members = names.map((name, i): Proc => {
    const url = `http://127.0.0.1:${clientPorts[i]}`
    const peer = `http://127.0.0.1:${peerPorts[i]}`
    const dataDir = join(dir, name)
    const { child, logFile } = startProc(dir, name, 'etcd', [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'bench',
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-level', 'warn',
    ])
    return { name, pid: child.pid as number, url, dataDir, child, logFile }
  })
  return started(makeCluster('etcd', dir, members, null), 30_000)
}

export interface EdgecdOptions {
  readonly size?: number
  /** Extra node flags for every member (e.g. --cpu-prof --cpu-prof-dir=…). */
  readonly nodeFlags?: readonly string[]
  readonly gateway?: boolean
  /** Extra node flags for the gateway (e.g. --cpu-prof --cpu-prof-dir=…). */
  readonly gatewayNodeFlags?: readonly string[]
  /** Processes serving the gateway's port (its `--processes`; default 1). */
  readonly gatewayProcesses?: number
  /** The edgecd checkout whose workers/ to run (default: this one), for before/after comparisons. */
  readonly root?: string
}

/** A 3-member edgecd plus its gateway, run from this checkout, ready once it has a leader. */
export async function startEdgecd(options: EdgecdOptions = {}): Promise<Cluster> {
  const size = options.size ?? 3
  const root = options.root ?? ROOT
  const dir = mkdtempSync(join(tmpdir(), 'bench-edgecd-'))
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`)
  const ports: number[] = []
  for (let i = 0; i < size; i++) ports.push(await freePort())
  const urls = ports.map((p) => `http://127.0.0.1:${p}`)
  const initialCluster = names.map((n, i) => `${n}=${urls[i]}`).join(',')
  // Members and the gateway run as `npm start` runs them: from their bundles (src/cli/bundles.ts).
  const member = await memberCommand([], options.nodeFlags ?? [], root)
  const members = names.map((name, i): Proc => {
    const dataDir = join(dir, name)
    const { child, logFile } = startProc(dir, name, member.command, [
      ...member.args,
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', urls[i] as string,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'bench',
      '--initial-cluster-state', 'new',
      '--log-level', 'warn',
    ], root, member.env)
    return { name, pid: child.pid as number, url: urls[i] as string, dataDir, child, logFile }
  })
  let gateway: Proc | null = null
  if (options.gateway !== false) {
    const port = await freePort()
    const processes = String(options.gatewayProcesses ?? 1)
    const gw = await gatewayCommand(['--listen', `127.0.0.1:${port}`, '--endpoints', urls.join(','), '--processes', processes], options.gatewayNodeFlags ?? [], root)
    const { child, logFile } = startProc(dir, 'gateway', gw.command, gw.args, root, gw.env)
    gateway = { name: 'gateway', pid: child.pid as number, url: `http://127.0.0.1:${port}`, dataDir: null, child, logFile }
  }
  const cluster = await started(makeCluster('edgecd', dir, members, gateway), 60_000)
  if (gateway !== null) {
    // The gateway finds the leader on its own; wait until a write through it works.
    const deadline = Date.now() + 20_000
    for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
      const r = await postJson(`${gateway.url}/v3/kv/put`, '{"key":"YmVuY2gvcmVhZHk=","value":""}', 2000).catch(() => null)
      if (r?.status === 200) break
      await sleep(200)
    }
  }
  return cluster
}
