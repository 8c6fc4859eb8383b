/**
 * How scenarios are named: the exact command that replays one seed, and how a swarm derives its
 * seeds from one printed base seed. Shared by vopr.ts and the tests, so a failing test prints a
 * command that reproduces it bit for bit.
 *
 * @module
 */
import type { Driver, UnsafeKnob } from './options.ts'
import { Prng, formatSeed } from './prng.ts'

/** The command that replays `seed` exactly. */
export function replayCommand(seed: number, unsafe: UnsafeKnob | null = null, driver: Driver = 'raft'): string {
  const knob = unsafe ? ` --unsafe ${unsafe}` : ''
  const drv = driver === 'raft' ? '' : ` --driver ${driver}`
  return `npm run sim -- --seed ${formatSeed(seed)}${drv}${knob}`
}

/** The first `n` seeds of the swarm with base seed `base` (a function of `base` only). */
export function swarmSeeds(base: number, n: number): number[] {
  const p = new Prng(base)
  return Array.from({ length: n }, () => p.u32())
}
