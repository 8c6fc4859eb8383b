/**
 * When a member proposes an automatic compaction, as etcd 3.4's compactors decide
 * (`--auto-compaction-mode`). Every member runs one from its start, leader or not; only while it
 * leads does it compact (etcd pauses its compactor on followers), so a new leader carries on
 * where it stands instead of starting over:
 *
 * - periodic, keeping `retention` ms: every retention/10 (an hour/10 from a retention of an hour)
 *   the current revision is sampled, the last retention/10 + 1 samples kept. A leader compacts
 *   to the oldest sample once the compaction interval (the retention, at most an hour) has passed
 *   since its last success, or since its start for its first;
 * - revision, keeping `retention` revisions: every 5 minutes from the start, a leader compacts
 *   to the current revision minus the retention, unless that is where it compacted last.
 *
 * A compaction to a revision compacted already counts as done (etcd's ErrCompacted). Pure: it
 * is given the time and the store's revision, and told of successes ({@link done}).
 *
 * @module
 */
import type { AutoCompactionMode } from './config.ts'

const REVISION_MODE_INTERVAL_MS = 5 * 60_000
const HOUR_MS = 3_600_000

export class AutoCompactor {
  readonly #mode: AutoCompactionMode
  readonly #retention: number
  /** Periodic: the most time between two compactions; revision: between two checks. */
  readonly #intervalMs: number
  /** Time between two checks (periodic: between two samples too). */
  readonly #checkMs: number
  /** Periodic: samples kept; revs[0] is the revision of about a retention ago. */
  readonly #keep: number
  #revs: number[] = []
  /** The next check; null before the first poll, which is the compactor's start. */
  #nextAt: number | null = null
  /** Periodic: the last success, or the start. */
  #lastSuccessAt = 0
  /** Periodic: what must have passed since #lastSuccessAt: the retention first, then #intervalMs. */
  #waitMs: number
  /** Revision: the revision compacted to last (0: none). */
  #prev = 0

  constructor(mode: AutoCompactionMode, retention: number) {
    this.#mode = mode
    this.#retention = retention
    this.#intervalMs = mode === 'periodic' ? Math.min(retention, HOUR_MS) : REVISION_MODE_INTERVAL_MS
    this.#checkMs = mode === 'periodic' ? Math.max(1, Math.floor(this.#intervalMs / 10)) : REVISION_MODE_INTERVAL_MS
    this.#keep = Math.floor(retention / this.#checkMs) + 1
    this.#waitMs = retention
  }

  get enabled(): boolean {
    return this.#retention > 0
  }

  /** Called every tick: the revision to compact to now, or null. `leads`: this member is the leader. */
  poll(now: number, current: number, leads: boolean): number | null {
    if (!this.enabled) return null
    if (this.#nextAt === null) {
      this.#nextAt = now + this.#checkMs
      this.#lastSuccessAt = now
      if (this.#mode === 'periodic') this.#revs.push(current)
      return null
    }
    if (now < this.#nextAt) return null
    this.#nextAt = now + this.#checkMs
    return this.#mode === 'periodic' ? this.#periodic(now, current, leads) : this.#revision(current, leads)
  }

  /** The compaction to `revision` that poll asked for succeeded, or found it compacted already. */
  done(now: number, revision: number): void {
    this.#lastSuccessAt = now
    this.#prev = revision
  }

  #periodic(now: number, current: number, leads: boolean): number | null {
    let target: number | null = null
    if (leads && now - this.#lastSuccessAt >= this.#waitMs) {
      this.#waitMs = this.#intervalMs
      target = this.#revs[0] ?? null
    }
    this.#revs.push(current)
    if (this.#revs.length > this.#keep) this.#revs.shift()
    return target
  }

  #revision(current: number, leads: boolean): number | null {
    const target = current - this.#retention
    return leads && target > 0 && target !== this.#prev ? target : null
  }
}
