/**
 * One chaos run, start to verdict: a cluster of member processes behind peer proxies, the
 * workload, the nemesis for `timeSec`, then healing, convergence, the final reads and the final
 * event history, and every checker. Writes `history.json`, `faults.json`, `verdict.json` and
 * `summary.txt` to the run's folder and returns the verdict.
 *
 * @module
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, utf8 } from '../../src/client/index.ts'
import {
  checkFinalState,
  checkLeases,
  checkRevisionsMonotonic,
  checkWatches,
  checkWritesInHistory,
  type Violation,
} from './checks.ts'
import { ChaosCluster } from './cluster.ts'
import { FAULT_KINDS, Nemesis, SLOW_DISK_ENV, type FaultKind } from './faults.ts'
import { emptyHistory, type History, type KvOp, type WatchEventRecord } from './history.ts'
import { checkLinearizable, describeOp, type Verdict } from './linearizability.ts'
import { Rng } from './prng.ts'
import { eventRecord, Workload } from './workload.ts'

export interface ChaosOptions {
  readonly seed: number
  readonly timeSec: number
  /** The run's folder; default a new one under os.tmpdir(). */
  readonly out?: string
  readonly size?: number
  readonly clients?: number
  readonly kinds?: readonly FaultKind[]
  /** The members' log level (default warn). */
  readonly logLevel?: string
  readonly log?: (line: string) => void
}

export interface ChaosResult {
  readonly seed: number
  readonly dir: string
  readonly ok: boolean
  readonly summary: Record<string, string | number>
  readonly violations: readonly Violation[]
  readonly linearizability: Verdict
}

const HEARTBEAT_MS = 50
const ELECTION_MS = 500

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.log(line))
  const dir = options.out ?? mkdtempSync(join(tmpdir(), `edgecd-chaos-${options.seed}-`))
  mkdirSync(dir, { recursive: true })
  const rng = new Rng(options.seed)
  log(`chaos: seed ${options.seed}, ${options.timeSec} s, folder ${dir}`)
  const cluster = new ChaosCluster({
    size: options.size ?? 3,
    dir,
    heartbeatMs: HEARTBEAT_MS,
    electionMs: ELECTION_MS,
    env: SLOW_DISK_ENV,
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  })
  const history = emptyHistory()
  try {
    await cluster.start()
    const t0 = performance.now()
    const now = (): number => performance.now() - t0
    const workload = new Workload(
      {
        endpoints: cluster.clientUrls,
        clients: options.clients ?? 8,
        keys: 5,
        watchers: 3,
        leaseWorkers: 2,
        timeoutMs: 3000,
      },
      rng.fork('workload'),
      history,
      t0,
    )
    workload.start()
    const nemesis = new Nemesis(
      cluster,
      rng.fork('nemesis'),
      now,
      history.faults,
      options.kinds ?? FAULT_KINDS,
    )
    await nemesis.run(options.timeSec * 1000, log)
    const healedAt = now()
    log(`  ${(healedAt / 1000).toFixed(1)}s healed; waiting for a leader`)
    await cluster.waitForLeader(30_000)
    const recoveredAt = now()
    await sleep(2000)
    const stoppedAt = now()
    await workload.stop(3000)
    const endTime = now()
    log(`  ${(endTime / 1000).toFixed(1)}s workload stopped; checking`)

    const converged = await waitForConvergence(cluster, 30_000)
    const client = createClient({ endpoints: cluster.clientUrls, timeoutMs: 5000 })
    const finalReads = new Map<string, string | null>()
    for (let k = 0; k < 5; k++) {
      const key = `k/${k}`
      const invoke = now()
      const res = await client.kv.get(key)
      const value = res.kvs[0] === undefined ? null : utf8(res.kvs[0].value)
      finalReads.set(key, value)
      history.ops.push({
        id: history.ops.length,
        client: -2,
        kind: 'get',
        key,
        invoke,
        complete: now(),
        outcome: 'ok',
        read: value,
        revision: res.header.revision,
      })
    }
    const leaseKeys = new Set(
      (await client.kv.get('l/', { prefix: true, keysOnly: true })).kvs.map((kv) => utf8(kv.key)),
    )
    const { events, firstRevision } = await finalHistory(client, converged.revision)
    for (const seg of history.watches.filter((s) => s.watcher === 0))
      for (const m of seg.messages)
        for (const e of m.events)
          if (e.modRevision < firstRevision)
            events.set(e.modRevision, [...(events.get(e.modRevision) ?? []), e])

    // On disk before the checkers run, so that a checker that dies still leaves the history.
    writeFileSync(join(dir, 'history.json'), JSON.stringify(history, replacer))
    const kvOps = history.ops.filter((o) => o.key.startsWith('k/'))
    const linearizability = checkLinearizable(kvOps, Math.max(30_000, options.timeSec * 500))
    const violations: Violation[] = []
    for (const k of linearizability.keys) {
      if (k.linearizable === false)
        violations.push({
          check: 'linearizable',
          message: `${k.key}: ${k.reason}`,
          excerpt: (k.excerpt ?? []).map(describeOp),
        })
    }
    violations.push(...checkRevisionsMonotonic(kvOps))
    const writes = checkWritesInHistory(history.ops, events, firstRevision)
    violations.push(...writes.violations)
    violations.push(...checkFinalState(events, finalReads))
    violations.push(...checkWatches(history.watches, events, firstRevision))
    violations.push(...checkLeases(history.leases, events, history.ops, leaseKeys, endTime, 15_000))
    if (!converged.equal) violations.push({ check: 'hashkv', message: converged.detail })
    const crashed = cluster.crashed()
    if (crashed.length > 0)
      violations.push({ check: 'crash', message: `members exited on their own: ${crashed.join(', ')}` })

    const summary = summarize(
      history,
      linearizability,
      writes.lost,
      { healedAt, recoveredAt, stoppedAt },
      converged,
    )
    const ok = violations.length === 0 && linearizability.linearizable !== false
    writeFileSync(join(dir, 'faults.json'), JSON.stringify(history.faults, replacer, 1))
    writeFileSync(
      join(dir, 'verdict.json'),
      JSON.stringify({ seed: options.seed, ok, summary, violations, linearizability }, replacer, 1),
    )
    const table = formatSummary(options.seed, summary, violations)
    writeFileSync(join(dir, 'summary.txt'), table + '\n')
    log(table)
    return { seed: options.seed, dir, ok, summary, violations, linearizability }
  } catch (error) {
    writeFileSync(join(dir, 'history.json'), JSON.stringify(history, replacer))
    for (const m of cluster.members) log(`---- ${m.name} ----\n${cluster.logTail(m.name)}`)
    throw error
  } finally {
    await cluster.stop()
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value === Infinity) return 'Infinity'
  return value
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

interface Convergence {
  readonly equal: boolean
  readonly revision: number
  readonly hash: number
  readonly detail: string
}

/** Waits until every member has the same revision, HashKV at it and Hash; reports the last state. */
async function waitForConvergence(cluster: ChaosCluster, timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs
  let detail = ''
  for (;;) {
    try {
      const states = await Promise.all(
        cluster.members.map(async (m) => {
          const client = createClient({ endpoints: [m.clientUrl], timeoutMs: 2000 })
          const status = await client.maintenance.status()
          const revision = status.header.revision
          const kv = await client.maintenance.hashKv(revision)
          const whole = await client.maintenance.hash()
          return {
            name: m.name,
            revision,
            hashKv: kv.hash,
            hash: whole.hash,
            hashRevision: whole.header.revision,
          }
        }),
      )
      detail = JSON.stringify(states)
      const first = states[0] as (typeof states)[number]
      if (
        states.every(
          (s) =>
            s.revision === first.revision &&
            s.hashKv === first.hashKv &&
            s.hash === first.hash &&
            s.hashRevision === first.revision,
        )
      )
        return { equal: true, revision: first.revision, hash: first.hashKv, detail }
    } catch (error) {
      detail = `not every member answers: ${(error as Error).message}`
    }
    if (Date.now() > deadline) {
      const revision = Math.max(0, ...[...(await cluster.statuses()).values()].map((s) => s.revision))
      return { equal: false, revision, hash: 0, detail: `members did not converge: ${detail}` }
    }
    await sleep(200)
  }
}

/** The events of every revision from the first retained one to `until`, read with one watch. */
async function finalHistory(
  client: ReturnType<typeof createClient>,
  until: number,
): Promise<{ events: Map<number, WatchEventRecord[]>; firstRevision: number }> {
  const events = new Map<number, WatchEventRecord[]>()
  let firstRevision = 1
  for (let attempt = 0; attempt < 3; attempt++) {
    events.clear()
    if (until <= firstRevision) return { events, firstRevision }
    const watch = client.watch(new Uint8Array([0]), {
      fromKey: true,
      startRevision: firstRevision,
      signal: AbortSignal.timeout(30_000),
    })
    let compacted = 0
    for await (const res of watch) {
      if (res.canceled) {
        compacted = res.compactRevision
        break
      }
      for (const e of res.events) {
        const rec = eventRecord(e)
        events.set(rec.modRevision, [...(events.get(rec.modRevision) ?? []), rec])
      }
      const last = res.events[res.events.length - 1]
      if (last !== undefined && last.kv.modRevision >= until) break
    }
    watch.cancel()
    if (compacted === 0) return { events, firstRevision }
    firstRevision = compacted
  }
  throw new Error('could not read the final event history')
}

function summarize(
  history: History,
  verdict: Verdict,
  lost: number,
  times: { readonly healedAt: number; readonly recoveredAt: number; readonly stoppedAt: number },
  converged: Convergence,
): Record<string, string | number> {
  const kv = history.ops.filter((o) => o.key.startsWith('k/'))
  const count = (outcome: KvOp['outcome']): number => kv.filter((o) => o.outcome === outcome).length
  const byKind = new Map<string, number>()
  for (const f of history.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1)
  const okTimes = [0, ...kv.filter((o) => o.outcome === 'ok').map((o) => o.complete), times.stoppedAt]
    .filter((t) => t <= times.stoppedAt)
    .sort((a, b) => a - b)
  let gap = 0
  let gapAt = 0
  for (let i = 1; i < okTimes.length; i++) {
    const d = (okTimes[i] as number) - (okTimes[i - 1] as number)
    if (d > gap) {
      gap = d
      gapAt = okTimes[i - 1] as number
    }
  }
  const leaderTimes = history.faults
    .filter((f) => f.newLeaderMs !== undefined)
    .map((f) => f.newLeaderMs as number)
  const events = history.watches.reduce((n, s) => n + s.messages.reduce((m, x) => m + x.events.length, 0), 0)
  return {
    operations: kv.length,
    ok: count('ok'),
    failed: count('failed'),
    unknown: count('unknown'),
    'watch events delivered': events,
    'watch streams': history.watches.length,
    leases: history.leases.length,
    faults: [...byKind].map(([k, n]) => `${k}×${n}`).join(' ') || 'none',
    'longest unavailability (ms)': `${gap.toFixed(0)} (from ${(gapAt / 1000).toFixed(1)}s)`,
    'new leader after leader kill (ms)': leaderTimes.map((t) => t.toFixed(0)).join(', ') || '-',
    'leader after healing (ms)': (times.recoveredAt - times.healedAt).toFixed(0),
    'final revision': converged.revision,
    'members equal (hashkv)': converged.equal ? `yes (${converged.hash})` : 'NO',
    'acknowledged writes lost': lost,
    linearizable: String(verdict.linearizable),
  }
}

export function formatSummary(
  seed: number,
  summary: Record<string, string | number>,
  violations: readonly Violation[],
): string {
  const width = Math.max(...Object.keys(summary).map((k) => k.length))
  const lines = [
    `chaos summary, seed ${seed}`,
    ...Object.entries(summary).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ]
  lines.push(`  ${'violations'.padEnd(width)}  ${violations.length === 0 ? 'none' : violations.length}`)
  for (const v of violations.slice(0, 20)) {
    lines.push(`  ✗ [${v.check}] ${v.message}`)
    for (const e of (v.excerpt ?? []).slice(-15)) lines.push(`      ${e}`)
  }
  return lines.join('\n')
}

