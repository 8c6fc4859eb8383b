/**
 * Replaying history for watchers that start in the past (HistorySource.eventsBetween): the
 * changes to a key range between two revisions, read from mvcc_rev in (main, sub) order, each
 * with the key's previous version when it had a live one.
 *
 * @module
 */
import { keySpan, spanSql } from './key-range.ts'
import type { Event, KeyValue } from './kv.ts'
import { oneKv } from './reader.ts'
import { int64Columns, int64Of, type Sql } from './sql.ts'
import { valueSql } from './value-parts.ts'

const EMPTY = new Uint8Array(0)

/**
 * Events in [from, to] for the span, stopping after the first revision at which `maxEvents` were
 * collected (a revision is never split), with their prevKv when `withPrevKv`. The caller checks
 * `from` against the compaction.
 */
export function eventsBetween(
  sql: Sql,
  from: number,
  to: number,
  key: Uint8Array,
  rangeEnd: Uint8Array,
  maxEvents: number,
  withPrevKv: boolean,
): Event[] {
  const span = keySpan(key, rangeEnd)
  if (span.kind === 'none' || from > to) return []
  const s = spanSql(span, 'key')
  const events: Event[] = []
  let last = -1
  sql.each(
    `SELECT main, key, create_rev, version, ${valueSql('r')}, ${int64Columns('lease')}, tombstone FROM mvcc_rev r
     WHERE main >= ? AND main <= ? AND ${s.where} ORDER BY main, sub`,
    [from, to, ...s.params],
    (row) => {
      const main = row[0] as number
      if (main !== last && events.length >= maxEvents) return false
      last = main
      const key = row[1] as Uint8Array
      const kv: KeyValue =
        row[7] === 1
          ? { key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0n }
          : {
              key,
              modRevision: main,
              createRevision: row[2] as number,
              version: row[3] as number,
              value: row[4] as Uint8Array,
              lease: int64Of(row[5] as number, row[6] as number),
            }
      events.push({ type: row[7] === 1 ? 'DELETE' : 'PUT', kv, prevKv: null })
      return true
    },
  )
  if (!withPrevKv) return events
  // Each event's prevKv: its key as of the revision before it (null when deleted or absent then).
  return events.map((e) => ({ ...e, prevKv: oneKv(sql, e.kv.key, e.kv.modRevision - 1, false, true) }))
}
