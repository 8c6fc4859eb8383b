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
 *          |        | u32 LE    | u32 LE    | u32 LE    | from db.export()         |
 *          +--------+-----------+-----------+-----------+--------------------------+
 *   dbCrc = crc32c(SQLite image); a short file is reported as truncated, not as corrupt.
 *
 * Taking one (the order is what makes every crash point recoverable):
 *   1. record {index, term, confState, journalFrom = active seq + 1} in raft_state; export
 *   2. rotate the journal: segment journalFrom (header, fsync, fsyncDir); later writes go there
 *   3. write checkpoint.db: temp file, fsync, rename, fsyncDir          (now durable)
 *   4. remove segments below journalFrom, fsyncDir
 * A crash before 3 completes recovers from the old checkpoint and every segment since it; a crash
 * after it recovers from the new one (segments below journalFrom are leftovers, removed on open).
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import { joinPath } from './disk.ts'
import type { Disk } from './disk.ts'
import { crc32c } from './crc32c.ts'
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

/** The header of the checkpoint file for `image` (the file is this header, then the image). */
export function checkpointHeader(image: Uint8Array): Uint8Array {
  const header = new Uint8Array(HEADER)
  const view = new DataView(header.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, image.length, true)
  view.setUint32(12, crc32c(image), true)
  return header
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
 */
export function openDatabase(sql: SqlJsStatic, image: Uint8Array | null, file: string): Database {
  let db: Database | null = null
  try {
    db = image === null ? new sql.Database() : new sql.Database(image)
    db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF')
    db.exec('SELECT count(*) FROM sqlite_master')
    return db
  } catch (err) {
    db?.close()
    throw new CheckpointCorruptError(file, `not a readable SQLite image (${(err as Error).message})`)
  }
}

/**
 * Takes a checkpoint as of `meta` (steps 1-4 above). `snapshots` learns of it before the file is
 * replaced (`replacing`); the caller calls `snapshots.replaced()` once this resolves.
 *
 * Memory: db.export() is the one copy of the database made here; the header goes in front of it
 * as a separate chunk of the atomic write rather than by copying the image behind it.
 */
export async function takeCheckpoint(
  disk: Disk,
  dir: string,
  db: Database,
  log: RaftLog,
  journal: Journal,
  meta: SnapshotMetadata,
  snapshots: SnapshotSource,
): Promise<void> {
  const journalFrom = journal.seq + 1
  log.setCheckpointMeta({ ...meta, journalFrom })
  const image = db.export()
  const data = [checkpointHeader(image), image] as const
  const snapMeta = { index: meta.index, term: meta.term, confState: meta.confState }
  snapshots.replacing(snapMeta, data)
  await journal.rotate({ index: meta.index, term: meta.term })
  await disk.writeAtomic(joinPath(dir, CHECKPOINT_FILE), data)
  await removeSegmentsBelow(disk, dir, journalFrom)
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
