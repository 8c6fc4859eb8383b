/**
 * A call's deadline, shared by its attempts and the pauses between them (the client's transport
 * and the gateway's proxy).
 *
 * An attempt begun with a millisecond left times out before a refused connection is reported, so
 * a write that reached no member would be answered as one whose outcome is unknown. Hence no
 * attempt begins with less than a margin left (20 ms, or half the whole timeout if that is less),
 * and a pause between rounds ends that margin before the deadline at the latest. This makes the
 * mistake rare, not impossible, where an attempt cannot tell a late refusal from its own timeout
 * (Web fetch: a loaded host may report a refused connection tens of ms late); the gateway's
 * node:http pool can tell (node-exchange.ts), and there it does not happen.
 *
 * @module
 */

/** The margin an attempt needs to begin, unless the whole timeout is shorter than twice it. */
export const MIN_ATTEMPT_MS = 20

export class Deadline {
  readonly #at: number
  readonly #margin: number

  constructor(timeoutMs: number) {
    this.#at = Date.now() + timeoutMs
    this.#margin = Math.min(MIN_ATTEMPT_MS, timeoutMs / 2)
  }

  /** Milliseconds until the deadline (negative once it passed). */
  left(): number {
    return this.#at - Date.now()
  }

  /** True while an attempt may begin: time is left, at least the margin. */
  open(): boolean {
    const left = this.left()
    return left > 0 && left >= this.#margin
  }

  /** `backoff`, cut short to end the margin before the deadline at the latest. */
  pause(backoff: number): number {
    return Math.max(0, Math.min(backoff, this.left() - this.#margin))
  }
}
