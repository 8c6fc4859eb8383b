/**
 * Frees the large buffers a member drops, which V8 would otherwise keep for a long time (Node
 * only: workers/member.ts starts it).
 *
 * A checkpoint's copy of the database is as large as the database, and garbage once written; so
 * is a checkpoint read back to be sent to a follower, and a `maintenance/snapshot` download. Only
 * a major garbage collection frees such buffers, and V8 starts one for external memory only after
 * about 64 MiB more of it than at the last one; a member's JS heap is small enough that nothing
 * else prompts one for a long while. Measured after loading 100k keys (a checkpoint at the end):
 * 86 MiB of array buffers, 45 MiB after a collection.
 *
 * So a major collection (incremental: `execution: 'async'`, at most one at a time) starts after
 * each checkpoint (`afterCheckpoint`), and whenever a check, every `intervalMs`, finds the array
 * buffers grown by more than `slackBytes` since the last collection.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** V8's `gc` function with the options this uses. */
export type CollectGarbage = (options: { type: 'major'; execution: 'async' }) => Promise<void>

export interface BufferReclaimOptions {
  readonly intervalMs?: number
  readonly slackBytes?: number
  /** Bytes held by array buffers now (default: process.memoryUsage().arrayBuffers). */
  readonly arrayBuffers?: () => number
  /** Starts a major collection (default: V8's `gc`, exposed at run time). */
  readonly collect?: CollectGarbage
}

/** V8's `gc`, exposed without a command-line flag. */
export function exposedGc(): CollectGarbage {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as CollectGarbage
}

/** The collections of the module doc; `check()` is one look at the buffers. */
export class BufferReclaim {
  readonly #slack: number
  readonly #arrayBuffers: () => number
  readonly #collect: CollectGarbage
  #baseline: number
  #running = false
  /** Collections started so far. */
  collections = 0

  constructor(options: BufferReclaimOptions = {}) {
    this.#slack = options.slackBytes ?? 16 * 1024 * 1024
    this.#arrayBuffers = options.arrayBuffers ?? (() => process.memoryUsage().arrayBuffers)
    this.#collect = options.collect ?? exposedGc()
    this.#baseline = this.#arrayBuffers()
  }

  /** Starts a collection if the buffers grew past the slack; resolves once it is over (or at once). */
  async check(): Promise<void> {
    if (this.#arrayBuffers() - this.#baseline > this.#slack) await this.collect()
  }

  /** Starts a collection unless one is running; resolves once it is over (or at once). */
  async collect(): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.collections++
    try {
      await this.#collect({ type: 'major', execution: 'async' })
    } finally {
      this.#running = false
      this.#baseline = this.#arrayBuffers()
    }
  }
}

export interface RunningReclaim {
  /** A checkpoint is durable (its image is garbage): collect now. */
  afterCheckpoint(): void
  stop(): void
}

/** Checks every `intervalMs` (default 5 s) on a timer that does not keep the process alive. */
export function startBufferReclaim(options: BufferReclaimOptions = {}): RunningReclaim {
  const reclaim = new BufferReclaim(options)
  const timer = setInterval(() => void reclaim.check(), options.intervalMs ?? 5000)
  timer.unref()
  return { afterCheckpoint: () => void reclaim.collect(), stop: () => clearInterval(timer) }
}
