/**
 * databaseImage and the sql.js patch behind it: the image is a complete database equal to
 * export()'s but for the header's change counters, and a database file that grows, shrinks
 * (incremental vacuum, VACUUM) and grows again in place, opened empty or from an image, keeps
 * every committed row.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Database } from 'sql.js'
import { databaseImage } from '../../src/storage/database-image.ts'
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

test('a file that grows, shrinks and grows again keeps every committed row (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), (ops) => {
      const db = memberLikeDatabase()
      const model = new Map<number, string>()
      let next = 0
      for (const o of ops) {
        if (o.kind === 'insert') {
          db.exec('BEGIN')
          for (let i = 0; i < o.count; i++, next++) {
            const v = value(next, o.size)
            db.run('INSERT INTO t VALUES (?, ?)', [next, v])
            model.set(next, Buffer.from(v).toString('hex').toUpperCase())
          }
          db.exec('COMMIT')
        } else if (o.kind === 'delete') {
          db.run('DELETE FROM t WHERE k >= ? AND k < ?', [o.from, o.from + o.count])
          for (let k = o.from; k < o.from + o.count; k++) model.delete(k)
        } else if (o.kind === 'reclaim') db.exec(`PRAGMA incremental_vacuum(${o.pages})`)
        else db.exec('VACUUM')
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
