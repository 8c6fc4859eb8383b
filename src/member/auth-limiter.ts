/**
 * Limits failed authentications per client, in two buckets, both checked before any password
 * hashing (so guessing also costs the member no CPU):
 *
 *   pair      one client address and one user name: at most `max` failures within `windowMs`.
 *             Brute force against one account from one address stops there, while other
 *             clients sharing that address (behind the gateway, a NAT) who log in as other
 *             names are not held up.
 *   address   every name from one address: at most `maxPerAddress` (default 5 × `max`)
 *             failures within the window, so one address cannot spray guesses over many names.
 *
 * When either bucket is full, `authenticate` is refused with etcd's `etcdserver: too many
 * requests` (429 / 8) until enough of its failures are `windowMs` old.
 *
 * Invariants:
 * - An attempt counts as a failure in both buckets from the moment it begins
 *   ({@link FailureLimiter.begin}) until it is forgiven (the password was right, or the call
 *   ended before a password was checked); so concurrent guesses cannot slip past the limit while
 *   their hashes are computed. A success forgives only itself: failures leave only with time.
 * - Memory is bounded: a bucket never holds more entries than its limit (begin refuses at the
 *   limit); each of the two tables holds at most `maxAddresses` buckets, the least recently
 *   counted dropped first (and buckets with nothing left in the window before that); user
 *   names are keyed by their SHA-256, so a key's size does not depend on the name's.
 * - Time comes only from the injected clock.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { AuthErrors } from './auth-errors.ts'

export interface FailureLimits {
  /** Failures of one user name from one address within `windowMs` before that pair is refused. */
  readonly max: number
  readonly windowMs: number
  /** Addresses tracked at most; address–name pairs are tracked at most as many. */
  readonly maxAddresses: number
  /** Failures from one address, whatever the names, within `windowMs`; default 5 × `max`. */
  readonly maxPerAddress?: number
}

/**
 * etcd limits nothing: these are high enough that nobody mistyping a password, nor a script
 * trying wrong ones on purpose, meets them, while a guessing loop does (with the scrypt cost of
 * each try, at most a few guesses a second per name).
 */
export const DEFAULT_FAILURE_LIMITS: FailureLimits = { max: 50, windowMs: 10_000, maxAddresses: 10_000, maxPerAddress: 250 }

/** One `authenticate` call under way: counted as a failure until forgiven. */
export interface LoginAttempt {
  /** It did not fail authentication (it succeeded, or no password was checked); idempotent. */
  forgive(): void
}

/** How many buckets are held (for tests and metrics). */
export interface TrackedBuckets {
  readonly addresses: number
  readonly pairs: number
}

export class FailureLimiter {
  readonly #max: number
  readonly #maxPerAddress: number
  readonly #now: () => number
  readonly #byAddress: Windows
  readonly #byPair: Windows

  constructor(limits: FailureLimits, now: () => number) {
    this.#max = limits.max
    this.#maxPerAddress = limits.maxPerAddress ?? 5 * limits.max
    this.#now = now
    this.#byAddress = new Windows(limits.windowMs, limits.maxAddresses)
    this.#byPair = new Windows(limits.windowMs, limits.maxAddresses)
  }

  /**
   * Starts an attempt to log in as `name` from `address`; throws `too many requests` when the
   * pair or the address is at its limit.
   */
  begin(address: string, name: string): LoginAttempt {
    const now = this.#now()
    const pair = pairKey(address, name)
    if (this.#byPair.count(pair, now) >= this.#max || this.#byAddress.count(address, now) >= this.#maxPerAddress)
      throw AuthErrors.tooManyRequests()
    this.#byAddress.add(address, now)
    this.#byPair.add(pair, now)
    let counted = true
    return {
      forgive: () => {
        if (!counted) return
        counted = false
        this.#byAddress.remove(address, now)
        this.#byPair.remove(pair, now)
      },
    }
  }

  tracked(): TrackedBuckets {
    return { addresses: this.#byAddress.size, pairs: this.#byPair.size }
  }
}

/** The pair's key: the address and a fixed-size digest of the name (names can be megabytes long). */
function pairKey(address: string, name: string): string {
  return `${address}\n${createHash('sha256').update(name).digest('base64')}`
}

/**
 * Failure times per key within a sliding window. Map order is least recently counted first, so
 * the front is what goes when the table is full.
 */
class Windows {
  readonly #windowMs: number
  readonly #maxKeys: number
  readonly #times = new Map<string, number[]>()

  constructor(windowMs: number, maxKeys: number) {
    this.#windowMs = windowMs
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#times.size
  }

  /** Failures of `key` still in the window at `now` (older ones are dropped). */
  count(key: string, now: number): number {
    const times = this.#times.get(key)
    if (times === undefined) return 0
    const since = now - this.#windowMs
    while (times.length > 0 && (times[0] as number) <= since) times.shift()
    if (times.length === 0) this.#times.delete(key)
    return times.length
  }

  add(key: string, now: number): void {
    const times = this.#times.get(key) ?? []
    times.push(now)
    this.#times.delete(key)
    this.#times.set(key, times)
    this.#prune(now)
  }

  /** Takes one failure at `at` back out of `key` (none if it has been dropped since). */
  remove(key: string, at: number): void {
    const times = this.#times.get(key)
    if (times === undefined) return
    const i = times.lastIndexOf(at)
    if (i >= 0) times.splice(i, 1)
    if (times.length === 0) this.#times.delete(key)
  }

  /** Drops buckets with nothing left in the window from the front, then the oldest beyond the cap. */
  #prune(now: number): void {
    const since = now - this.#windowMs
    for (const [key, times] of this.#times) {
      if (times.length > 0 && (times[times.length - 1] as number) > since) break
      this.#times.delete(key)
    }
    while (this.#times.size > this.#maxKeys) {
      const oldest = this.#times.keys().next().value
      if (oldest === undefined) break
      this.#times.delete(oldest)
    }
  }
}
