/**
 * Opening a data dir: lock it, load the checkpoint (or start an empty database), replay the
 * journal segments written since, and leave a journal ready to append to.
 *
 * Data dir:  LOCK                               held while open (Disk.lock: O_EXCL + pid)
 *            checkpoint.db                      optional; names its first journal segment
 *            journal-<seq>.log ...              contiguous seqs from that segment (or from 1)
 *
 * What is refused, with an error naming the file: another cluster's or member's data (identity
 * in the checkpoint and in every segment header), a truncated or corrupt checkpoint, a corrupt
 * record before the end of the journal (file + offset), a missing segment, segments without the
 * checkpoint they follow. What is repaired: a torn tail of the last segment (cut to the last good
 * record and fsynced), a last segment whose header never became durable (removed), segments and
 * a temp file left over from an interrupted checkpoint (removed).
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import { joinPath } from './disk.ts'
import type { Disk, DiskLock } from './disk.ts'
import { CHECKPOINT_FILE, decodeCheckpoint, openDatabase, removeSegmentsBelow } from './checkpoint.ts'
import { CheckpointCorruptError, DataDirError } from './errors.ts'
import { checkIdentity } from './identity.ts'
import type { MemberIdentity } from './identity.ts'
import { parseSegmentName, scanSegment, segmentName } from './journal-format.ts'
import { Journal } from './journal.ts'
import type { SegmentBase } from './journal.ts'
import { RaftLog } from './raft-log.ts'
import { SnapshotSource } from './snapshot-source.ts'
import type { HardState } from '../raft/types.ts'

export const LOCK_FILE = 'LOCK'

/** What recovery found and did; for logs and tests. */
export interface RecoveryReport {
  /** Index of the checkpoint loaded, or null when there was none. */
  readonly checkpointIndex: number | null
  readonly segments: number
  readonly records: number
  readonly entries: number
  /** Where and why a torn tail was cut off, or null. */
  readonly tornTail: string | null
}

export interface Recovered {
  readonly db: Database
  readonly log: RaftLog
  readonly journal: Journal
  readonly lock: DiskLock
  /** The checkpoint as raft's snapshot; holds the recovered checkpoint, if there was one. */
  readonly snapshots: SnapshotSource
  readonly report: RecoveryReport
}

export async function recover(
  disk: Disk,
  dir: string,
  identity: MemberIdentity,
  sql: SqlJsStatic,
): Promise<Recovered> {
  await disk.mkdir(dir)
  const lock = await disk.lock(joinPath(dir, LOCK_FILE))
  let db: Database | null = null
  try {
    const names = await disk.list(dir)
    if (names.includes(`${CHECKPOINT_FILE}.tmp`)) await disk.remove(joinPath(dir, `${CHECKPOINT_FILE}.tmp`))

    // 1. The checkpoint, or an empty database.
    const ckptPath = joinPath(dir, CHECKPOINT_FILE)
    let base: SegmentBase = { index: 0, term: 0 }
    let journalFrom = 1
    let log: RaftLog
    const snapshots = new SnapshotSource(disk, ckptPath)
    const hasCheckpoint = names.includes(CHECKPOINT_FILE)
    if (hasCheckpoint) {
      const data = await disk.read(ckptPath)
      db = openDatabase(sql, decodeCheckpoint(data, ckptPath), ckptPath)
      log = new RaftLog(db)
      const meta = log.checkpointMeta()
      const found = log.identity()
      if (meta === null || found === null)
        throw new CheckpointCorruptError(ckptPath, 'no checkpoint metadata in raft_state')
      checkIdentity(ckptPath, found, identity)
      base = { index: meta.index, term: meta.term }
      journalFrom = meta.journalFrom
      // The bytes are kept only when they cannot be read back later (see snapshot-source.ts).
      snapshots.set({ index: meta.index, term: meta.term, confState: meta.confState }, data)
      log.setSnapshot(snapshots)
    } else {
      db = openDatabase(sql, null, ckptPath)
      log = new RaftLog(db)
      log.setIdentity(identity)
    }

    // 2. Which segments to replay.
    const all = names
      .map(parseSegmentName)
      .filter((s): s is number => s !== null)
      .sort((a, b) => a - b)
    if (all.some((s) => s < journalFrom)) await removeSegmentsBelow(disk, dir, journalFrom)
    const live = all.filter((s) => s >= journalFrom)
    if (live.length > 0 && live[0] !== journalFrom) {
      const found = segmentName(live[0])
      throw new DataDirError(
        dir,
        hasCheckpoint
          ? `${segmentName(journalFrom)} is missing (the checkpoint continues there; found ${found})`
          : `${CHECKPOINT_FILE} is missing (the journal starts at ${found}, which follows a checkpoint)`,
      )
    }
    live.forEach((s, i) => {
      if (s !== journalFrom + i) throw new DataDirError(dir, `${segmentName(journalFrom + i)} is missing`)
    })

    // 3. Replay.
    let records = 0
    let entries = 0
    let tornTail: string | null = null
    let journal: Journal | null = null
    for (let i = 0; i < live.length; i++) {
      const seq = live[i]
      const path = joinPath(dir, segmentName(seq))
      const last = i === live.length - 1
      const scan = scanSegment(await disk.read(path), seq, path, last)
      const { header, batches } = scan
      if (header !== null) checkIdentity(path, header.identity, identity)
      if (scan.torn !== null) {
        tornTail = `${path}: ${scan.torn}`
        await disk.truncate(path, scan.goodEnd)
        await disk.fsync(path)
      }
      if (header === null) {
        // Only the newest segment can lack a durable header: a rotation that never completed.
        await disk.remove(path)
        await disk.fsyncDir(dir)
        if (i > 0) {
          const prev = live[i - 1]
          const prevPath = joinPath(dir, segmentName(prev))
          const rescan = scanSegment(await disk.read(prevPath), prev, prevPath, false)
          journal = Journal.resume(disk, dir, identity, prev, rescan.goodEnd, rescan.crc)
        }
        break
      }
      if (i === 0 && (header.snapIndex !== base.index || header.snapTerm !== base.term)) {
        const ours = hasCheckpoint
          ? `${CHECKPOINT_FILE} is at ${base.index}/${base.term}`
          : `there is no ${CHECKPOINT_FILE}`
        throw new DataDirError(
          dir,
          `${segmentName(seq)} follows a checkpoint at ${header.snapIndex}/${header.snapTerm}, but ${ours}`,
        )
      }
      let hardState: HardState | null = null
      for (const r of batches) {
        log.append(r.entries)
        hardState = r.hardState ?? hardState
        entries += r.entries.length
      }
      if (hardState !== null) log.setHardState(hardState) // only the newest one matters
      records += 1 + batches.length
      if (last) journal = Journal.resume(disk, dir, identity, seq, scan.goodEnd, scan.crc)
    }
    journal ??= await Journal.create(disk, dir, identity, journalFrom, base)

    return {
      db,
      log,
      journal,
      lock,
      snapshots,
      report: {
        checkpointIndex: hasCheckpoint ? base.index : null,
        segments: live.length,
        records,
        entries,
        tornTail,
      },
    }
  } catch (err) {
    db?.close()
    await lock.release().catch(() => undefined)
    throw err
  }
}
