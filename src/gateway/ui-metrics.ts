/**
 * The few numbers the dashboard draws, read from a member's Prometheus text (`GET /metrics`): a
 * minimal parser of the exposition format (samples only; `# HELP`/`# TYPE` lines, timestamps and
 * exemplars are skipped) and the summary the dashboard wants from it. Portable: runs on Workers.
 *
 * @module
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A histogram's cumulative buckets (`le` → count), count and sum. */
export interface HistogramSummary {
  readonly count: number
  readonly sum: number
  /** [upper bound in seconds, cumulative count], ascending, finite bounds only (`+Inf` is `count`). */
  readonly buckets: ReadonlyArray<readonly [number, number]>
}

/** What /ui/api/cluster reports per member. Counters are totals since the member started. */
export interface MetricsSummary {
  /** `etcd_server_proposals_applied_total`. */
  readonly applied: number
  /** `etcd_server_proposals_committed_total` (the commit index). */
  readonly committed: number
  readonly failedProposals: number
  readonly pendingProposals: number
  readonly leaderChanges: number
  /** HTTP requests served (`edgecd_http_request_duration_seconds_count`, every label summed). */
  readonly requests: number
  /** `etcd_disk_wal_fsync_duration_seconds`. */
  readonly fsync: HistogramSummary
  readonly watchers: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/

/** Parses the `name{labels} value` lines of Prometheus text; malformed lines are skipped. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (m === null) continue
    const value = parseValue(m[4] as string)
    if (value === undefined) continue
    samples.push({ name: m[1] as string, labels: parseLabels(m[3] ?? ''), value })
  }
  return samples
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  const n = Number(text)
  return Number.isNaN(n) && text !== 'NaN' ? undefined : n
}

/** `a="x",b="y \"q\""` → { a: 'x', b: 'y "q"' }. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

function total(samples: readonly Sample[], name: string): number {
  let sum = 0
  for (const s of samples) if (s.name === name && Number.isFinite(s.value)) sum += s.value
  return sum
}

function histogram(samples: readonly Sample[], name: string): HistogramSummary {
  const byBound = new Map<number, number>()
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue
    const le = parseValue(s.labels['le'] ?? '')
    if (le !== undefined && Number.isFinite(le)) byBound.set(le, (byBound.get(le) ?? 0) + s.value)
  }
  const buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0])
  return { count: total(samples, `${name}_count`), sum: total(samples, `${name}_sum`), buckets }
}

export function summarizeMetrics(text: string): MetricsSummary {
  const samples = parsePrometheus(text)
  return {
    applied: total(samples, 'etcd_server_proposals_applied_total'),
    committed: total(samples, 'etcd_server_proposals_committed_total'),
    failedProposals: total(samples, 'etcd_server_proposals_failed_total'),
    pendingProposals: total(samples, 'etcd_server_proposals_pending'),
    leaderChanges: total(samples, 'etcd_server_leader_changes_seen_total'),
    requests: total(samples, 'edgecd_http_request_duration_seconds_count'),
    fsync: histogram(samples, 'etcd_disk_wal_fsync_duration_seconds'),
    watchers: total(samples, 'etcd_debugging_mvcc_watcher_total'),
  }
}
