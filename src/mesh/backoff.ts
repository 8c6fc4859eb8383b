/**
 * Reconnect delays: exponential backoff with "equal jitter" (half the ceiling fixed, half drawn),
 * so that members restarting together do not redial in lockstep, yet never retry faster than
 * half the ceiling.
 *
 * @module
 */

export interface BackoffPolicy {
  /** Ceiling of the first delay, in ms. */
  readonly initialMs: number
  /** Largest ceiling, in ms. */
  readonly maxMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 5_000 }

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry), in whole ms, within
 * [ceiling / 2, ceiling] where ceiling = min(maxMs, initialMs · 2^attempt).
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
