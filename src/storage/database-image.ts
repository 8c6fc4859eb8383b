/**
 * The bytes of a member's sql.js database, for checkpoints, snapshots sent to followers and
 * `maintenance/snapshot`, and what `patches/sql.js+1.16.0.patch` (applied by `patch-package` on
 * `npm ci`) changes in sql.js to make taking them, and growing the database, cheap.
 *
 * sql.js keeps the database file in Emscripten's in-memory file system (MEMFS), as one
 * Uint8Array per file. Unpatched, that has three costs that stall a member under load:
 *
 * - Growth: a write past the array's capacity allocates a new array 1.125× larger and copies the
 *   whole file into it (17-36 ms at 30-43 MiB, then a major GC); every member applies the same
 *   entries, so all three stall at the same moment, every ~1.5-2 s under a put load. The patch
 *   backs each file with a resizable ArrayBuffer (reserving up to 4 GiB of address space, which
 *   costs no memory until used) and grows or truncates it in place: no copy, no garbage. Bytes
 *   beyond the file's length stay zero as before (the ECMAScript spec zero-fills a buffer's growth).
 *   Measured (3 members, wrk 64 connections, 3 × 5 s, two alternations): put p99 21.6-29.7 ms
 *   instead of 30.0-52.8, event-loop stalls over 15 ms 33-37 instead of 53-56.
 * - Export: `db.export()` copies the database page by page through SQLite's backup API into a
 *   second MEMFS file (61-72 ms for 41 MiB). The patch adds `Database.fileBytes()`, a view of the
 *   file's bytes. Outside a transaction, with the rollback journal (journal_mode=MEMORY) every
 *   committed page is in the file, so a copy of them is a complete database; it differs from
 *   export()'s only in the header's change counters (bytes 24-27 and 92-95), which a reader ignores.
 * - Even that copy is one synchronous stretch proportional to the database (22-27 ms at 41 MiB,
 *   ~130 ms at 250 MiB), and a checkpoint takes it while every journal write waits. So the patch
 *   also adds `Database.onFileChange(hook)`: the hook hears of every write or truncation of the
 *   file before it happens. A {@link DatabaseSnapshot} uses it to keep, copy-on-write, the old
 *   contents of each page changed after it was taken: taking one costs nothing, and its bytes can
 *   be read a slice at a time while the database goes on changing.
 *
 * @module
 */
import type { Database } from 'sql.js'

/** What the patch adds to sql.js's Database (its type package cannot be augmented: the class is not exported). */
interface FileAccess {
  /** The database file's bytes: a view, valid until the next write to the database. */
  fileBytes(): Uint8Array
  /**
   * `hook(position, length)` is called before the bytes from `position` for `length` are
   * overwritten or cut off; null removes it.
   */
  onFileChange(hook: ((position: number, length: number) => void) | null): void
}

function fileAccess(db: Database): Database & FileAccess {
  return db as Database & FileAccess
}

/**
 * A copy of `db` as a SQLite file. Must not be called inside a transaction (sql.js runs each of
 * ours synchronously, BEGIN to COMMIT, so between two calls into the database there is none).
 */
export function databaseImage(db: Database): Uint8Array {
  return fileAccess(db).fileBytes().slice()
}

/** The database file's size in bytes (no copy). */
export function databaseSize(db: Database): number {
  return fileAccess(db).fileBytes().length
}

/** Bytes of the file a snapshot preserves at once when one of them is about to change. */
const PAGE = 4096

/** The snapshots alive on each database; the file hook is installed while there is one. */
const alive = new WeakMap<Database, Set<DatabaseSnapshot>>()

/**
 * The database file as it was when {@link snapshotDatabase} took it, however the database changes
 * after. Invariant: for each PAGE-sized page of the first `length` bytes from `#readable` on,
 * either the file still holds the page as it was (it has not been written since), or `#saved`
 * holds that old content. Release it once read: until then every page first written after it is
 * kept twice (a reader going front to back says what it is done with: {@link discardBefore}).
 */
export class DatabaseSnapshot {
  /** The file's length when taken: the image is exactly this many bytes. */
  readonly length: number
  readonly #db: Database & FileAccess
  /** Page number → the page's bytes when taken (the last page may be short). */
  readonly #saved = new Map<number, Uint8Array>()
  /** Bytes below this can no longer be read (see discardBefore); a multiple of PAGE. */
  #readable = 0
  #released = false

  /** Use {@link snapshotDatabase}. */
  constructor(db: Database & FileAccess, length: number) {
    this.#db = db
    this.length = length
  }

  /** Before bytes [position, position + count) of the file change: keep the pages not yet kept. */
  preserve(position: number, count: number): void {
    const end = Math.min(position + count, this.length)
    const start = Math.max(position, this.#readable)
    if (start >= end) return
    let file: Uint8Array | null = null
    for (let page = Math.floor(start / PAGE); page * PAGE < end; page++) {
      if (this.#saved.has(page)) continue
      file ??= this.#db.fileBytes()
      const from = page * PAGE
      this.#saved.set(page, file.slice(from, Math.min(from + PAGE, this.length)))
    }
  }

  /** A copy of the image's bytes [from, to) (0 ≤ from ≤ to ≤ length), as they were when taken. */
  read(from: number, to: number): Uint8Array {
    if (this.#released) throw new Error('database snapshot: read after release')
    if (!(from >= this.#readable && from <= to && to <= this.length))
      throw new RangeError(`database snapshot: [${from}, ${to}) is outside [${this.#readable}, ${this.length})`)
    const out = new Uint8Array(to - from)
    const file = this.#db.fileBytes()
    // Bytes past the file's current end were cut off after the snapshot: their pages are saved.
    out.set(file.subarray(from, Math.min(to, file.length)))
    if (this.#saved.size === 0) return out
    for (let page = Math.floor(from / PAGE); page * PAGE < to; page++) {
      const old = this.#saved.get(page)
      if (old === undefined) continue
      const start = page * PAGE
      const a = Math.max(from, start)
      const b = Math.min(to, start + old.length)
      out.set(old.subarray(a - start, b - start), a - from)
    }
    return out
  }

  /** Pages kept so far (what this snapshot costs on top of the database). */
  get savedPages(): number {
    return this.#saved.size
  }

  /**
   * The bytes below `offset` will not be read again: the pages wholly below it are no longer kept
   * (nor their old contents saved when written). Never moves back.
   */
  discardBefore(offset: number): void {
    const readable = Math.floor(Math.min(offset, this.length) / PAGE) * PAGE
    if (readable <= this.#readable) return
    for (const page of this.#saved.keys()) if ((page + 1) * PAGE <= readable) this.#saved.delete(page)
    this.#readable = readable
  }

  /**
   * Stops keeping pages and frees those kept. Idempotent, and never throws: a database closed
   * meanwhile took its file, and the file hook with it.
   */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.#saved.clear()
    const set = alive.get(this.#db)
    if (set === undefined) return
    set.delete(this)
    if (set.size > 0) return
    alive.delete(this.#db)
    try {
      this.#db.onFileChange(null)
    } catch {
      // Closed: nothing is left to unhook.
    }
  }
}

/**
 * A snapshot of `db`'s file now, at no cost (see {@link DatabaseSnapshot}). Same precondition as
 * {@link databaseImage}: not inside a transaction.
 */
export function snapshotDatabase(db: Database): DatabaseSnapshot {
  const access = fileAccess(db)
  const snapshot = new DatabaseSnapshot(access, access.fileBytes().length)
  let set = alive.get(db)
  if (set === undefined) {
    const snapshots = new Set<DatabaseSnapshot>()
    set = snapshots
    alive.set(db, snapshots)
    access.onFileChange((position, count) => {
      for (const s of snapshots) s.preserve(position, count)
    })
  }
  set.add(snapshot)
  return snapshot
}
