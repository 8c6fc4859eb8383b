/**
 * The benchmark runs, shared by bench/compare.ts (etcd and edgecd side by side) and bench/run.ts
 * (edgecd alone):
 *
 * - `throughputRun`: one wrk load at one connection count against one URL, with the CPU each
 *   cluster process (and wrk) used, and how busy the rest of the machine was meanwhile.
 * - `watchRun`: the put load while one watcher streams a prefix; events/s and the delivery lag of
 *   probe puts (time from sending the put to the watcher seeing its event).
 * - `loadKeys`: N distinct keys with 256-byte values, then RSS per member and bytes on disk.
 * - `failover`: kill -9 the leader, time until a write succeeds again.
 *
 * @module
 */
import type { Cluster, Proc } from './clusters.ts'
import { openLineStream, postJson } from './http.ts'
import { cpuSeconds, cpuWaitSeconds, diskBytes, machineJiffies, rssBytes, sleep, waitForIdle, type IdleReport } from './system.ts'
import { GRPC_LOAD_NAMES, startH2load, type GrpcLoadName } from './h2load.ts'
import type { LoadResult, LoadRun } from './generator.ts'
import { GET_KEY_B64, PREFIX_KEYS, prefixB64, startWrk, VALUE_B64, type LoadName } from './wrk.ts'

/** A load generator drives: JSON loads by wrk, gRPC ones by h2load. */
export type DrivenLoad = LoadName | GrpcLoadName
export type Load = DrivenLoad | 'watch'

/**
 * Seconds of the same load, unmeasured, right before each measured run: a just-started Node
 * process compiles its hot paths during its first few hundred requests (etcd, compiled ahead,
 * has no such start), and a long-running server is past that.
 */
export const WARMUP_S = 1

export interface RunOptions {
  readonly durationS: number
  readonly idleThreshold: number
  readonly idleWaitMs: number
  readonly log: (s: string) => void
}

export interface RunResult {
  readonly system: string
  /** 'leader' or 'gateway'. */
  readonly via: string
  readonly load: Load
  readonly connections: number
  /** The load generator's figures (wrk's, or h2load's for the gRPC loads). */
  readonly figures: LoadResult
  /** CPU cores each process used on average during the run (name → cores). */
  readonly cpu: Record<string, number>
  /**
   * Seconds per second the threads of each member (and gateway) spent runnable but waiting for a
   * CPU during the run (name → thread-seconds/s; several threads may wait at once). Empty where
   * the kernel keeps no such figures.
   */
  readonly waits: Record<string, number>
  /** Cores used by everything else on the machine during the run. */
  readonly otherCores: number
  readonly idle: IdleReport
  readonly watch?: WatchFigures
  /** Which of compare.ts's rounds the run belongs to (1 and up); absent outside compare.ts. */
  readonly round?: number
}

export interface WatchFigures {
  /** Events the watcher received per second while the load ran. */
  readonly eventsPerS: number
  /** Events received in total (until 5 s after the load) / successful puts. */
  readonly delivered: number
  readonly expected: number
  /** Probe puts: send → watcher has the event. */
  readonly lagP50Ms: number
  readonly lagP99Ms: number
  readonly probes: number
}

let runCounter = 0

/** A fresh 6-character key prefix for one run. */
function nextTag(load: Load): string {
  runCounter++
  return `${load[0]}${String(runCounter).padStart(5, '0')}`
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number
}

/** Every process of the cluster, by name. */
function processes(cluster: Cluster): Proc[] {
  return [...cluster.members, ...(cluster.gateway === null ? [] : [cluster.gateway])].filter(
    (p) => p.child.exitCode === null && p.child.signalCode === null,
  )
}

/** Per-process figures of a run (`cpu` or `waits`) as `name value` items joined by `separator`; '–' when none. */
export function perProcess(figures: Record<string, number>, separator: string): string {
  return Object.entries(figures).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(separator) || '–'
}

/** The cores the leader (the process marked `*`) used during the run; NaN when none is marked. */
export function leaderCores(r: RunResult): number {
  return Object.entries(r.cpu).find(([k]) => k.endsWith('*'))?.[1] ?? Number.NaN
}

interface CpuWindow {
  /** Cores per process since the window opened (`generator`: the load generator's name and CPU seconds), and everyone else's. */
  finish(generator: { name: string; cpu: number }): { cpu: Record<string, number>; waits: Record<string, number>; otherCores: number }
}

function cpuWindow(procs: readonly Proc[], leader: Proc | null): CpuWindow {
  const before = new Map(procs.map((p) => [p.name, cpuSeconds(p.pid)]))
  const waitedBefore = new Map(procs.map((p) => [p.name, cpuWaitSeconds(p.pid)]))
  const machine = machineJiffies()
  const t0 = performance.now()
  return {
    finish(generator) {
      const s = (performance.now() - t0) / 1000
      const m = machineJiffies()
      const machineCores = ((m.busy - machine.busy) / Math.max(1, m.total - machine.total)) * navigatorCores()
      const cpu: Record<string, number> = {}
      const waits: Record<string, number> = {}
      let ours = 0
      for (const p of procs) {
        const used = (cpuSeconds(p.pid) - (before.get(p.name) ?? 0)) / s
        const label = p === leader ? `${p.name}*` : p.name
        cpu[label] = round2(used)
        ours += Number.isFinite(used) ? used : 0
        const waited = (cpuWaitSeconds(p.pid) - (waitedBefore.get(p.name) ?? Number.NaN)) / s
        if (Number.isFinite(waited)) waits[label] = round2(waited)
      }
      cpu[generator.name] = round2(generator.cpu / s)
      ours += generator.cpu / s
      return { cpu, waits, otherCores: round2(Math.max(0, machineCores - ours - 0.05)) }
    },
  }
}

function navigatorCores(): number {
  return globalThis.navigator?.hardwareConcurrency ?? 2
}

const round2 = (n: number): number => Math.round(n * 100) / 100

/** Writes the keys the get loads read (256-byte values). */
export async function seedGetKeys(url: string): Promise<void> {
  for (const key of [GET_KEY_B64, ...PREFIX_KEYS]) {
    const r = await postJson(`${url}/v3/kv/put`, JSON.stringify({ key, value: VALUE_B64 }), 10_000)
    if (r.status !== 200) throw new Error(`seeding the get keys failed: ${r.status} ${r.body}`)
  }
}

/** The revision `url` answers with (a serializable read of the get key). */
async function revisionOf(url: string): Promise<number> {
  const r = await postJson(`${url}/v3/kv/range`, JSON.stringify({ key: GET_KEY_B64, serializable: true }), 10_000)
  return Number((JSON.parse(r.body) as { header?: { revision?: string } }).header?.revision ?? Number.NaN)
}

/** Starts `load` at `connections` against `target`'s URL, with a fresh key or key prefix. */
function startLoad(target: Proc, load: DrivenLoad, connections: number, durationS: number): LoadRun {
  const tag = nextTag(load)
  return (GRPC_LOAD_NAMES as readonly string[]).includes(load)
    ? startH2load(target.url, load as GrpcLoadName, Buffer.from(`bench/${tag}`), connections, durationS)
    : startWrk(target.url, load as LoadName, prefixB64(tag), connections, durationS)
}

/** Samples a generator's CPU seconds until it exits (its /proc entry is gone after). */
async function measured(run: LoadRun): Promise<{ figures: LoadResult; cpu: number }> {
  let cpu = 0
  const sampler = setInterval(() => {
    const c = cpuSeconds(run.pid)
    if (Number.isFinite(c)) cpu = c
  }, 200)
  const figures = await run.result.finally(() => clearInterval(sampler))
  return { figures, cpu }
}

/**
 * One load at `connections` against `target` (a member or the gateway). h2load sees HTTP
 * statuses only, so the gRPC put load's failed calls are the puts that made no revision.
 */
export async function throughputRun(
  cluster: Cluster,
  target: Proc,
  via: string,
  load: DrivenLoad,
  connections: number,
  o: RunOptions,
): Promise<RunResult> {
  const idle = await waitForIdle(o.idleThreshold, o.idleWaitMs, o.log)
  await startLoad(target, load, connections, WARMUP_S).result
  const leader = await cluster.leader()
  const before = load === 'grpc-put' ? await revisionOf(target.url) : 0
  const window = cpuWindow(processes(cluster), leader)
  const run = startLoad(target, load, connections, o.durationS)
  const { figures: raw, cpu: generatorCpu } = await measured(run)
  const { cpu, waits, otherCores } = window.finish({ name: run.generator, cpu: generatorCpu })
  const unmade = load === 'grpc-put' ? Math.max(0, raw.requests - ((await revisionOf(target.url)) - before)) : 0
  const figures = { ...raw, non2xx: raw.non2xx + unmade }
  return { system: cluster.system, via, load, connections, figures, cpu, waits, otherCores, idle }
}

/**
 * The put load at `connections` while one watcher streams the run's prefix from `target`; a probe
 * put every 20 ms (into the same prefix) measures delivery lag.
 */
export async function watchRun(
  cluster: Cluster,
  target: Proc,
  via: string,
  connections: number,
  o: RunOptions,
): Promise<RunResult> {
  const idle = await waitForIdle(o.idleThreshold, o.idleWaitMs, o.log)
  await startWrk(target.url, 'put', prefixB64(nextTag('put')), connections, WARMUP_S).result
  const leader = await cluster.leader()
  const tag = nextTag('watch')
  const prefix = Buffer.from(tag.padEnd(6, '_').slice(0, 6))
  const end = Buffer.from(prefix)
  end[end.length - 1] = (end[end.length - 1] as number) + 1
  let events = 0
  let eventsInWindow = 0
  let inWindow = false
  const probeSent = new Map<string, number>()
  const lags: number[] = []
  let created = false
  const stream = await openLineStream(
    `${target.url}/v3/watch`,
    JSON.stringify({ create_request: { key: prefix.toString('base64'), range_end: end.toString('base64') } }),
    (line) => {
      const now = performance.now()
      let msg: { result?: { created?: boolean; events?: Array<{ kv?: { key?: string } }> } }
      try {
        msg = JSON.parse(line) as typeof msg
      } catch {
        return
      }
      if (msg.result?.created === true) created = true
      for (const ev of msg.result?.events ?? []) {
        events++
        if (inWindow) eventsInWindow++
        const k = ev.kv?.key
        if (k !== undefined) {
          const sent = probeSent.get(k)
          if (sent !== undefined) {
            lags.push(now - sent)
            probeSent.delete(k)
          }
        }
      }
    },
  )
  for (let i = 0; i < 100 && !created; i++) await sleep(50)
  if (!created) {
    stream.close()
    throw new Error(`watch on ${target.url} was not created`)
  }
  const window = cpuWindow(processes(cluster), leader)
  inWindow = true
  const run = startWrk(target.url, 'put', prefix.toString('base64'), connections, o.durationS)
  let probes = 0
  let probing = true
  const prober = (async () => {
    for (let i = 0; probing && i < 100_000; i++) {
      // 0xff after the 6-byte prefix never occurs in wrk's keys (they continue with 0x00…0x03).
      const key = Buffer.concat([prefix, Buffer.from([0xff]), Buffer.from(`probe${i}`)]).toString('base64')
      probeSent.set(key, performance.now())
      probes++
      void postJson(`${target.url}/v3/kv/put`, JSON.stringify({ key, value: '' }), 10_000).catch(() => undefined)
      await sleep(20)
    }
  })()
  const { figures, cpu: generatorCpu } = await measured(run)
  inWindow = false
  probing = false
  await prober
  const { cpu, waits, otherCores } = window.finish({ name: run.generator, cpu: generatorCpu })
  const expected = figures.requests - figures.non2xx - figures.socketErrors + probes
  for (let i = 0; i < 100 && events < expected; i++) await sleep(50)
  stream.close()
  lags.sort((a, b) => a - b)
  const watch: WatchFigures = {
    eventsPerS: eventsInWindow / figures.durationS,
    delivered: events,
    expected,
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
    probes: lags.length,
  }
  return { system: cluster.system, via, load: 'watch', connections, figures, cpu, waits, otherCores, idle, watch }
}

export interface LoadKeysResult {
  readonly keys: number
  readonly seconds: number
  readonly errors: number
  /** RSS per member (bytes) before loading and after (settled 3 s). */
  readonly rssBefore: Record<string, number>
  readonly rssAfter: Record<string, number>
  /** Bytes on disk per member data dir after loading. */
  readonly disk: Record<string, number>
}

export interface PutKeysResult {
  readonly seconds: number
  /** Failed attempts (each retried after 100 ms). */
  readonly errors: number
  /** Keys still not written after 5 attempts. */
  readonly lost: number
}

/**
 * Puts `n` distinct keys `bench/load/<i>` (256-byte values) through `url` with `concurrency`
 * requests in flight, each tried up to 5 times.
 */
export async function putKeys(url: string, n: number, concurrency: number): Promise<PutKeysResult> {
  const t0 = performance.now()
  let next = 0
  let errors = 0
  let lost = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      if (i >= n) return
      const key = Buffer.from(`bench/load/${String(i).padStart(8, '0')}`).toString('base64')
      const body = `{"key":"${key}","value":"${VALUE_B64}"}`
      let ok = false
      for (let attempt = 0; attempt < 5 && !ok; attempt++) {
        const r = await postJson(`${url}/v3/kv/put`, body, 10_000).catch(() => null)
        ok = r?.status === 200
        if (!ok) {
          errors++
          await sleep(100)
        }
      }
      if (!ok) lost++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { seconds: (performance.now() - t0) / 1000, errors, lost }
}

/** {@link putKeys}, then RSS and disk of each member once it has settled (3 s). */
export async function loadKeys(cluster: Cluster, url: string, n: number, concurrency: number): Promise<LoadKeysResult> {
  const rssBefore = Object.fromEntries(cluster.members.map((m) => [m.name, rssBytes(m.pid)]))
  const { seconds, errors } = await putKeys(url, n, concurrency)
  await sleep(3000)
  const rssAfter = Object.fromEntries(cluster.members.map((m) => [m.name, rssBytes(m.pid)]))
  const disk = Object.fromEntries(cluster.members.map((m) => [m.name, m.dataDir === null ? 0 : diskBytes(m.dataDir)]))
  return { keys: n, seconds, errors, rssBefore, rssAfter, disk }
}

export interface FailoverResult {
  readonly killed: string
  /** kill -9 → first successful put on a surviving member (ms). */
  readonly toWriteMs: number
  /** kill -9 → first successful put through the gateway (ms); null without a gateway. */
  readonly toWriteViaGatewayMs: number | null
  readonly newLeader: string
}

/**
 * kill -9 the leader, then every 20 ms a put to each survivor (and the gateway, if any) until one
 * succeeds on each path, at most `timeoutMs`.
 */
export async function failover(cluster: Cluster, timeoutMs = 30_000): Promise<FailoverResult> {
  const leader = await cluster.leader()
  const survivors = cluster.members.filter((m) => m !== leader)
  const key = Buffer.from('bench/failover').toString('base64')
  const body = JSON.stringify({ key, value: VALUE_B64 })
  let direct: number | null = null
  let viaGateway: number | null = cluster.gateway === null ? -1 : null
  const t0 = performance.now()
  await cluster.kill9(leader)
  for (let i = 0; (direct === null || viaGateway === null) && performance.now() - t0 < timeoutMs && i < 10_000; i++) {
    for (const s of survivors)
      void postJson(`${s.url}/v3/kv/put`, body, 2000).then(
        (r) => r.status === 200 && direct === null && (direct = performance.now() - t0),
        () => undefined,
      )
    if (cluster.gateway !== null)
      void postJson(`${cluster.gateway.url}/v3/kv/put`, body, 2000).then(
        (r) => r.status === 200 && viaGateway === null && (viaGateway = performance.now() - t0),
        () => undefined,
      )
    await sleep(20)
  }
  const newLeader = await cluster.leader().then((l) => l.name, () => '?')
  return {
    killed: leader.name,
    toWriteMs: direct ?? Number.NaN,
    toWriteViaGatewayMs: viaGateway === -1 ? null : (viaGateway ?? Number.NaN),
    newLeader,
  }
}
