/**
 * Pauses that a signal cuts short (the client's backoff between rounds and reconnects, and the
 * gateway's waits for a new leader).
 *
 * @module
 */

/** Waits for `work`, but no longer than `ms` or until `signal` aborts. Never rejects. */
export function within(work: Promise<unknown>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
    work.then(done, done)
  })
}

/** Resolves after `ms`, or as soon as `signal` aborts. Never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return within(new Promise<never>(() => undefined), ms, signal)
}
