/**
 * The Scheduler port: the only way mesh code defers work or waits. Production uses the real event
 * loop ({@link realScheduler}); tests may pass one that runs timers early.
 *
 * @module
 */

export interface Scheduler {
  /**
   * Runs `fn` once, in a later macrotask (after the I/O callbacks of the current turn), so that
   * everything sent during this turn can go out together.
   */
  defer(fn: () => void): void
  /** Runs `fn` once after `ms` milliseconds; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void
  /** A monotonic time in milliseconds, with sub-millisecond resolution (round-trip times). */
  now(): number
}

/** setImmediate, setTimeout and performance.now. Timers are not unref'd: `Mesh.close()` cancels them all. */
export const realScheduler: Scheduler = {
  defer(fn: () => void): void {
    setImmediate(fn)
  },
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms)
    return () => clearTimeout(timer)
  },
  now: () => performance.now(),
}
