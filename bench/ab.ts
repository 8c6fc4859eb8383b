/**
 * Before/after comparison of two edgecd checkouts on this (noisy) machine: for each of `--rounds`
 * rounds, starts a 3-member cluster from checkout A, runs the loads through its leader, stops it,
 * then the same for checkout B (alternating, so drifting background load hits both alike), and
 * prints the median req/s, p50, p99 and leader CPU per request of each, with the B/A ratio.
 *
 *   node --import tsx bench/ab.ts --a /path/to/before --b /path/to/after [--rounds 3]
 *        [--loads put,get-linearizable] [--connections 64] [--duration 5s] [--idle-wait 20s]
 *
 * A checkout is a directory holding src/, workers/ and node_modules (a symlink will do).
 *
 * @module
 */
import { commandLine, usageCheck, UsageError, wholeNumber } from '../test/command-line.ts'
import { resolve } from 'node:path'
import { startEdgecd } from './lib/clusters.ts'
import { parseDurationS } from './lib/options.ts'
import { leaderCores, seedGetKeys, throughputRun, type RunResult } from './lib/suite.ts'
import { LOAD_NAMES, type LoadName } from './lib/wrk.ts'

const USAGE = `usage: node --import tsx bench/ab.ts --a DIR --b DIR [options]
  --rounds 3                    alternations of A and B
  --loads put,get-linearizable
  --connections 64
  --duration 5s
  --idle-load 1.5               wait before each run until the load average is below this …
  --idle-wait 20s               … but at most this long`
const values = commandLine(USAGE, {
  a: { type: 'string' },
  b: { type: 'string' },
  rounds: { type: 'string', default: '3' },
  loads: { type: 'string', default: 'put,get-linearizable' },
  connections: { type: 'string', default: '64' },
  duration: { type: 'string', default: '5s' },
  'idle-load': { type: 'string', default: '1.5' },
  'idle-wait': { type: 'string', default: '20s' },
})
const { a, b, rounds, loads, conns, durationS, idleThreshold, idleWaitMs } = usageCheck(USAGE, () => {
  if (values.a === undefined || values.b === undefined) throw new UsageError('--a and --b are both needed')
  const loads = values.loads.split(',')
  for (const l of loads)
    if (!(LOAD_NAMES as readonly string[]).includes(l)) throw new UsageError(`unknown load ${l} (one of ${LOAD_NAMES.join(', ')})`)
  const idleThreshold = Number(values['idle-load'])
  if (!(idleThreshold > 0)) throw new UsageError(`--idle-load: not a positive number: ${values['idle-load']}`)
  return {
    a: values.a,
    b: values.b,
    rounds: wholeNumber('rounds', values.rounds, 1),
    loads: loads as LoadName[],
    conns: values.connections.split(',').map((c) => wholeNumber('connections', c, 1)),
    durationS: parseDurationS(values.duration),
    idleThreshold,
    idleWaitMs: parseDurationS(values['idle-wait']) * 1000,
  }
})
const variants = { A: resolve(a), B: resolve(b) }
const opts = { durationS, idleThreshold, idleWaitMs, log: (s: string) => console.log(s) }
const results: Record<string, RunResult[]> = {}
const key = (v: string, load: string, c: number): string => `${v} ${load} c=${c}`

for (let round = 1; round <= rounds; round++)
  for (const [v, root] of Object.entries(variants)) {
    const cluster = await startEdgecd({ root, gateway: false })
    try {
      const leader = await cluster.leader()
      await seedGetKeys(leader.url)
      for (const load of loads)
        for (const c of conns) {
          const r = await throughputRun(cluster, await cluster.leader(), 'leader', load, c, opts)
          ;(results[key(v, load, c)] ??= []).push(r)
          const lead = leaderCores(r)
          console.log(
            `round ${round} ${key(v, load, c)}: ${r.figures.rps.toFixed(0)} req/s, p50 ${r.figures.p50Ms.toFixed(1)} ms, ` +
              `p99 ${r.figures.p99Ms.toFixed(1)} ms, leader ${lead.toFixed(2)} cores, others ${r.otherCores}, errors ${r.figures.non2xx + r.figures.socketErrors}`,
          )
        }
    } finally {
      await cluster.stop()
    }
  }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2
}
const leaderCpuPerReqUs = (r: RunResult): number => (leaderCores(r) / r.figures.rps) * 1e6

console.log('\n| load | conns | A req/s | B req/s | B/A | A p50 / p99 ms | B p50 / p99 ms | leader CPU µs/req A → B |')
console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
for (const load of loads)
  for (const c of conns) {
    const a = results[key('A', load, c)] ?? []
    const b = results[key('B', load, c)] ?? []
    const m = (rs: RunResult[], f: (r: RunResult) => number): number => median(rs.map(f))
    const ra = m(a, (r) => r.figures.rps)
    const rb = m(b, (r) => r.figures.rps)
    console.log(
      `| ${load} | ${c} | ${ra.toFixed(0)} | ${rb.toFixed(0)} | ${(rb / ra).toFixed(2)}× | ` +
        `${m(a, (r) => r.figures.p50Ms).toFixed(1)} / ${m(a, (r) => r.figures.p99Ms).toFixed(1)} | ` +
        `${m(b, (r) => r.figures.p50Ms).toFixed(1)} / ${m(b, (r) => r.figures.p99Ms).toFixed(1)} | ` +
        `${m(a, leaderCpuPerReqUs).toFixed(0)} → ${m(b, leaderCpuPerReqUs).toFixed(0)} |`,
    )
  }
