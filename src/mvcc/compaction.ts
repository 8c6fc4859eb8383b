/**
 * Physical compaction of the history up to a revision, in bounded, resumable batches.
 *
 * Compacting at R keeps, for each key, its newest row with main ≤ R, and every row above R. A
 * tombstone is dropped only once it is strictly below the compaction revision: a tombstone at
 * exactly R stays, because a watcher cancelled with compact_revision R resumes from R and must
 * still see that delete (etcd kept the same rule after losing such deletes). It goes at the next
 * compaction. Because rows at or below the previous compaction P are already reduced to that
 * form, only the window (P, R] needs scanning:
 * ```
 *   drop = { the previous row of the same key, for every row r in (P, R] }
 *        ∪ { tombstones in [P, R) }
 * ```
 * The window is walked in ascending main, `batchRows` history rows at a time; each batch is two
 * DELETE statements and a cursor update in mvcc_meta:
 * ```
 *   compact_scheduled = R ──▶ batch (P, c1] ──▶ batch (c1, c2] ──▶ … ──▶ compact_finished = R
 *                              cursor = c1        cursor = c2
 * ```
 * Invariant: when a batch runs, every row below its window is already compacted, so "the previous
 * row" found in the table is the one a full pass would have dropped. An interrupted compaction
 * (scheduled > finished) resumes from the cursor.
 *
 * @module
 */
import { getMeta, META, setMeta } from './schema.ts'
import type { Sql } from './sql.ts'

/** The revision compaction was last asked for; -1 when never. */
export function scheduledCompaction(sql: Sql): number {
  return getMeta(sql, META.compactScheduled)
}

/** Records that compaction to `rev` is due (reads below `rev` fail from now on). */
export function scheduleCompaction(sql: Sql, rev: number): void {
  setMeta(sql, META.compactScheduled, rev)
}

/**
 * Runs the scheduled compaction to completion, `batchRows` history rows per batch; a no-op when
 * nothing is pending. The caller owns the surrounding SQL transaction.
 */
export function runCompaction(sql: Sql, batchRows: number): void {
  const target = getMeta(sql, META.compactScheduled)
  const finished = getMeta(sql, META.compactFinished)
  if (target <= finished) return
  let cursor = Math.max(getMeta(sql, META.compactCursor), finished, 0)
  // The tombstones the previous compaction kept at its own revision.
  if (finished > 0) sql.run('DELETE FROM mvcc_rev WHERE main = ? AND tombstone = 1', [finished])
  while (cursor < target) {
    const next = sql.one('SELECT main FROM mvcc_rev WHERE main > ? ORDER BY main, sub LIMIT 1 OFFSET ?', [
      cursor,
      batchRows,
    ])
    const hi = next === null ? target : Math.min(target, next[0] as number)
    sql.run(
      `DELETE FROM mvcc_rev WHERE (key, main) IN (
         SELECT r.key, (SELECT max(p.main) FROM mvcc_rev p WHERE p.key = r.key AND p.main < r.main)
         FROM mvcc_rev r WHERE r.main > ? AND r.main <= ?)`,
      [cursor, hi],
    )
    sql.run('DELETE FROM mvcc_rev WHERE main > ? AND main <= ? AND main < ? AND tombstone = 1', [cursor, hi, target])
    cursor = hi
    setMeta(sql, META.compactCursor, cursor)
  }
  setMeta(sql, META.compactFinished, target)
}
