/**
 * The store's replicated contents in etcd's terms, read out whole and loaded into an empty store:
 * what a snapshot file in etcd's format carries (the member's etcd-backend.ts writes and reads
 * the file itself).
 *
 * The history is read out a page at a time (the caller may yield between pages; rows at or below
 * the revision it started at change only by compaction, which it must watch for). It is what
 * etcd's key bucket holds after the same compaction: every row
 * above the compacted revision C, and of the rows at or below it only each key's newest, unless
 * that is a tombstone. (This store keeps a tombstone at exactly C, see compaction.ts; etcd's
 * bucket does not.)
 *
 * @module
 */
import type { AlarmMember, KeyValue } from './kv.ts'
import type { Lease } from './lease-table.ts'
import { META, setMeta } from './schema.ts'
import { int64Columns, int64Of, int64Param, uint64Param, type Sql } from './sql.ts'
import { insertRevision, valueSql, type ValueLayout } from './value-parts.ts'

/** One history row: its revision, and its kv (a tombstone's has only the key). */
export interface HistoryRow {
  readonly main: number
  readonly sub: number
  readonly tombstone: boolean
  readonly kv: KeyValue
}

/** Everything but the history. */
export interface StoreSummary {
  /** The store revision (may exceed every row's when the newest revisions were compacted away). */
  readonly revision: number
  /** The compacted revision; -1 when never compacted. */
  readonly compactRevision: number
  readonly leases: readonly Lease[]
  readonly alarms: readonly AlarmMember[]
}

const EMPTY = new Uint8Array(0)

/** A history row's place: rows are read in (main, sub) order. */
export interface RowPosition {
  readonly main: number
  readonly sub: number
}

/**
 * Calls `visit` with up to `limit` of the history rows etcd's bucket would hold, in (main, sub)
 * order: those after `after` (null: from the first) and at or below revision `upTo`. Answers the
 * last row's position, or null when there were none left.
 */
export function historyPage(
  sql: Sql,
  compactMain: number,
  after: RowPosition | null,
  upTo: number,
  limit: number,
  visit: (row: HistoryRow) => void,
): RowPosition | null {
  let last: RowPosition | null = null
  sql.each(
    `SELECT main, sub, tombstone, key, create_rev, version, ${valueSql('r')}, ${int64Columns('lease')} FROM mvcc_rev r
     WHERE (main, sub) > (?, ?) AND main <= ? AND (main > ? OR (tombstone = 0 AND NOT EXISTS (
       SELECT 1 FROM mvcc_rev n WHERE n.key = r.key AND n.main > r.main AND n.main <= ?)))
     ORDER BY main, sub LIMIT ?`,
    [after?.main ?? -1, after?.sub ?? -1, upTo, compactMain, compactMain, limit],
    (row) => {
      const main = row[0] as number
      const sub = row[1] as number
      const tombstone = row[2] !== 0
      const key = row[3] as Uint8Array
      const kv: KeyValue = tombstone
        ? { key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n }
        : {
            key,
            createRevision: row[4] as number,
            modRevision: main,
            version: row[5] as number,
            value: row[6] as Uint8Array,
            lease: int64Of(row[7] as number, row[8] as number),
          }
      visit({ main, sub, tombstone, kv })
      last = { main, sub }
    },
  )
  return last
}

/**
 * Fills an empty store's tables (the caller's transaction) with `rows` (ascending revisions) and
 * `summary`; the live keys are each key's newest row when not a tombstone. The applied index is
 * left as it is.
 */
export function loadContents(sql: Sql, layout: ValueLayout, rows: Iterable<HistoryRow>, summary: StoreSummary): void {
  if (sql.number('SELECT count(*) FROM mvcc_rev') > 0) throw new Error('store contents: the store is not empty')
  let newest = 0
  for (const { main, sub, tombstone, kv } of rows) {
    if (main < newest) throw new Error(`store contents: revision ${main} after ${newest}`)
    newest = main
    insertRevision(sql, layout, { kv, main, sub, tombstone })
  }
  sql.run(
    `INSERT INTO mvcc_kv SELECT key, main, create_rev, version, lease FROM mvcc_rev r
     WHERE tombstone = 0 AND main = (SELECT max(main) FROM mvcc_rev n WHERE n.key = r.key)`,
  )
  for (const l of summary.leases)
    sql.run('INSERT INTO mvcc_lease VALUES (CAST(? AS INTEGER), ?, ?)', [int64Param(l.id), l.ttl, l.remainingMs])
  for (const a of summary.alarms)
    sql.run('INSERT OR IGNORE INTO mvcc_alarm VALUES (CAST(? AS INTEGER), ?)', [uint64Param(a.memberId), a.alarm])
  setMeta(sql, META.revision, Math.max(summary.revision, newest, 1))
  for (const name of [META.compactScheduled, META.compactFinished]) setMeta(sql, name, summary.compactRevision)
  setMeta(sql, META.compactCursor, Math.max(summary.compactRevision, 0))
}
