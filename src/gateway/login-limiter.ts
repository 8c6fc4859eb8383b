/**
 * The gateway's count of failed logins per client address, in a sliding window: at most `max`
 * failures within `windowMs`, after which the client is refused until enough of them are
 * `windowMs` old. (The members keep their own, finer count per address and user name:
 * src/member/auth-limiter.ts. The layering keeps the gateway from sharing that code.)
 *
 * The state is this object's memory: one per gateway app. On Node that is the gateway process;
 * on Workers it is one isolate, and every isolate (and every Cloudflare location) keeps its own,
 * so a client spread over several isolates gets the limit in each.
 *
 * Invariants:
 * - An attempt counts as a failure from the moment it begins ({@link LoginLimiter.begin}) until it
 *   is forgiven (its answer was not "authentication failed"): concurrent guesses cannot slip past
 *   the limit while the cluster answers them. A success forgives only itself.
 * - Memory is bounded: a client holds at most `max` entries (begin refuses at the limit); at most
 *   `maxClients` clients are tracked, the least recently counted dropped first (and clients with
 *   nothing left in the window before that).
 * - Time comes only from the injected clock.
 *
 * @module
 */

export interface LoginLimits {
  /** Failed logins of one client within `windowMs` before it is refused; at least 1. */
  readonly max: number
  readonly windowMs: number
  /** Clients tracked at most. */
  readonly maxClients: number
}

/**
 * One failure fewer than a member allows one address and one user name in the same window (50 in
 * 10 s): the members see every client of a gateway at the gateway's address, so one client alone
 * cannot use up a member's count for a name and hold that name up for the gateway's other clients.
 */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { max: 49, windowMs: 10_000, maxClients: 10_000 }

/** One login under way: counted as a failure until forgiven. */
export interface LoginAttempt {
  /** It did not fail authentication; idempotent. */
  forgive(): void
}

export class LoginLimiter {
  readonly #limits: LoginLimits
  readonly #now: () => number
  /** client → times of its failures, oldest first; Map order = least recently counted first. */
  readonly #times = new Map<string, number[]>()

  constructor(limits: LoginLimits, now: () => number) {
    this.#limits = limits
    this.#now = now
  }

  /** Starts a login of `client`; null when the client is at its limit (refuse it). */
  begin(client: string): LoginAttempt | null {
    const now = this.#now()
    const since = now - this.#limits.windowMs
    const times = this.#times.get(client) ?? []
    while (times.length > 0 && (times[0] as number) <= since) times.shift()
    if (times.length >= this.#limits.max) return null
    times.push(now)
    this.#times.delete(client)
    this.#times.set(client, times)
    this.#prune(since)
    let counted = true
    return {
      forgive: () => {
        if (!counted) return
        counted = false
        const i = times.lastIndexOf(now)
        if (i >= 0) times.splice(i, 1)
        if (times.length === 0 && this.#times.get(client) === times) this.#times.delete(client)
      },
    }
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#times.size
  }

  #prune(since: number): void {
    for (const [client, times] of this.#times) {
      if (times.length > 0 && (times[times.length - 1] as number) > since) break
      this.#times.delete(client)
    }
    while (this.#times.size > this.#limits.maxClients) {
      const oldest = this.#times.keys().next().value
      if (oldest === undefined) break
      this.#times.delete(oldest)
    }
  }
}
