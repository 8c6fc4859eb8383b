/**
 * A thin layer over a sql.js `Database`: prepared statements cached by their text, the three ways
 * this package runs them, and the int64 codec for lease IDs.
 *
 * sql.js hands integers to JS as doubles, so a lease ID (any int64) is read as two 32-bit halves
 * (`lease >> 32`, `lease & 0xffffffff`) and bound as a decimal string under `CAST(? AS INTEGER)`.
 * A uint64 (an alarm's member ID) is stored as the int64 of the same 64 bits: SQLite would clip
 * one of 2^63 or more to 2^63 - 1, so that two such IDs became one row.
 *
 * Invariant: a cached statement is never re-entered: a caller stepping through `each` does not
 * run the same SQL text inside its callback.
 *
 * @module
 */
import type { Database, SqlValue, Statement } from 'sql.js'

export type Row = SqlValue[]

/** SQL selecting an int64 column as its two halves (see {@link int64Of}). */
export function int64Columns(column: string): string {
  return `${column} >> 32, ${column} & 4294967295`
}

/** Rebuilds an int64 (a lease or member ID) from the halves selected by {@link int64Columns}. */
export function int64Of(hi: SqlValue, lo: SqlValue): bigint {
  const h = hi as number
  const l = lo as number
  return h === 0 && l === 0 ? 0n : (BigInt(h) << 32n) + BigInt(l)
}

/** An int64 as a bind parameter; the SQL must wrap it in `CAST(? AS INTEGER)`. */
export function int64Param(id: bigint): string {
  return id.toString()
}

/** A uint64 as a bind parameter, stored as the int64 of its bits (under `CAST(? AS INTEGER)`). */
export function uint64Param(id: bigint): string {
  return BigInt.asIntN(64, id).toString()
}

/** Rebuilds a uint64 stored by {@link uint64Param} from the halves selected by {@link int64Columns}. */
export function uint64Of(hi: SqlValue, lo: SqlValue): bigint {
  return BigInt.asUintN(64, int64Of(hi, lo))
}

export class Sql {
  readonly db: Database
  #cache = new Map<string, Statement>()

  constructor(db: Database) {
    this.db = db
  }

  statement(text: string): Statement {
    let s = this.#cache.get(text)
    if (s === undefined) {
      s = this.db.prepare(text)
      this.#cache.set(text, s)
    }
    return s
  }

  run(text: string, params: Row = []): void {
    this.statement(text).run(params)
  }

  /** The first row, or null. */
  one(text: string, params: Row = []): Row | null {
    const s = this.statement(text)
    try {
      s.bind(params)
      return s.step() ? s.get() : null
    } finally {
      s.reset()
    }
  }

  /** Calls `visit` for each row until it returns false. */
  each(text: string, params: Row, visit: (row: Row) => boolean | void): void {
    const s = this.statement(text)
    try {
      s.bind(params)
      while (s.step()) if (visit(s.get()) === false) break
    } finally {
      s.reset()
    }
  }

  /** A single integer from the first row (0 when there is none). */
  number(text: string, params: Row = []): number {
    return (this.one(text, params)?.[0] as number | undefined) ?? 0
  }

  /** Frees every cached statement (before closing the database). */
  free(): void {
    for (const s of this.#cache.values()) s.free()
    this.#cache.clear()
  }
}
