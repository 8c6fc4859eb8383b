/**
 * Requests waiting for the member loop: proposals waiting for their entry to be applied, and
 * linearizable reads waiting for their read index. Each waiter is settled exactly once: by its
 * result, by an error, or by its timeout (time from the injected Clock).
 *
 * @module
 */
import type { Cancel, Clock } from './clock.ts'

interface Waiter<T> {
  readonly resolve: (value: T) => void
  readonly reject: (err: Error) => void
  readonly cancel: Cancel
}

export class Pending<T> {
  readonly #clock: Clock
  readonly #waiters = new Map<string, Waiter<T>>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get size(): number {
    return this.#waiters.size
  }

  /** Waits for `key` to be settled; rejects with `onTimeout()` after `timeoutMs`. */
  wait(key: string, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.#clock.after(timeoutMs, () => {
        if (this.#waiters.get(key)?.cancel !== cancel) return
        this.#waiters.delete(key)
        reject(onTimeout())
      })
      this.#waiters.set(key, { resolve, reject, cancel })
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
    w.cancel()
    return w
  }
}
