/**
 * Limits failed authentications per client address: after `max` failures within `windowMs`,
 * further `authenticate` calls from that address are refused with etcd's
 * `etcdserver: too many requests` (429 / 8) until the oldest failure leaves the window. The
 * refusal comes before any password hashing, so guessing also costs the member no CPU.
 * Memory is bounded: at most `maxAddresses` addresses are tracked (oldest dropped first).
 *
 * @module
 */
import { AuthErrors } from './auth-errors.ts'

export interface FailureLimits {
  readonly max: number
  readonly windowMs: number
  readonly maxAddresses: number
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { max: 5, windowMs: 10_000, maxAddresses: 10_000 }

export class FailureLimiter {
  readonly #limits: FailureLimits
  readonly #now: () => number
  /** address → failure times, oldest first; Map order = least recently failed first. */
  readonly #failures = new Map<string, number[]>()

  constructor(limits: FailureLimits, now: () => number) {
    this.#limits = limits
    this.#now = now
  }

  /** Throws `too many requests` while `address` is over the limit. */
  check(address: string): void {
    if (this.#recent(address).length >= this.#limits.max) throw AuthErrors.tooManyRequests()
  }

  failed(address: string): void {
    const times = this.#recent(address)
    times.push(this.#now())
    this.#failures.delete(address)
    this.#failures.set(address, times)
    if (this.#failures.size > this.#limits.maxAddresses) {
      const oldest = this.#failures.keys().next().value
      if (oldest !== undefined) this.#failures.delete(oldest)
    }
  }

  succeeded(address: string): void {
    this.#failures.delete(address)
  }

  #recent(address: string): number[] {
    const since = this.#now() - this.#limits.windowMs
    const times = (this.#failures.get(address) ?? []).filter((t) => t > since)
    if (times.length === 0) this.#failures.delete(address)
    return times
  }
}
