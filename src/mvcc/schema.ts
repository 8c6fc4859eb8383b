/**
 * The MVCC tables inside the member's one sql.js database, and the connection pragmas they need.
 * Every table is prefixed `mvcc_`; the raft WAL tables of src/storage share the file.
 *
 * ```
 * mvcc_rev    (key, main) → sub, create_rev, version, value, lease, tombstone,  the history
 *                           parts
 *             + index mvcc_rev_by_rev (main, sub)                                revision order
 * mvcc_value  (main, sub, part) → data                 values too long for their row (value-parts.ts)
 * mvcc_kv     key → main, create_rev, version, lease                            live keys only
 *             + partial index mvcc_kv_by_lease (lease, key) WHERE lease != 0
 * mvcc_lease  id → ttl (granted seconds), remaining_ms (last checkpoint, 0 = none)
 * mvcc_alarm  (member_id, alarm)
 * mvcc_meta   name → 8-byte big-endian integer: applied_index, revision, compact_scheduled,
 *             compact_finished, compact_cursor, reclaim_pending (1 from a compaction until the
 *             free pages are all returned)
 * ```
 *
 * Invariant: mvcc_kv holds exactly the keys whose newest mvcc_rev row is not a tombstone, and
 * mvcc_kv.main is that row's main. Values live only in the history, so a live key's value is one
 * primary-key seek away (plus one range of parts for a long one) and is never stored twice.
 *
 * @module
 */
import type { Database } from 'sql.js'
import type { Sql } from './sql.ts'

export const META = {
  appliedIndex: 'applied_index',
  revision: 'revision',
  compactScheduled: 'compact_scheduled',
  compactFinished: 'compact_finished',
  compactCursor: 'compact_cursor',
  reclaimPending: 'reclaim_pending',
} as const

/** Initial meta values: nothing applied, the empty store's revision 1, never compacted (-1). */
const META_DEFAULTS: readonly [string, number][] = [
  [META.appliedIndex, 0],
  [META.revision, 1],
  [META.compactScheduled, -1],
  [META.compactFinished, -1],
  [META.compactCursor, 0],
  [META.reclaimPending, 0],
]

const TABLES = `
CREATE TABLE IF NOT EXISTS mvcc_meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mvcc_rev (
  key BLOB NOT NULL,
  main INTEGER NOT NULL,
  sub INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  value BLOB NOT NULL,
  lease INTEGER NOT NULL,
  tombstone INTEGER NOT NULL,
  parts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key, main)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS mvcc_rev_by_rev ON mvcc_rev (main, sub);
CREATE TABLE IF NOT EXISTS mvcc_value (
  main INTEGER NOT NULL,
  sub INTEGER NOT NULL,
  part INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (main, sub, part)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS mvcc_rev_parts AFTER DELETE ON mvcc_rev WHEN OLD.parts > 0 BEGIN
  DELETE FROM mvcc_value WHERE main = OLD.main AND sub = OLD.sub;
END;
CREATE TABLE IF NOT EXISTS mvcc_kv (
  key BLOB PRIMARY KEY,
  main INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mvcc_kv_by_lease ON mvcc_kv (lease, key) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS mvcc_lease (
  id INTEGER PRIMARY KEY,
  ttl INTEGER NOT NULL,
  remaining_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mvcc_alarm (
  member_id INTEGER NOT NULL,
  alarm TEXT NOT NULL,
  PRIMARY KEY (member_id, alarm)
) WITHOUT ROWID;
`

function int64Bytes(value: number): Uint8Array {
  const v = new Uint8Array(8)
  new DataView(v.buffer).setBigInt64(0, BigInt(value))
  return v
}

export function getMeta(sql: Sql, name: string): number {
  const v = sql.one('SELECT value FROM mvcc_meta WHERE name = ?', [name])?.[0] as Uint8Array
  return Number(new DataView(v.buffer, v.byteOffset, 8).getBigInt64(0))
}

/**
 * Writes a meta integer. Every row exists from schema creation, values are fixed-width blobs and
 * the write is an UPDATE, so SQLite overwrites the cell in place: the page looks the same whether
 * a row was rewritten once per batch or once per entry, which keeps the file independent of how
 * entries were batched.
 */
export function setMeta(sql: Sql, name: string, value: number): void {
  sql.run('UPDATE mvcc_meta SET value = ? WHERE name = ?', [int64Bytes(value), name])
}

function pragmaNumber(db: Database, name: string): number {
  return Number(db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0] ?? 0)
}

/**
 * A database written before values could be stored in parts has mvcc_rev without its last column:
 * adding it with its default (every value inline) is the whole migration. Such a database is then
 * no longer readable by those earlier versions, which would see a long value as empty.
 */
function addPartsColumn(db: Database): void {
  const columns = db.exec("SELECT name FROM pragma_table_info('mvcc_rev')")[0]?.values.flat() ?? []
  if (columns.length > 0 && !columns.includes('parts'))
    db.exec('ALTER TABLE mvcc_rev ADD COLUMN parts INTEGER NOT NULL DEFAULT 0')
}

/**
 * Sets the connection pragmas and creates the tables if missing. Durability comes from the
 * member's journal, not from SQLite, so the rollback journal stays in memory and nothing syncs.
 *
 * Space is reclaimed incrementally, which needs `auto_vacuum=INCREMENTAL` in the file header. It
 * can only be switched on before the first table exists, or by one full VACUUM afterwards: create
 * the store before other layers add their tables to avoid paying that VACUUM.
 */
export function openSchema(db: Database): void {
  db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF')
  if (pragmaNumber(db, 'auto_vacuum') !== 2) {
    db.exec('PRAGMA auto_vacuum=INCREMENTAL')
    if (pragmaNumber(db, 'page_count') > 0) db.exec('VACUUM')
  }
  db.exec('BEGIN')
  addPartsColumn(db)
  db.exec(TABLES)
  for (const [name, value] of META_DEFAULTS) db.run('INSERT OR IGNORE INTO mvcc_meta VALUES (?, ?)', [name, int64Bytes(value)])
  db.exec('COMMIT')
}
