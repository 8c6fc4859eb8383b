/**
 * The comparison's Markdown: throughput and latency per load and connection count (etcd, edgecd
 * through its leader, edgecd through its gateway, and the edgecd/etcd ratios), watch delivery,
 * CPU per process, memory and disk after loading keys, and failover.
 *
 * @module
 */
import { medianRun, ratioRange } from './rounds.ts'
import { perProcess, WARMUP_S, type FailoverResult, type LoadKeysResult, type RunResult } from './suite.ts'

export interface Report {
  readonly date: string
  readonly machine: string
  readonly versions: Record<string, string>
  readonly options: Record<string, unknown>
  readonly runs: RunResult[]
  readonly loaded: Record<string, LoadKeysResult>
  readonly failover: Record<string, FailoverResult>
  readonly notes: string[]
}

const num = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1))
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`
const mib = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? '–' : (b / 1024 / 1024).toFixed(0))

/** The runs (one per round) of `system` through `via` of `load` at `c` connections. */
function runsOf(runs: readonly RunResult[], system: string, via: string, load: string, c: number): RunResult[] {
  return runs.filter((r) => r.system === system && r.via === via && r.load === load && r.connections === c)
}

/** Errors over all of `runs`; '–' when there are none. */
const errors = (runs: readonly RunResult[]): string =>
  runs.length === 0 ? '–' : String(runs.reduce((n, r) => n + r.figures.non2xx + r.figures.socketErrors, 0))

/** The ratio of the median runs, then (over several rounds) the range of the per-round ratios. */
function ratioCell(runs: readonly RunResult[], base: readonly RunResult[]): string {
  const median = ratio(medianRun(runs)?.figures.rps, medianRun(base)?.figures.rps)
  const range = ratioRange(runs, base)
  return range === null || range.rounds < 2 ? median : `${median} (${range.min.toFixed(2)}–${range.max.toFixed(2)})`
}

/** `| round ` cells, when the report has rounds. */
const roundCell = (r: RunResult, rounds: boolean): string => (rounds ? `| ${r.round ?? '–'} ` : '')

export function renderMarkdown(rep: Report): string {
  const out: string[] = []
  const loads = [...new Set(rep.runs.map((r) => r.load))]
  const conns = [...new Set(rep.runs.map((r) => r.connections))].sort((a, b) => a - b)
  const loadavgs = rep.runs.map((r) => r.idle.loadavg[0])
  const others = rep.runs.map((r) => r.otherCores)
  out.push(`# edgecd vs etcd — ${rep.date}`, '')
  out.push(`- Machine: ${rep.machine}`)
  out.push(`- Versions: ${Object.entries(rep.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  out.push(`- Options: ${Object.entries(rep.options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`)
  if (loadavgs.length > 0)
    out.push(
      `- How busy the machine was: 1-min load average at the start of a run ${Math.min(...loadavgs).toFixed(2)}–${Math.max(...loadavgs).toFixed(2)}; ` +
        `CPU used by other processes during a run ${Math.min(...others).toFixed(2)}–${Math.max(...others).toFixed(2)} cores; ` +
        `${rep.runs.filter((r) => r.idle.busy).length} of ${rep.runs.length} runs started on a busy machine`,
    )
  out.push(
    '- Same API for both: the JSON loads through etcd\'s grpc-gateway on the leader\'s client port, and edgecd\'s',
    `  leader member (L) and gateway (G); wrk, keep-alive, threads = min(2, connections). The grpc-* loads: etcd's`,
    `  gRPC API on the same ports, h2load with one thread, "conns" calls in flight over min(conns, 4) connections,`,
    `  every call the same message (grpc-put: one key per run). Each run follows ${WARMUP_S} s of the same load, not measured.`,
  )
  const rounds = rep.runs.some((r) => r.round !== undefined)
  if (rounds) {
    const n = Math.max(...rep.runs.map((r) => r.round ?? 1))
    out.push(
      `- ${n} rounds, the systems alternating: each throughput and latency figure is from the run of median req/s among a`,
      `  system's ${n} runs (for an even count, the lower middle one), each ratio is of those medians, and in brackets are`,
      "  the lowest and highest ratio of one round's runs; errors are counted over all rounds.",
    )
  }
  for (const n of rep.notes) out.push(`- ${n}`)
  out.push('')

  out.push('## Throughput and latency', '')
  out.push(
    '| load | conns | etcd req/s | etcd p50 / p99 ms | edgecd L req/s | L p50 / p99 ms | L/etcd | edgecd G req/s | G p50 / p99 ms | G/etcd | errors e/L/G |',
  )
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const load of loads)
    for (const c of conns) {
      const es = runsOf(rep.runs, 'etcd', 'leader', load, c)
      const ls = runsOf(rep.runs, 'edgecd', 'leader', load, c)
      const gs = runsOf(rep.runs, 'edgecd', 'gateway', load, c)
      if (es.length + ls.length + gs.length === 0) continue
      const [e, l, g] = [medianRun(es), medianRun(ls), medianRun(gs)]
      const lat = (r: RunResult | undefined): string => (r === undefined ? '–' : `${ms(r.figures.p50Ms)} / ${ms(r.figures.p99Ms)}`)
      out.push(
        `| ${load} | ${c} | ${num(e?.figures.rps)} | ${lat(e)} | ${num(l?.figures.rps)} | ${lat(l)} | ${ratioCell(ls, es)} | ` +
          `${num(g?.figures.rps)} | ${lat(g)} | ${ratioCell(gs, es)} | ${errors(es)}/${errors(ls)}/${errors(gs)} |`,
      )
    }
  out.push('')

  const watches = rep.runs.filter((r) => r.watch !== undefined)
  if (watches.length > 0) {
    out.push('## Watch delivery (one watcher on the prefix the puts write)', '')
    out.push(`${rounds ? '| round ' : ''}| system | via | conns | puts/s | events/s | delivered / expected | lag p50 / p99 ms (probe put sent → event) |`)
    out.push(`${rounds ? '|---:' : ''}|---|---|---:|---:|---:|---:|---:|`)
    for (const r of watches) {
      const w = r.watch!
      out.push(
        `${roundCell(r, rounds)}| ${r.system} | ${r.via} | ${r.connections} | ${num(r.figures.rps)} | ${num(w.eventsPerS)} | ${w.delivered} / ${w.expected} | ` +
          `${ms(w.lagP50Ms)} / ${ms(w.lagP99Ms)} |`,
      )
    }
    out.push('')
  }

  out.push('## CPU (cores used on average during each run; * = leader)', '')
  out.push(
    'Waiting for a CPU: seconds per second that the threads of each process spent runnable but not running ' +
      '(/proc schedstat); on a host whose cores are all busy, what each process lost to the others.',
    '',
  )
  out.push(`${rounds ? '| round ' : ''}| system | via | load | conns | processes | waiting for a CPU | others on the machine | load avg at start |`)
  out.push(`${rounds ? '|---:' : ''}|---|---|---|---:|---|---|---:|---:|`)
  for (const r of rep.runs) {
    out.push(
      `${roundCell(r, rounds)}| ${r.system} | ${r.via} | ${r.load} | ${r.connections} | ${perProcess(r.cpu, ', ')} | ${perProcess(r.waits, ', ')} | ${r.otherCores.toFixed(2)} | ${r.idle.loadavg[0].toFixed(2)} |`,
    )
  }
  out.push('')

  const systems = Object.keys(rep.loaded)
  if (systems.length > 0) {
    out.push('## Memory and disk after loading keys (256-byte values, 64 requests in flight)', '')
    out.push('| system | keys | load time s (puts/s) | RSS per member before → after MiB | disk per member MiB | errors |')
    out.push('|---|---:|---:|---|---|---:|')
    for (const s of systems) {
      const l = rep.loaded[s]!
      const rss = Object.keys(l.rssAfter).map((k) => `${k} ${mib(l.rssBefore[k])} → ${mib(l.rssAfter[k])}`).join(', ')
      const disk = Object.entries(l.disk).map(([k, v]) => `${k} ${mib(v)}`).join(', ')
      out.push(`| ${s} | ${num(l.keys)} | ${l.seconds.toFixed(1)} (${num(l.keys / l.seconds)}) | ${rss} | ${disk} | ${l.errors} |`)
    }
    out.push('')
  }

  const fo = Object.keys(rep.failover)
  if (fo.length > 0) {
    out.push('## Failover (kill -9 of the leader → first successful put; election timeout 1000 ms for both)', '')
    out.push('| system | killed | new leader | to a write on a survivor ms | through the gateway ms |')
    out.push('|---|---|---|---:|---:|')
    for (const s of fo) {
      const f = rep.failover[s]!
      out.push(`| ${s} | ${f.killed} | ${f.newLeader} | ${num(f.toWriteMs)} | ${f.toWriteViaGatewayMs === null ? '–' : num(f.toWriteViaGatewayMs)} |`)
    }
    out.push('')
  }
  return out.join('\n')
}
