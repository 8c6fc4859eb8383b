/**
 * The simulator's only source of randomness: a seeded xoroshiro128+ (pure-rand) behind an
 * integer-only API. Odds are integer ratios (`chance(1, 20)`), never floats, so a scenario is a
 * function of its seed alone.
 *
 * Streams: `fork(name)` derives an independent generator from this stream's seed and a name
 * (cluster, network, disk, workload, faults, node-3, ...). A fork depends only on (seed, name),
 * not on how many numbers were drawn before, so adding draws to one stream never perturbs another.
 *
 * Seeds are unsigned 32-bit integers, printed as `0x…` (see {@link formatSeed}).
 *
 * @module
 */
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { fmix, hashString, mix } from './hash.ts'

/** Odds of `num` in `den`. Invariant: 0 ≤ num ≤ den, den ≥ 1, both integers. */
export interface Ratio {
  readonly num: number
  readonly den: number
}

export function formatRatio(r: Ratio): string {
  return `${r.num}/${r.den}`
}

export function formatSeed(seed: number): string {
  return `0x${(seed >>> 0).toString(16)}`
}

/** Parses `0x1f`, `31`; throws on anything that is not an unsigned 32-bit integer. */
export function parseSeed(text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`not a 32-bit seed: ${text}`)
  return n
}

export class Prng {
  readonly seed: number
  #rng: RandomGenerator

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`bad seed ${seed}`)
    this.seed = seed
    // Four state words mixed from the seed; never all zero (fmix is a bijection and 1..4 differ).
    const words = [1, 2, 3, 4].map((k) => fmix(mix(seed, k)) | 0)
    this.#rng = xoroshiro128plusFromState(words)
  }

  /** An independent stream named `name`, a function of (this.seed, name) only. */
  fork(name: string): Prng {
    return new Prng(fmix(mix(hashString(name), this.seed)))
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    return uniformInt(this.#rng, 0, 0xffffffff)
  }

  /** Uniform in [0, n). Requires an integer n ≥ 1. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`int(${n})`)
    return uniformInt(this.#rng, 0, n - 1)
  }

  /** Uniform in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`range(${lo}, ${hi})`)
    return lo + this.int(hi - lo + 1)
  }

  /** True with odds num/den. */
  chance(num: number, den: number): boolean {
    if (!Number.isInteger(num) || !Number.isInteger(den) || num < 0 || den < 1 || num > den)
      throw new Error(`chance(${num}, ${den})`)
    if (num === 0) return false
    if (num === den) return true
    return this.int(den) < num
  }

  /** True with odds `r`. */
  ratio(r: Ratio): boolean {
    return this.chance(r.num, r.den)
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** Fisher–Yates, in place; returns `items`. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i] as T
      items[i] = items[j] as T
      items[j] = t
    }
    return items
  }
}
