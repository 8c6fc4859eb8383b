/**
 * The figures of a comparison run in rounds (compare.ts --rounds N): every system driven N times,
 * the systems alternating. This machine's speed drifts by tens of percent from one minute to the
 * next, so a single run of each system can put that drift into their ratio; a round's ratio
 * compares runs a few minutes apart at most. The tables give each figure's median run, and each
 * ratio with the range of the per-round ratios.
 *
 * @module
 */
import type { RunResult } from './suite.ts'

/**
 * The run of median throughput among `runs` (of one system, target, load and connection count):
 * for an even count, the lower of the two middle ones. Undefined when there is none.
 */
export function medianRun(runs: readonly RunResult[]): RunResult | undefined {
  const sorted = [...runs].sort((a, b) => a.figures.rps - b.figures.rps)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The lowest and highest throughput ratio of a run of `runs` to the run of `base` in the same round. */
export interface RatioRange {
  readonly min: number
  readonly max: number
  /** Rounds that had a run in both. */
  readonly rounds: number
}

/** See {@link RatioRange}; null when no round has a run in both (or runs carry no round). */
export function ratioRange(runs: readonly RunResult[], base: readonly RunResult[]): RatioRange | null {
  const ratios: number[] = []
  for (const r of runs) {
    if (r.round === undefined) continue
    const b = base.find((x) => x.round === r.round)
    if (b !== undefined && b.figures.rps > 0) ratios.push(r.figures.rps / b.figures.rps)
  }
  return ratios.length === 0 ? null : { min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios.length }
}
