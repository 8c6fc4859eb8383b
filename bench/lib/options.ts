/**
 * Command-line options shared by bench/compare.ts and bench/run.ts.
 *
 * @module
 */
import { commandLine, usageCheck, UsageError, wholeNumber, type CommandLineValues } from '../../test/command-line.ts'
import type { Load } from './suite.ts'

export interface BenchOptions {
  readonly durationS: number
  readonly connections: readonly number[]
  readonly loads: readonly Load[]
  readonly keys: number
  readonly idleThreshold: number
  readonly idleWaitMs: number
  readonly outDir: string
  readonly systems: readonly string[]
  readonly gateway: boolean
  /** Skip the runs through the leader (only the gateway's). */
  readonly gatewayOnly: boolean
  /** Processes serving edgecd's gateway port (its `--processes`). */
  readonly gatewayProcesses: number
  readonly failover: boolean
  readonly profileDir: string | null
  readonly save: boolean
  /** The edgecd checkout to run (default: this one). */
  readonly root: string | null
  /** How many times compare.ts runs every system, alternating them (keys and failover in the first round only). */
  readonly rounds: number
}

const ALL_LOADS: readonly Load[] = [
  'put', 'get-linearizable', 'get-serializable', 'get-prefix', 'txn-create', 'watch', 'grpc-put', 'grpc-get-linearizable', 'grpc-get-serializable',
]

/** True when `loads` include a gRPC one (driven by h2load, not wrk). */
export function needsH2load(loads: readonly Load[]): boolean {
  return loads.some((l) => l.startsWith('grpc-'))
}

/** The load generators `loads` need: commands, and the Debian packages that have them. */
export function generatorTools(loads: readonly Load[]): { commands: string[]; packages: string[] } {
  return needsH2load(loads) ? { commands: ['wrk', 'h2load'], packages: ['wrk', 'nghttp2-client'] } : { commands: ['wrk'], packages: ['wrk'] }
}

/** `10s`, `500ms`, `2m`, or a bare number of seconds. */
export function parseDurationS(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (m === null) throw new UsageError(`not a duration: ${text}`)
  const n = Number(m[1])
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

export const USAGE = `options:
  --duration 10s          length of each run (--quick: 3s)
  --connections 1,16,64,256  (for gRPC loads: calls in flight, over up to 4 connections)
  --loads put,get-linearizable,get-serializable,get-prefix,txn-create,watch,grpc-put,grpc-get-linearizable,grpc-get-serializable
                          (grpc-*: etcd's gRPC API driven by h2load; run.ts: the JSON ones by default)
  --keys 100000           keys loaded before measuring RSS and disk (0: skip; --quick: 20000)
  --idle-load 1.5         wait before each run until the 1-min load average is below this …
  --idle-wait 60s         … but at most this long (then run anyway and record it)
  --systems etcd,edgecd   (compare only)
  --rounds 1              (compare only) run the systems this many times, alternating; the tables
                          give each figure's median run and the range of the per-round ratios
  --no-gateway            skip the edgecd-through-gateway runs
  --gateway               (run.ts) also run every load through the gateway
  --gateway-only          run edgecd loads through the gateway only, not the leader
  --gateway-processes 1   processes serving edgecd's gateway port (its --processes); their CPU is the gateway's
  --no-failover           skip the kill -9 failover run
  --profile DIR           run edgecd members (and the gateway) under node --cpu-prof, profiles in DIR
  --out bench/results     where the Markdown and JSON go
  --quick                 3 s runs, 20k keys, connections 1,64
  --save                  (run.ts) also write the JSON to --out
  --root DIR              the edgecd checkout to run (default: this one), for before/after runs`

const OPTIONS = {
  duration: { type: 'string' },
  connections: { type: 'string' },
  loads: { type: 'string' },
  keys: { type: 'string' },
  'idle-load': { type: 'string' },
  'idle-wait': { type: 'string' },
  systems: { type: 'string' },
  'no-gateway': { type: 'boolean' },
  gateway: { type: 'boolean' },
  'gateway-only': { type: 'boolean' },
  'gateway-processes': { type: 'string' },
  'no-failover': { type: 'boolean' },
  profile: { type: 'string' },
  out: { type: 'string' },
  quick: { type: 'boolean' },
  save: { type: 'boolean' },
  root: { type: 'string' },
  rounds: { type: 'string' },
} as const

export function parseOptions(argv: readonly string[], defaults: Partial<BenchOptions>): BenchOptions {
  const values = commandLine(USAGE, OPTIONS, argv)
  return usageCheck(USAGE, () => derive(values, defaults))
}

function derive(values: CommandLineValues<typeof OPTIONS>, defaults: Partial<BenchOptions>): BenchOptions {
  const quick = values.quick === true
  const loads = values.loads === undefined ? (defaults.loads ?? ALL_LOADS) : (list(values.loads) as Load[])
  for (const l of loads) if (!ALL_LOADS.includes(l)) throw new UsageError(`unknown load ${l} (one of ${ALL_LOADS.join(', ')})`)
  const connections =
    values.connections === undefined
      ? quick
        ? [1, 64]
        : (defaults.connections ?? [1, 16, 64, 256])
      : list(values.connections).map(Number)
  for (const c of connections) if (!Number.isInteger(c) || c < 1 || c > 10_000) throw new UsageError(`bad connection count ${c}`)
  const systems = values.systems === undefined ? ['etcd', 'edgecd'] : list(values.systems)
  for (const s of systems) if (s !== 'etcd' && s !== 'edgecd') throw new UsageError(`unknown system ${s} (etcd or edgecd)`)
  const keys = values.keys === undefined ? (quick ? 20_000 : (defaults.keys ?? 100_000)) : Number(values.keys)
  if (!Number.isInteger(keys) || keys < 0) throw new UsageError(`bad --keys ${values.keys}`)
  const rounds = values.rounds === undefined ? 1 : wholeNumber('rounds', values.rounds, 1)
  return {
    durationS: values.duration === undefined ? (quick ? 3 : (defaults.durationS ?? 10)) : parseDurationS(values.duration),
    connections,
    loads,
    keys,
    idleThreshold: values['idle-load'] === undefined ? 1.5 : Number(values['idle-load']),
    idleWaitMs: (values['idle-wait'] === undefined ? (defaults.idleWaitMs ?? 60_000) / 1000 : parseDurationS(values['idle-wait'])) * 1000,
    outDir: values.out ?? 'bench/results',
    systems,
    gateway:
      values['no-gateway'] !== true &&
      (values.gateway === true || values['gateway-only'] === true || (defaults.gateway ?? true)),
    gatewayOnly: values['no-gateway'] !== true && values['gateway-only'] === true,
    gatewayProcesses: values['gateway-processes'] === undefined ? 1 : wholeNumber('gateway-processes', values['gateway-processes'], 1),
    failover: values['no-failover'] !== true && (defaults.failover ?? true),
    profileDir: values.profile ?? null,
    save: values.save === true,
    root: values.root ?? null,
    rounds,
  }
}

/** What a report's options say of the gateway's processes: nothing for the usual one. */
export function gatewayProcessesOption(o: BenchOptions): { gatewayProcesses?: number } {
  return o.gatewayProcesses === 1 ? {} : { gatewayProcesses: o.gatewayProcesses }
}

/** `2025-01-31T14-05` (local time), for file names. */
export function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}`
}
