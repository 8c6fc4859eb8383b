/**
 * Checkpoints: the whole sql.js database (raft tables + MVCC tables) exported to one file, written
 * atomically, after which the journal restarts in a new segment. A checkpoint file is also the
 * snapshot a leader sends to a follower (the same bytes, read back from the file when a follower
 * needs them rather than kept in memory: snapshot-source.ts).
 *
 * File layout (checkpoint.db):
 *
 *   offset 0        4           8           12          16
 *          +--------+-----------+-----------+-----------+--------------------------+
 *          | 'EDCK' | version   | dbLen     | dbCrc     | SQLite image (dbLen B)   |
 *          |        | u32 LE    | u32 LE    | u32 LE    | (database-image.ts)      |
 *          +--------+-----------+-----------+-----------+--------------------------+
 *   dbCrc = crc32c(SQLite image); a short file is reported as truncated, not as corrupt.
 *
 * Taking one (the order is what makes every crash point recoverable):
 *   1. write the raft tables as of index (RaftLog.persist: the entries after it, the hard state,
 *      and {index, term, confState, journalFrom = active seq + 1} in raft_state); export
 *   2. rotate the journal: segment journalFrom (header, fsync, fsyncDir); later writes go there
 *      ── the consistent point (startCheckpoint): the image holds exactly what segments below
 *         journalFrom hold, and every later journal record goes to segments from journalFrom on ──
 *   3. write checkpoint.db: a temp file, the image copied, checksummed and written a slice per
 *      event-loop turn (database-image.ts keeps the pages changed meanwhile as they were), then
 *      the header with the checksum at its front; fsync, rename, fsyncDir    (now durable)
 *   4. remove segments below journalFrom, fsyncDir                      (finishCheckpoint)
 * Steps 1-2 must not interleave with journal writes; steps 3-4 touch neither the journal nor the
 * database, so the journal may take records in segment journalFrom meanwhile (member-storage.ts
 * does exactly that). A crash before 3 completes recovers from the old checkpoint and every
 * segment since it (journalFrom included, with whatever records it got); a crash after it recovers
 * from the new one (segments below journalFrom are leftovers, removed on open). Step 4 runs only
 * once 3 is durable, so the old checkpoint never lacks a segment it needs.
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import { joinPath } from './disk.ts'
import type { Disk, StreamedBytes } from './disk.ts'
import { crc32c } from './crc32c.ts'
import { snapshotDatabase, type DatabaseSnapshot } from './database-image.ts'
import { CheckpointCorruptError } from './errors.ts'
import { parseSegmentName } from './journal-format.ts'
import type { Journal } from './journal.ts'
import type { RaftLog } from './raft-log.ts'
import type { SnapshotSource } from './snapshot-source.ts'
import type { SnapshotMetadata } from '../raft/types.ts'

export const CHECKPOINT_FILE = 'checkpoint.db'
const MAGIC = 0x4b434445 // 'EDCK' little-endian
const VERSION = 1
const HEADER = 16

/** Bytes of the image copied, checksummed and written per turn of the event loop by {@link checkpointFile}. */
export const CRC_SLICE = 2 << 20

function header(dbLen: number, dbCrc: number): Uint8Array {
  const out = new Uint8Array(HEADER)
  const view = new DataView(out.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, dbLen, true)
  view.setUint32(12, dbCrc, true)
  return out
}

/** The header of the checkpoint file for `image` (the file is this header, then the image). */
export function checkpointHeader(image: Uint8Array): Uint8Array {
  return header(image.length, crc32c(image))
}

/** One turn of the event loop (pending I/O callbacks run), where the platform has the notion. */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve)
    else setTimeout(resolve, 0)
  })
}

/** An image read a slice at a time, front to back: a {@link DatabaseSnapshot}, or bytes at hand. */
export interface ImageSource {
  readonly length: number
  /** A copy of bytes [from, to). */
  read(from: number, to: number): Uint8Array
  /** Bytes below `offset` will not be read again. */
  discardBefore?(offset: number): void
}

/**
 * The checkpoint file for `image`, produced while it is written (Disk.writeAtomic): the image is
 * copied and checksummed CRC_SLICE bytes at a time (~1.5 ms each; 8 MiB slices sometimes took
 * 25 ms) with a turn of the event loop between slices, and each slice is written before the next
 * is read, so neither a stall (a whole database at once took ~130 ms at 250 MiB, journal fsyncs
 * waiting behind it) nor a second copy of the database (what the slices added up to while they
 * waited for the write) comes with a checkpoint. The header, which holds the checksum, is known
 * once the last slice is; `onHeader` gets it then, with the slices if `keep` (else none). An image
 * of one slice or less takes no turn (the simulator's are small; its order is a function of the
 * event order anyway: immediates run in FIFO order).
 */
export function checkpointFile(
  image: ImageSource,
  keep: boolean,
  onHeader: (header: Uint8Array, kept: readonly Uint8Array[]) => void,
): StreamedBytes {
  let crc = 0
  const kept: Uint8Array[] = []
  async function* slices(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < image.length; at += CRC_SLICE) {
      if (at > 0) await nextTurn()
      const chunk = image.read(at, Math.min(at + CRC_SLICE, image.length))
      image.discardBefore?.(at + chunk.length)
      crc = crc32c(chunk, crc)
      if (keep) kept.push(chunk)
      yield chunk
    }
  }
  return {
    headerBytes: HEADER,
    chunks: slices(),
    header: () => {
      const out = header(image.length, crc)
      onHeader(out, kept)
      return out
    },
  }
}

/** Frames a SQLite image as a checkpoint file (one array: a copy of the image). */
export function encodeCheckpoint(image: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + image.length)
  out.set(checkpointHeader(image))
  out.set(image, HEADER)
  return out
}

/** The SQLite image inside checkpoint bytes (a view). `file` names the source in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Uint8Array {
  if (bytes.length < HEADER)
    throw new CheckpointCorruptError(file, `truncated: ${bytes.length} bytes, no header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC)
    throw new CheckpointCorruptError(file, 'not an edgecd checkpoint (bad magic)')
  if (view.getUint32(4, true) !== VERSION)
    throw new CheckpointCorruptError(file, `unknown version ${view.getUint32(4, true)}`)
  const len = view.getUint32(8, true)
  if (bytes.length < HEADER + len)
    throw new CheckpointCorruptError(
      file,
      `truncated: ${bytes.length - HEADER} of ${len} database bytes present`,
    )
  if (bytes.length > HEADER + len)
    throw new CheckpointCorruptError(file, `${bytes.length - HEADER - len} trailing bytes`)
  const image = bytes.subarray(HEADER)
  if (crc32c(image) !== view.getUint32(12, true)) throw new CheckpointCorruptError(file, 'checksum mismatch')
  return image
}

/**
 * Opens a sql.js database (from a SQLite image, or empty) with the pragmas the member wants:
 * durability comes from the journal and checkpoints, never from SQLite's own journal.
 *
 * A new database gets 8 KiB pages (an image keeps the page size it has). A history row keeps its
 * value inline only up to about a quarter of a page (mvcc_rev is WITHOUT ROWID, an index B-tree);
 * a longer value is stored in parts (src/mvcc/value-parts.ts). On 8 KiB pages the 1 KiB values of
 * etcd's `check perf` stay inline, one lookup per read; before parts existed, 4 KiB pages spilled
 * each into an overflow page and cost its members ~15 % more CPU per put. Values of 256 bytes cost
 * the same either way.
 */
export function openDatabase(sql: SqlJsStatic, image: Uint8Array | null, file: string): Database {
  let db: Database | null = null
  try {
    db = image === null ? new sql.Database() : new sql.Database(image)
    if (image === null) db.exec(`PRAGMA page_size=${NEW_DATABASE_PAGE_BYTES}`)
    db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF')
    db.exec('SELECT count(*) FROM sqlite_master')
    return db
  } catch (err) {
    db?.close()
    throw new CheckpointCorruptError(file, `not a readable SQLite image (${(err as Error).message})`)
  }
}

/** Page size of a database the member creates (see openDatabase). */
export const NEW_DATABASE_PAGE_BYTES = 8192

/** A checkpoint past its consistent point (steps 1-2): what is left is writing it (steps 3-4). */
export interface StartedCheckpoint {
  readonly meta: SnapshotMetadata
  /** The first journal segment after it (the active one once it was started). */
  readonly journalFrom: number
  /**
   * The SQLite image, as of the consistent point (the database may change once this is started).
   * Whoever finishes the checkpoint releases it.
   */
  readonly image: DatabaseSnapshot
}

/**
 * Steps 1-2 for a checkpoint as of `meta`: the caller must keep every other journal and database
 * write out until this resolves. Nothing else is done here (the checksum of the image is left to
 * finishCheckpoint): this is what holds the journal up.
 *
 * The image is a snapshot, taken at no cost: its copy is left to finishCheckpoint, a slice at a
 * time as it is written, while the database goes on.
 */
export async function startCheckpoint(
  db: Database,
  log: RaftLog,
  journal: Journal,
  meta: SnapshotMetadata,
): Promise<StartedCheckpoint> {
  const journalFrom = journal.seq + 1
  log.persist({ ...meta, journalFrom })
  const image = snapshotDatabase(db)
  try {
    await journal.rotate({ index: meta.index, term: meta.term })
  } catch (err) {
    image.release()
    throw err
  }
  return { meta: { index: meta.index, term: meta.term, confState: meta.confState }, journalFrom, image }
}

/**
 * Steps 3-4: writes the image as a checkpoint file (releasing its snapshot), makes it durable, then
 * removes the segments it covers.
 * `snapshots` learns of it before the file is replaced (`replacing`); the caller calls
 * `snapshots.replaced()` once this resolves. Touches neither the journal nor the database, so
 * journal appends may run alongside; two of these (or one and a startCheckpoint) must not (they
 * share checkpoint.db and its temp file).
 */
export async function finishCheckpoint(
  disk: Disk,
  dir: string,
  started: StartedCheckpoint,
  snapshots: SnapshotSource,
): Promise<void> {
  // A source that holds the bytes (no Disk.readSync) gets them; one that reads them back, the header.
  const file = checkpointFile(started.image, !snapshots.readsBack, (head, kept) =>
    snapshots.replacing(started.meta, [head, ...kept]),
  )
  try {
    await disk.writeAtomic(joinPath(dir, CHECKPOINT_FILE), file)
  } finally {
    started.image.release()
  }
  await removeSegmentsBelow(disk, dir, started.journalFrom)
}

/** Steps 1-4 at once (see startCheckpoint and finishCheckpoint). */
export async function takeCheckpoint(
  disk: Disk,
  dir: string,
  db: Database,
  log: RaftLog,
  journal: Journal,
  meta: SnapshotMetadata,
  snapshots: SnapshotSource,
): Promise<void> {
  await finishCheckpoint(disk, dir, await startCheckpoint(db, log, journal, meta), snapshots)
}

/** Removes journal segments older than `seq` (covered by a durable checkpoint). */
export async function removeSegmentsBelow(disk: Disk, dir: string, seq: number): Promise<number> {
  let removed = 0
  for (const name of await disk.list(dir)) {
    const s = parseSegmentName(name)
    if (s !== null && s < seq) {
      await disk.remove(joinPath(dir, name))
      removed++
    }
  }
  if (removed > 0) await disk.fsyncDir(dir)
  return removed
}
