/**
 * Where a history row's value is stored: in its mvcc_rev row when the row fits in a B-tree cell,
 * else cut into parts in mvcc_value.
 *
 * mvcc_rev and mvcc_value are WITHOUT ROWID tables, which SQLite keeps as index B-trees: a cell
 * holds at most about a quarter of a page of payload, and the rest of a longer row spills into an
 * overflow page of its own. A 4 KiB value on 8 KiB pages took ~9 KiB of file that way (the cell
 * plus a whole overflow page for the tail). Parts no longer than a cell's payload pack four to a
 * leaf page, so the same value takes little more than its own size.
 *
 * ```
 * mvcc_rev   (key, main) → sub, …, value, …, parts     parts = 0: value is the whole value
 *                                                       parts = n: value is empty, the value is
 * mvcc_value (main, sub, part) → data                   the n rows (main, sub, 0..n-1) in part order
 * ```
 *
 * Invariant: a history row with parts = n > 0 has exactly the parts 0..n-1 under its (main, sub),
 * and parts exist for no other (main, sub): they are written with their row (insertRevision) and
 * removed with it by the trigger mvcc_rev_parts (schema.ts). How a value is cut depends on the
 * page size only: hashes, snapshots and reads see whole values, whatever the layout.
 *
 * @module
 */
import type { KeyValue } from './kv.ts'
import { int64Param, type Sql } from './sql.ts'

/**
 * The most payload an index B-tree cell holds before spilling into overflow pages, on pages of
 * `pageBytes` with no reserved bytes (SQLite's file format: X = (U - 12) * 64 / 255 - 23).
 */
export function cellPayloadBytes(pageBytes: number): number {
  return Math.floor(((pageBytes - 12) * 64) / 255) - 23
}

/**
 * Bounds on the rest of a record besides its blobs: the header (a size byte and one serial type
 * per column, a blob's up to 3 bytes) and integer columns of up to 8 bytes each.
 */
const REV_RECORD_OVERHEAD = 1 + 9 + 2 * 3 + 5 * 8 + 1
const PART_RECORD_OVERHEAD = 1 + 4 + 3 + 3 * 8

/** How values are laid out in one database (its page size decides). */
export interface ValueLayout {
  /** A row whose key and value together are at most this long keeps its value inline. */
  readonly inlineBytes: number
  /** Length of every part but the last. */
  readonly partBytes: number
}

export function valueLayout(pageBytes: number): ValueLayout {
  const cell = cellPayloadBytes(pageBytes)
  return { inlineBytes: cell - REV_RECORD_OVERHEAD, partBytes: cell - PART_RECORD_OVERHEAD }
}

/**
 * SQL for the whole value of the mvcc_rev row (or a query result with its columns main, sub,
 * value and parts) named `alias`. group_concat over blobs keeps their bytes, NULs included, and the
 * CAST makes its text a blob again. The parts reach it in the order of the inner query, which
 * reads them along the primary key: an ORDER BY inside group_concat would sort them again in a
 * temporary B-tree (2.5× the time for a 1.5 MiB value).
 */
export function valueSql(alias: string): string {
  return `CASE WHEN ${alias}.parts = 0 THEN ${alias}.value ELSE (SELECT CAST(group_concat(data, x'') AS BLOB) FROM (
    SELECT p.data FROM mvcc_value p WHERE p.main = ${alias}.main AND p.sub = ${alias}.sub ORDER BY p.part)) END`
}

/** A history row to write: a tombstone has an empty value, no lease and zero revisions. */
export interface RevisionRow {
  readonly kv: KeyValue
  readonly main: number
  readonly sub: number
  readonly tombstone: boolean
}

const EMPTY = new Uint8Array(0)

/** Writes `row` into mvcc_rev, its value inline or in parts as `layout` decides. */
export function insertRevision(sql: Sql, layout: ValueLayout, row: RevisionRow): void {
  const { kv, main, sub } = row
  const value = kv.value
  const parts = kv.key.length + value.length <= layout.inlineBytes ? 0 : Math.ceil(value.length / layout.partBytes)
  sql.run('INSERT INTO mvcc_rev VALUES (?, ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?, ?)', [
    kv.key,
    main,
    sub,
    kv.createRevision,
    kv.version,
    parts === 0 ? value : EMPTY,
    int64Param(kv.lease),
    row.tombstone ? 1 : 0,
    parts,
  ])
  for (let part = 0; part < parts; part++) {
    const at = part * layout.partBytes
    sql.run('INSERT INTO mvcc_value VALUES (?, ?, ?, ?)', [main, sub, part, value.subarray(at, at + layout.partBytes)])
  }
}
