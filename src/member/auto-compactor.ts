/**
 * Decides when the leader proposes an automatic compaction, as etcd's `--auto-compaction-mode`:
 * - periodic: keep `retention` ms of history. Revisions are sampled every retention/10 (at least
 *   every second); each sample period the store is compacted to the revision it had `retention`
 *   ago.
 * - revision: keep the last `retention` revisions, checked every 5 minutes (etcd's interval).
 * Pure: given the time and the store's revisions, it returns the revision to compact to, or null.
 *
 * @module
 */
import type { AutoCompactionMode } from './config.ts'

const REVISION_MODE_INTERVAL_MS = 5 * 60_000

export class AutoCompactor {
  readonly #mode: AutoCompactionMode
  readonly #retention: number
  readonly #intervalMs: number
  /** (time, revision) samples, oldest first. Invariant: times strictly increase. */
  #samples: Array<{ at: number; rev: number }> = []
  #nextAt = -1

  constructor(mode: AutoCompactionMode, retention: number) {
    this.#mode = mode
    this.#retention = retention
    this.#intervalMs = mode === 'periodic' ? Math.max(1000, Math.floor(retention / 10)) : REVISION_MODE_INTERVAL_MS
  }

  get enabled(): boolean {
    return this.#retention > 0
  }

  /** Forgets samples (leadership was lost: the next leader starts its own history). */
  reset(): void {
    this.#samples = []
    this.#nextAt = -1
  }

  /** The revision to compact to now, or null. `compacted` is the store's compacted revision. */
  poll(now: number, current: number, compacted: number): number | null {
    if (!this.enabled) return null
    if (this.#nextAt < 0) this.#nextAt = now + this.#intervalMs
    const last = this.#samples[this.#samples.length - 1]
    if (this.#mode === 'periodic' && (last === undefined || now - last.at >= this.#intervalMs / 10))
      this.#samples.push({ at: now, rev: current })
    if (now < this.#nextAt) return null
    this.#nextAt = now + this.#intervalMs
    let target: number
    if (this.#mode === 'revision') target = current - this.#retention
    else {
      const cutoff = now - this.#retention
      let found = -1
      while (this.#samples.length > 0 && (this.#samples[0] as { at: number }).at <= cutoff)
        found = (this.#samples.shift() as { rev: number }).rev
      if (found < 0) return null
      // Keep the sample we compacted to, so history never shrinks below `retention`.
      this.#samples.unshift({ at: cutoff, rev: found })
      target = found
    }
    return target > compacted && target > 0 ? target : null
  }
}
