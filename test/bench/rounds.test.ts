/** Comparison rounds: the median run, the per-round ratio range, and how the report shows them. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { medianRun, ratioRange } from '../../bench/lib/rounds.ts'
import { renderMarkdown, type Report } from '../../bench/lib/report.ts'
import type { RunResult } from '../../bench/lib/suite.ts'

function run(system: string, via: string, rps: number, round: number | undefined, errors = 0): RunResult {
  return {
    system,
    via,
    load: 'put',
    connections: 64,
    figures: { requests: rps * 5, durationS: 5, rps, p50Ms: 1000 / rps, p90Ms: 2, p99Ms: 3, maxMs: 4, non2xx: errors, socketErrors: 0 },
    cpu: { [`${system}1*`]: 1 },
    waits: {},
    otherCores: 0,
    idle: { loadavg: [0.5, 0.5, 0.5], waitedS: 0, busy: false },
    ...(round === undefined ? {} : { round }),
  }
}

function report(runs: RunResult[]): Report {
  return { date: 'd', machine: 'm', versions: {}, options: {}, runs, loaded: {}, failover: {}, notes: [] }
}

/** The throughput table's row for `load`, split into its cells. */
function row(md: string, load: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${load} |`))
  assert.ok(line !== undefined, `no row for ${load} in:\n${md}`)
  return line.split('|').slice(1, -1).map((c) => c.trim())
}

test('the median run is the middle one by throughput, the lower middle one for an even count', () => {
  const runs = [run('etcd', 'leader', 300, 1), run('etcd', 'leader', 100, 2), run('etcd', 'leader', 200, 3)]
  assert.equal(medianRun(runs)?.figures.rps, 200)
  assert.equal(medianRun(runs.slice(0, 2))?.figures.rps, 100)
  assert.equal(medianRun([]), undefined)
})

test('ratios are taken within a round, and their range reported', () => {
  const etcd = [run('etcd', 'leader', 100, 1), run('etcd', 'leader', 200, 2), run('etcd', 'leader', 400, 3)]
  // Round 2 has no edgecd run: it gives no ratio.
  const edgecd = [run('edgecd', 'leader', 150, 1), run('edgecd', 'leader', 200, 3)]
  assert.deepEqual(ratioRange(edgecd, etcd), { min: 0.5, max: 1.5, rounds: 2 })
  assert.equal(ratioRange([run('edgecd', 'leader', 150, undefined)], etcd), null)
})

test('a report in rounds shows median figures, the ratio of the medians with its range, and errors of all rounds', () => {
  const md = renderMarkdown(
    report([
      run('etcd', 'leader', 100, 1),
      run('edgecd', 'leader', 250, 1, 2),
      run('etcd', 'leader', 300, 2),
      run('edgecd', 'leader', 330, 2),
      run('etcd', 'leader', 200, 3),
      run('edgecd', 'leader', 300, 3, 1),
    ]),
  )
  const cells = row(md, 'put')
  assert.equal(cells[2], '200') // etcd's median req/s
  assert.equal(cells[4], '300') // edgecd's
  assert.equal(cells[5], `${(1000 / 300).toFixed(2)} / 3.00`) // the latencies of edgecd's median run
  assert.equal(cells[6], '1.50× (1.10–2.50)')
  assert.equal(cells[10], '0/3/–')
  assert.match(md, /3 rounds, the systems alternating/)
  assert.match(md, /\| round \| system \| via \| load \|/)
  assert.match(md, /\| 2 \| edgecd \| leader \| put \| 64 \|/)
})

test('a report of one round has no round column and a plain ratio', () => {
  const md = renderMarkdown(report([run('etcd', 'leader', 100, undefined), run('edgecd', 'leader', 150, undefined)]))
  assert.equal(row(md, 'put')[6], '1.50×')
  assert.doesNotMatch(md, /rounds|\| round \|/)
})
