/**
 * databaseImage, snapshotDatabase and the sql.js patch behind them: the image is a complete
 * database equal to export()'s but for the header's change counters; a database file that grows,
 * shrinks (incremental vacuum, VACUUM) and grows again in place, opened empty or from an image,
 * keeps every committed row; a snapshot reads, slice by slice, as the file was when it was taken,
 * whatever is written, cut off or rewritten after.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Database } from 'sql.js'
import { databaseImage, snapshotDatabase, type DatabaseSnapshot } from '../../src/storage/database-image.ts'
import { loadSql } from './helpers.ts'

const sql = await loadSql()

/** A database opened the way a member opens its own (openSchema's pragmas). */
function memberLikeDatabase(image?: Uint8Array): Database {
  const db = new sql.Database(image)
  db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF')
  if (image === undefined) db.exec('PRAGMA auto_vacuum=INCREMENTAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)')
  return db
}

function rows(db: Database): Array<[number, string]> {
  const out: Array<[number, string]> = []
  const stmt = db.prepare('SELECT k, hex(v) FROM t ORDER BY k')
  while (stmt.step()) out.push(stmt.get() as [number, string])
  stmt.free()
  return out
}

function integrity(db: Database): string {
  return String(db.exec('PRAGMA integrity_check')[0]?.values[0]?.[0])
}

/** A row's value: `size` bytes derived from `k`, so a wrong or zeroed page shows. */
function value(k: number, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (k * 31 + i * 7 + 1) & 0xff)
}

test('an image is a complete database, byte for byte export() but for the change counters', () => {
  const db = memberLikeDatabase()
  db.exec('BEGIN')
  for (let k = 0; k < 3000; k++) db.run('INSERT INTO t VALUES (?, ?)', [k, value(k, 700)])
  db.exec('COMMIT')
  const image = databaseImage(db)
  const exported = db.export()
  assert.equal(image.length, exported.length)
  const differing = [...image.keys()].filter((i) => image[i] !== exported[i])
  assert.ok(differing.every((i) => (i >= 24 && i < 28) || (i >= 92 && i < 96)), `bytes ${differing.slice(0, 8).join(',')} differ`)
  const copy = memberLikeDatabase(image)
  assert.equal(integrity(copy), 'ok')
  assert.deepEqual(rows(copy), rows(db))
  copy.exec('BEGIN')
  for (let k = 3000; k < 6000; k++) copy.run('INSERT INTO t VALUES (?, ?)', [k, value(k, 700)])
  copy.exec('COMMIT')
  assert.equal(integrity(copy), 'ok', 'a database opened from an image grows too')
  assert.equal(rows(copy).length, 6000)
  copy.close()
  db.close()
})

test('an image is a copy: later writes to the database do not change it', () => {
  const db = memberLikeDatabase()
  db.run('INSERT INTO t VALUES (1, ?)', [value(1, 100)])
  const image = databaseImage(db)
  const before = image.slice()
  for (let k = 2; k < 500; k++) db.run('INSERT INTO t VALUES (?, ?)', [k, value(k, 900)])
  assert.deepEqual(image, before)
  db.close()
})

type Op =
  | { kind: 'insert'; count: number; size: number }
  | { kind: 'delete'; from: number; count: number }
  | { kind: 'reclaim'; pages: number }
  | { kind: 'vacuum' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), count: fc.integer({ min: 1, max: 400 }), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('delete' as const), from: fc.nat({ max: 4000 }), count: fc.integer({ min: 1, max: 600 }) }),
  fc.record({ kind: fc.constant('reclaim' as const), pages: fc.integer({ min: 1, max: 2000 }) }),
  fc.record({ kind: fc.constant('vacuum' as const) }),
)

/** A database and the rows it should hold (hex of each value, as `rows` reads them). */
interface Modelled {
  readonly db: Database
  readonly model: Map<number, string>
  next: number
}

function runOp(m: Modelled, o: Op): void {
  const { db, model } = m
  if (o.kind === 'insert') {
    db.exec('BEGIN')
    for (let i = 0; i < o.count; i++, m.next++) {
      const v = value(m.next, o.size)
      db.run('INSERT INTO t VALUES (?, ?)', [m.next, v])
      model.set(m.next, Buffer.from(v).toString('hex').toUpperCase())
    }
    db.exec('COMMIT')
  } else if (o.kind === 'delete') {
    db.run('DELETE FROM t WHERE k >= ? AND k < ?', [o.from, o.from + o.count])
    for (let k = o.from; k < o.from + o.count; k++) model.delete(k)
  } else if (o.kind === 'reclaim') db.exec(`PRAGMA incremental_vacuum(${o.pages})`)
  else db.exec('VACUUM')
}

test('a file that grows, shrinks and grows again keeps every committed row (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), (ops) => {
      const m: Modelled = { db: memberLikeDatabase(), model: new Map(), next: 0 }
      const { db, model } = m
      for (const o of ops) {
        runOp(m, o)
        const expected = [...model].sort((a, b) => a[0] - b[0])
        assert.deepEqual(rows(db), expected)
        const copy = memberLikeDatabase(databaseImage(db))
        assert.equal(integrity(copy), 'ok')
        assert.deepEqual(rows(copy), expected)
        copy.close()
      }
      assert.equal(integrity(db), 'ok')
      db.close()
    }),
    { numRuns: 40 },
  )
})

/** A snapshot, the copy of the file taken with it, and the rows the database held then. */
interface Taken {
  readonly snapshot: DatabaseSnapshot
  readonly image: Uint8Array
  readonly rows: Array<[number, string]>
}

/** Checks every byte of `t.snapshot`, read in slices cut at `cuts` (fractions of its length). */
function checkSnapshot(t: Taken, cuts: readonly number[]): void {
  const points = [...new Set([0, ...cuts.map((c) => Math.floor(c * t.snapshot.length)), t.snapshot.length])].sort((a, b) => a - b)
  const parts = points.slice(1).map((to, i) => t.snapshot.read(points[i], to))
  assert.deepEqual(Buffer.concat(parts), Buffer.from(t.image))
}

test('a snapshot reads as the file was when taken, whatever is written, cut off or vacuumed after (property)', () => {
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 1, maxLength: 5 }),
      fc.array(op, { minLength: 1, maxLength: 10 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
      (before, after, cuts) => {
        const m: Modelled = { db: memberLikeDatabase(), model: new Map(), next: 0 }
        for (const o of before) runOp(m, o)
        const take = (): Taken => ({ snapshot: snapshotDatabase(m.db), image: databaseImage(m.db), rows: rows(m.db) })
        const first = take()
        let second: Taken | null = null
        for (const [i, o] of after.entries()) {
          runOp(m, o)
          checkSnapshot(first, cuts)
          if (second !== null) checkSnapshot(second, cuts)
          if (i === Math.floor(after.length / 2)) second = take()
        }
        for (const t of [first, second]) {
          if (t === null) continue
          const copy = memberLikeDatabase(t.snapshot.read(0, t.snapshot.length))
          assert.equal(integrity(copy), 'ok')
          assert.deepEqual(rows(copy), t.rows)
          copy.close()
          t.snapshot.release()
        }
        assert.deepEqual(rows(m.db), [...m.model].sort((a, b) => a[0] - b[0]))
        m.db.close()
      },
    ),
    { numRuns: 40 },
  )
})

test('taking a snapshot copies nothing; it keeps only the pages written after, until released', () => {
  const db = memberLikeDatabase()
  db.exec('BEGIN')
  for (let k = 0; k < 2000; k++) db.run('INSERT INTO t VALUES (?, ?)', [k, value(k, 700)])
  db.exec('COMMIT')
  const pages = databaseImage(db).length / 4096
  const s = snapshotDatabase(db)
  assert.equal(s.savedPages, 0)
  db.run('UPDATE t SET v = ? WHERE k = 5', [value(99, 700)])
  assert.ok(s.savedPages >= 1 && s.savedPages <= 4, `one row's update keeps a few pages (${s.savedPages} of ${pages})`)
  const other = snapshotDatabase(db)
  s.release()
  s.release()
  assert.equal(s.savedPages, 0, 'released: its pages are freed')
  assert.throws(() => s.read(0, 1), /read after release/)
  db.run('UPDATE t SET v = ? WHERE k = 1500', [value(98, 700)])
  assert.ok(other.savedPages >= 1, 'a snapshot still alive keeps going')
  assert.throws(() => other.read(0, other.length + 1), RangeError)
  other.release()
  db.run('UPDATE t SET v = ? WHERE k = 7', [value(97, 700)])
  assert.equal(integrity(db), 'ok')
  db.close()
})

test('discardBefore: the pages below are no longer kept nor readable; the rest still reads as taken', () => {
  const db = memberLikeDatabase()
  db.exec('BEGIN')
  for (let k = 0; k < 2000; k++) db.run('INSERT INTO t VALUES (?, ?)', [k, value(k, 700)])
  db.exec('COMMIT')
  const image = databaseImage(db)
  const s = snapshotDatabase(db)
  db.run('UPDATE t SET v = ? WHERE k < 2000', [value(7, 700)])
  const kept = s.savedPages
  assert.ok(kept > 100, `most pages were rewritten and kept (${kept})`)
  const half = 4096 * Math.floor(image.length / 8192)
  s.discardBefore(half + 100)
  assert.ok(s.savedPages < kept && s.savedPages > 0, `the pages below were dropped (${kept} → ${s.savedPages})`)
  assert.throws(() => s.read(half - 1, half + 10), RangeError, 'bytes below are gone')
  const after = s.savedPages
  db.run('UPDATE t SET v = ? WHERE k < 2000', [value(8, 700)])
  assert.equal(s.savedPages, after, 'nothing new kept: the pages above were kept already, those below are not wanted')
  assert.deepEqual(Buffer.from(s.read(half, image.length)), Buffer.from(image.subarray(half)))
  s.release()
  db.close()
})

test('release after the database was closed does not throw', () => {
  const db = memberLikeDatabase()
  db.run('INSERT INTO t VALUES (1, ?)', [value(1, 100)])
  const s = snapshotDatabase(db)
  db.close()
  assert.doesNotThrow(() => s.release())
})
