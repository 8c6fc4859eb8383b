/**
 * The bytes of a member's sql.js database, for checkpoints, snapshots sent to followers and
 * `maintenance/snapshot`, and what `patches/sql.js+1.16.0.patch` (applied by `patch-package` on
 * `npm ci`) changes in sql.js to make taking them, and growing the database, cheap.
 *
 * sql.js keeps the database file in Emscripten's in-memory file system (MEMFS), as one
 * Uint8Array per file. Unpatched, that has two costs that stall a member under load:
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
 *   second MEMFS file (61-72 ms for 41 MiB). The patch adds `Database.fileImage()`, a copy of the
 *   file's bytes (22-27 ms). Outside a transaction, with the rollback journal (journal_mode=MEMORY)
 *   every committed page is in the file, so this is a complete database; it differs from export()'s
 *   only in the header's change counters (bytes 24-27 and 92-95), which a reader ignores.
 *
 * @module
 */
import type { Database } from 'sql.js'

/** What the patch adds to sql.js's Database (its type package cannot be augmented: the class is not exported). */
interface FileImageSource {
  /** A copy of the database file's bytes. */
  fileImage(): Uint8Array
}

/**
 * A copy of `db` as a SQLite file. Must not be called inside a transaction (sql.js runs each of
 * ours synchronously, BEGIN to COMMIT, so between two calls into the database there is none).
 */
export function databaseImage(db: Database): Uint8Array {
  return (db as Database & FileImageSource).fileImage()
}
