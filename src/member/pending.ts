/**
 * Requests waiting for the member loop: proposals waiting for their entry to be applied, and
 * linearizable reads waiting for their read index. Each waiter is settled exactly once: by its
 * result, by an error, or by its timeout (time from the injected Clock).
 *
 * Every waiter of one Pending has the same timeout, so deadlines grow in insertion order, which
 * is the order of the waiter map: one timer, armed for the oldest waiter's deadline, rejects the
 * expired waiters from the front of the map and re-arms for the next one (a timer per request
 * cost an allocation and a timer-list update each way).
 *
 * @module
 */
import type { Cancel, Clock } from './clock.ts'

interface Waiter<T> {
  readonly resolve: (value: T) => void
  readonly reject: (err: Error) => void
  readonly deadline: number
  readonly onTimeout: () => Error
}

export class Pending<T> {
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #waiters = new Map<string, Waiter<T>>()
  /** The timer for the oldest waiter's deadline; null when no timer is armed. */
  #timer: Cancel | null = null

  constructor(clock: Clock, timeoutMs: number) {
    this.#clock = clock
    this.#timeoutMs = timeoutMs
  }

  get size(): number {
    return this.#waiters.size
  }

  /** Waits for `key` to be settled; rejects with `onTimeout()` once the timeout has passed. */
  wait(key: string, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiters.set(key, { resolve, reject, deadline: this.#clock.now() + this.#timeoutMs, onTimeout })
      if (this.#timer === null) this.#arm(this.#timeoutMs)
    })
  }

  has(key: string): boolean {
    return this.#waiters.has(key)
  }

  resolve(key: string, value: T): boolean {
    const w = this.#take(key)
    w?.resolve(value)
    return w !== undefined
  }

  reject(key: string, err: Error): boolean {
    const w = this.#take(key)
    w?.reject(err)
    return w !== undefined
  }

  /** Rejects every waiter (the member is stopping). */
  rejectAll(err: Error): void {
    for (const key of [...this.#waiters.keys()]) this.reject(key, err)
  }

  #take(key: string): Waiter<T> | undefined {
    const w = this.#waiters.get(key)
    if (w === undefined) return undefined
    this.#waiters.delete(key)
    if (this.#waiters.size === 0) this.#disarm()
    return w
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.after(ms, () => {
      this.#timer = null
      this.#expire()
    })
  }

  #disarm(): void {
    this.#timer?.()
    this.#timer = null
  }

  /** Rejects the waiters whose deadline has come (the oldest first), then re-arms for the next. */
  #expire(): void {
    const now = this.#clock.now()
    for (const [key, w] of this.#waiters) {
      if (w.deadline > now) {
        this.#arm(w.deadline - now)
        return
      }
      this.#waiters.delete(key)
      w.reject(w.onTimeout())
    }
  }
}
