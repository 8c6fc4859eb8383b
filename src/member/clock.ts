/**
 * The Clock port: the only way the member actor learns the time or waits. The real clock wraps
 * `Date.now` and `setTimeout`; the simulator supplies virtual time, so the actor stays
 * deterministic under test.
 *
 * @module
 */

/** Cancels a timer; calling it after the timer fired, or twice, does nothing. */
export type Cancel = () => void

export interface Clock {
  /** Milliseconds since some fixed origin; never decreases. */
  now(): number
  /** Calls `fn` once, `ms` milliseconds from now. */
  after(ms: number, fn: () => void): Cancel
  /**
   * Calls `fn` once, in a later macrotask: after the I/O callbacks of the current turn (Node's
   * setImmediate), so that what arrives together can be handled together.
   */
  defer(fn: () => void): void
}

/** Wall-clock time and Node's timers; timers do not keep the process alive. */
export const realClock: Clock = {
  // Whole milliseconds: the time goes into replicated state (a leader's lease checkpoints carry
  // remaining_ms computed from it), and MVCC's store hash encodes those as int64, so a fractional
  // value made /v3/maintenance/hash fail with "cannot be converted to a BigInt". Flooring keeps
  // the clock non-decreasing.
  now: () => Math.floor(performance.timeOrigin + performance.now()),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return () => clearTimeout(t)
  },
  defer: (fn) => {
    setImmediate(fn)
  },
}

/** Calls `fn` every `ms` milliseconds through `clock` until cancelled. */
export function every(clock: Clock, ms: number, fn: () => void): Cancel {
  let cancel: Cancel = () => undefined
  let stopped = false
  const arm = (): void => {
    cancel = clock.after(ms, () => {
      if (stopped) return
      arm()
      fn()
    })
  }
  arm()
  return () => {
    stopped = true
    cancel()
  }
}
