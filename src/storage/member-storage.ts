/**
 * The storage facade the member actor uses: one data dir, one sql.js database (raft tables +
 * MVCC tables), a journal and checkpoints. Everything a Ready must persist goes through
 * `saveReady` (journal append + ONE fsync); `maybeCheckpoint` bounds the journal and the raft log.
 *
 * The member's loop, per Ready (raft's order):
 *   await storage.saveReady(rd.entries, rd.hardState, rd.snapshot, rd.mustSync)   // durable
 *   mesh.send(rd.messages)
 *   apply rd.committedEntries to MVCC (one sql.js txn each, with the applied index)
 *   raft.advance()
 *   storage.maybeCheckpoint(applied, confState, keep) // the database must not change until the
 *                                                     // next saveReady resolves (see below)
 *
 * A checkpoint has two parts (checkpoint.ts): its consistent point (the raft log written to its
 * tables, a copy-on-write snapshot of the database, taken at no cost, and a rotation of the
 * journal) and the write of its file (copy and checksum the snapshot a slice per turn, write it
 * atomically, remove the old segments). Only the first part goes through the queue; the second runs
 * in the background, so saveReady (what every write waits for) is held up by one rotation, not by
 * the copy nor the file write (issue #8: p99 latency).
 *
 *   queue:      ... saveReady │ checkpoint: snapshot, rotate │ saveReady saveReady saveReady ...
 *   background:                 └─ copy, checksum, write checkpoint.db, remove old segments ─┘
 *                                                          (now durable: raft may send it) ──┘
 *
 * Its cost grows with the database (copy and checksum ~0.5 ms per MiB here), so
 * checkpoints are rare (every 100,000 entries by default). The raft log does not wait for them:
 * it is compacted to `retainEntries` behind the applied index, and a follower that needs an entry
 * compacted since the last checkpoint makes the next maybeCheckpoint take one (raft is told the
 * snapshot is unavailable until then, and asks again).
 *
 * Invariants:
 * - Queued operations run one at a time, in call order, never interleaved. The journal is touched
 *   only by queued operations, the database too but for the end of a checkpoint's background
 *   part, a synchronous step no queued operation sees half of, which otherwise touches only
 *   checkpoint.db and segments below the active one. The raft log in memory is changed by queued
 *   operations, by its compaction (never while a checkpoint's image is pending) and by the
 *   commit-only shortcut of saveReady.
 * - At most one checkpoint file write is under way (#writing), and none while a snapshot is
 *   installed: a queued operation that would write checkpoint.db first waits for it.
 * - Because the snapshot is taken in the queue, a later saveReady resolves only after it: a caller that changes
 *   the database only after its next saveReady resolves (the member) checkpoints exactly the
 *   state it asked for.
 * - Recovery after a crash at any point finds the newest durable checkpoint and every segment it
 *   needs: segments are removed only after the checkpoint covering them is durable, and records
 *   appended during the write go to the segment the new checkpoint names as its journalFrom,
 *   which the old checkpoint's replay reaches too (see checkpoint.ts).
 * - The raft log holds only what the journal or a checkpoint made durable (the journal is written
 *   and fsynced first), except a commit index saved with mustSync=false. Its tables in the
 *   database are written only as a checkpoint's image is taken (RaftLog.persist).
 * - After any I/O failure, in a queued operation or in the background, the storage is failed:
 *   the failing call and every later one (and one under way when the background fails) reject
 *   with the same {@link StorageFatalError}; nothing is retried (a failed fsync leaves the file
 *   unknown).
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import type { Disk, DiskLock } from './disk.ts'
import { decodeCheckpoint, finishCheckpoint, openDatabase, startCheckpoint, takeCheckpoint } from './checkpoint.ts'
import { databaseSize } from './database-image.ts'
import type { StartedCheckpoint } from './checkpoint.ts'
import { CheckpointCorruptError, StorageFatalError } from './errors.ts'
import type { MemberIdentity } from './identity.ts'
import type { Journal } from './journal.ts'
import type { RaftLog } from './raft-log.ts'
import { recover } from './recover.ts'
import type { Recovered, RecoveryReport } from './recover.ts'
import type { SnapshotSource } from './snapshot-source.ts'
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.ts'

export interface StorageOptions {
  /**
   * Checkpoint once the applied index is this far past the last checkpoint. Default 100,000 (etcd
   * 3.4's --snapshot-count): a checkpoint writes the whole database, so its cost grows with it.
   */
  readonly checkpointEntries?: number
  /**
   * Entries by which the first checkpoint that maybeCheckpoint takes after opening, or after
   * installing a leader's snapshot, comes early (0 ≤ it < checkpointEntries; default 0). One taken
   * by `checkpoint` (e.g. the bootstrap's, which every member of a new cluster takes at the same
   * index) leaves it pending. The members of a cluster apply the same entries, so with equal
   * thresholds they would all copy and write their database (~0.5 ms of CPU per MiB, and as many
   * bytes written to disk) at the same index, slowing every member at once; a different stagger
   * per member keeps their checkpoints at different indexes from then on.
   */
  readonly checkpointStagger?: number
  /**
   * ... or once the active journal segment holds this many bytes, or as many as the database if
   * that is more. Default 64 MiB. Past it, a checkpoint (which writes the whole database) comes
   * at most once per its own size of journal: the bytes written to disk stay within twice what
   * the journal takes, and a restart replays at most a database's worth of journal.
   */
  readonly checkpointBytes?: number
  /**
   * Applied entries kept in the raft log, for followers slightly behind (older ones are compacted
   * whatever the checkpoints: a follower further behind gets a snapshot). Default 5,000.
   */
  readonly retainEntries?: number
}

/** Entries a compaction waits to drop at once, at most (see #compactStep). */
const COMPACT_STEP = 256

/** How long a checkpoint awaited by raft holds compaction back, in retainEntries (see #maybeCompact). */
const AWAIT_LIMIT = 4

export class MemberStorage {
  readonly #disk: Disk
  readonly #dir: string
  readonly #identity: MemberIdentity
  readonly #sql: SqlJsStatic
  readonly #journal: Journal
  readonly #lock: DiskLock
  readonly #log: RaftLog
  readonly #report: RecoveryReport
  readonly #snapshots: SnapshotSource
  readonly #checkpointEntries: number
  readonly #checkpointStagger: number
  /** What the next checkpoint's threshold is short of #checkpointEntries (see checkpointStagger). */
  #earlyBy: number
  readonly #checkpointBytes: number
  readonly #retainEntries: number
  /** Compaction runs once it would drop this many entries (a splice now and then, not one per Ready). */
  readonly #compactStep: number
  #db: Database
  /** The last durable checkpoint. */
  #checkpointIndex: number
  /**
   * The last checkpoint past its consistent point: #checkpointIndex, or the one being written.
   * The thresholds of maybeCheckpoint count from here.
   */
  #takenIndex: number
  /**
   * While a checkpoint file is being written: a promise that settles (never rejects) when that
   * background part ends, successfully or not (a failure is in #failed). Else null.
   */
  #writing: Promise<void> | null = null
  /**
   * maybeCheckpoint calls that found a checkpoint due and have not yet taken its image (or found
   * it no longer due). While above zero the database must not change: see checkpointPending.
   */
  #imagesPending = 0
  /** Queued operations not yet finished (see saveReady's shortcut). */
  #queued = 0
  /**
   * A hard state saved without entries and without sync while the queue was idle, not yet in the
   * journal: it goes into the next record, or one of its own at close (a crash may lose it, as it
   * may lose any unsynced one). The raft log holds it already (and a checkpoint taken meanwhile
   * writes it).
   */
  #deferredHard: HardState | null = null
  /** The queue: settles when the last queued operation ends (never rejects). */
  #queue: Promise<unknown> = Promise.resolve()
  #failed: StorageFatalError | null = null
  #closed = false

  private constructor(
    disk: Disk,
    dir: string,
    identity: MemberIdentity,
    sql: SqlJsStatic,
    r: Recovered,
    o: StorageOptions,
  ) {
    this.#disk = disk
    this.#dir = dir
    this.#identity = identity
    this.#sql = sql
    this.#db = r.db
    this.#log = r.log
    this.#journal = r.journal
    this.#lock = r.lock
    this.#report = r.report
    this.#snapshots = r.snapshots
    this.#checkpointIndex = r.report.checkpointIndex ?? 0
    this.#takenIndex = this.#checkpointIndex
    this.#checkpointEntries = o.checkpointEntries ?? 100_000
    const stagger = Math.floor(o.checkpointStagger ?? 0)
    this.#checkpointStagger = Number.isFinite(stagger) ? Math.max(0, Math.min(stagger, this.#checkpointEntries - 1)) : 0
    this.#earlyBy = this.#checkpointStagger
    this.#checkpointBytes = o.checkpointBytes ?? 64 * 1024 * 1024
    this.#retainEntries = o.retainEntries ?? 5_000
    this.#compactStep = Math.max(1, Math.min(COMPACT_STEP, this.#retainEntries >> 4))
  }

  /**
   * Opens (recovering) the data dir `dir` for `identity`. `sql` is the module from `initSqlJs()`.
   * Throws if the dir is locked, belongs to another cluster or member, or is damaged.
   */
  static async open(
    disk: Disk,
    dir: string,
    identity: MemberIdentity,
    sql: SqlJsStatic,
    options: StorageOptions = {},
  ): Promise<MemberStorage> {
    const r = await recover(disk, dir, identity, sql)
    return new MemberStorage(disk, dir, identity, sql, r, options)
  }

  /** The member's database. Replaced by `installSnapshot` (which returns the new one). */
  get db(): Database {
    return this.#db
  }

  /** Raft's LogStorage, plus the writers; the same object for the member's whole life. */
  get raftLog(): RaftLog {
    return this.#log
  }

  get recovery(): RecoveryReport {
    return this.#report
  }

  /** Index of the last durable checkpoint (0 before the first; one being written is not counted). */
  get checkpointIndex(): number {
    return this.#checkpointIndex
  }

  /**
   * Persists one Ready: the snapshot (if any) first, then the entries and hard state as ONE
   * journal record and ONE fsync. Resolves when durable; only then may messages go out.
   * `mustSync = false` (raft's Ready.mustSync) skips the fsync: the record rides on the next one.
   * It waits for a checkpoint's snapshot and journal rotation, not for its file write, unless it
   * carries a snapshot (installing one writes checkpoint.db, so that waits for the write).
   */
  saveReady(
    entries: readonly Entry[],
    hardState: HardState | null,
    snapshot: Snapshot | null,
    mustSync = true,
  ): Promise<void> {
    const image = snapshot !== null && snapshot.metadata.index > 0 ? this.#checkSnapshot(snapshot) : null
    if (image instanceof Error) return Promise.reject(image)
    // Only a new commit index (no entries, no sync asked for): nothing to wait for. Written with
    // the next record instead of on its own, so the caller goes on without a round trip to the
    // disk (a leader's every other Ready is like this). Only with nothing queued, so that it is
    // ordered after every earlier operation, and the database is not changed under a checkpoint.
    if (snapshot === null && entries.length === 0 && !mustSync && this.#queued === 0 && this.#failed === null && !this.#closed) {
      if (hardState !== null) {
        this.#deferredHard = hardState
        this.#log.setHardState(hardState)
      }
      return Promise.resolve()
    }
    return this.#serial('saveReady', async () => {
      if (snapshot !== null && image !== null) await this.#install(snapshot, image)
      if (entries.length === 0 && hardState === null) return
      await this.#journal.appendBatch(entries, hardState ?? this.#deferredHard)
      this.#deferredHard = null
      if (mustSync) await this.#journal.sync()
      this.#log.append(entries)
      if (hardState !== null) this.#log.setHardState(hardState)
    })
  }

  /**
   * Called after each applied Ready. Takes a checkpoint when `appliedIndex` is `checkpointEntries`
   * past the last one, or the journal holds `checkpointBytes`, or raft asked for a snapshot that no
   * checkpoint covers (RaftLog.snapshotWanted: a follower is behind the compacted log). Otherwise
   * compacts the raft log to `retainEntries` behind `appliedIndex`, but never past `keepAfter`
   * (the lowest snapshot being sent to a follower, which needs the entries after it).
   * `confState` is the membership as of `appliedIndex`, and the MVCC tables must hold exactly the
   * state after applying it, until the next saveReady resolves (the snapshot is taken before that).
   * Resolves true when a checkpoint was taken, once it is durable; operations called after this
   * one need not wait for that (see the module doc). Resolves false when none was due at the
   * call, or when one is due while the previous one is still being written: a checkpoint never
   * waits for another in the queue, where it would hold up saveReady; a later call takes it.
   */
  maybeCheckpoint(appliedIndex: number, confState: ConfState, keepAfter: number | null = null): Promise<boolean> {
    // Decided now, so that checkpointPending says at once whether the database must stay as it
    // is; only a checkpoint due now is taken (and only if still due when its turn comes).
    // A closed or failed storage answers through the queue, as every call does.
    if (this.#closed || this.#failed !== null) return this.#durable(this.#serial('checkpoint', async () => null))
    // Nothing is queued when none is due, so that a saveReady right after may take its shortcut.
    if (!this.#checkpointDue(appliedIndex)) {
      this.#maybeCompact(appliedIndex, keepAfter)
      return Promise.resolve(false)
    }
    this.#imagesPending++
    const started = this.#serial('checkpoint', async () => {
      if (!this.#checkpointDue(appliedIndex)) return null
      const checkpoint = await this.#startCheckpoint(appliedIndex, confState)
      this.#earlyBy = 0
      return checkpoint
    })
    const taken = (): void => {
      this.#imagesPending--
    }
    started.then(taken, taken)
    return this.#durable(started)
  }

  /**
   * Compacts the raft log (see maybeCheckpoint) once that drops at least #compactStep entries.
   * Independent of checkpoints: the journal holds every entry a recovery replays, and raft asks for
   * a snapshot (RaftLog.snapshot) when a follower needs an entry that is gone. Not while a
   * checkpoint's image is pending (RaftLog.persist writes the log as of the index it was asked for,
   * which the log must still hold). Entries up to `appliedIndex` are committed and persisted here,
   * so the log holds them. While raft wants a snapshot, not past the last checkpoint taken: the log
   * would then refuse that checkpoint too once durable and want a newer one, and under a steady
   * flow of entries (lease checkpoints suffice) no snapshot would ever go out. Then, once it is
   * durable and until raft takes it (at its next message to the follower), not past it either, for
   * the same reason; but only while the log keeps at most AWAIT_LIMIT × retainEntries entries for
   * it (the follower may be gone).
   */
  #maybeCompact(appliedIndex: number, keepAfter: number | null): void {
    if (this.#imagesPending > 0) return
    const awaited = this.#log.snapshotAwaited && appliedIndex - this.#checkpointIndex <= AWAIT_LIMIT * this.#retainEntries
    const pinned = this.#log.snapshotWanted ? this.#takenIndex : awaited ? this.#checkpointIndex : Infinity
    const to = Math.min(appliedIndex - this.#retainEntries, keepAfter ?? Infinity, pinned)
    if (to - this.#log.firstIndex() + 1 >= this.#compactStep) this.#log.compact(to)
  }

  /**
   * True from a maybeCheckpoint call that found a checkpoint due until that checkpoint has taken
   * its image of the database: meanwhile the database must hold exactly the state it was asked
   * for. False whenever maybeCheckpoint found nothing due, so a caller may go on changing the
   * database at once (the member applies committed entries early, see MemberActor).
   */
  get checkpointPending(): boolean {
    return this.#imagesPending > 0
  }

  /** Whether a checkpoint at `appliedIndex` is due now (see maybeCheckpoint). */
  #checkpointDue(appliedIndex: number): boolean {
    if (appliedIndex <= this.#takenIndex || this.#writing !== null) return false
    if (this.#log.snapshotWanted) return true
    const entries = appliedIndex - this.#takenIndex
    if (entries >= this.#checkpointEntries - this.#earlyBy) return true
    return this.#journal.size >= this.#checkpointBytes && this.#journal.size >= databaseSize(this.#db)
  }

  /**
   * Takes a checkpoint now (see maybeCheckpoint), if `appliedIndex` is past the last one, waiting
   * (in the queue) for one being written first. Resolves once a checkpoint at or past
   * `appliedIndex` is durable: true when this call took it.
   */
  checkpoint(appliedIndex: number, confState: ConfState): Promise<boolean> {
    const started = this.#serial('checkpoint', async () => {
      await this.#idle()
      if (appliedIndex <= this.#takenIndex) return null
      return this.#startCheckpoint(appliedIndex, confState)
    })
    return this.#durable(started)
  }

  /** The latest durable checkpoint as a raft snapshot (data = the checkpoint file's bytes). */
  snapshotForFollower(): Snapshot {
    return this.#log.snapshot()
  }

  /**
   * Replaces the database with a leader's snapshot, durably (a new checkpoint). The old database
   * is closed; the member must rebuild its MVCC store on the returned one.
   */
  installSnapshot(snapshot: Snapshot): Promise<Database> {
    const image = this.#checkSnapshot(snapshot)
    if (image instanceof Error) return Promise.reject(image)
    return this.#serial('installSnapshot', async () => {
      await this.#install(snapshot, image)
      return this.#db
    })
  }

  /**
   * Waits for pending operations and for a checkpoint being written (whatever their outcome),
   * journals a commit saved alone, then releases the data dir. The database is closed.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    const done = this.#queue.then(
      async () => {
        await this.#idle()
        // A commit saved alone is lost by a crash (it was never synced), not by a clean stop: a
        // member restarted after one applies at once everything it knew committed, as etcd does.
        const deferred = this.#deferredHard
        if (deferred !== null && this.#failed === null) {
          this.#deferredHard = null
          await this.#journal.appendBatch([], deferred)
          await this.#journal.sync()
        }
        await this.#disk.close()
        await this.#lock.release()
        this.#db.close()
      },
      () => undefined,
    )
    this.#queue = done
    return done
  }

  /**
   * The queued part of a checkpoint (snapshot, rotation), then starts the background part. Returns
   * (in a box, so that the queue does not wait for it) a promise of its durability that rejects
   * with the storage's fatal error. Precondition: no checkpoint is being written.
   */
  async #startCheckpoint(appliedIndex: number, confState: ConfState): Promise<{ durable: Promise<void> }> {
    if (this.#writing !== null) throw new Error('member-storage: two checkpoint writes at once (invariant broken)')
    const meta = { index: appliedIndex, term: this.#log.term(appliedIndex), confState }
    this.#log.setConfState(confState)
    const started = await startCheckpoint(this.#db, this.#log, this.#journal, meta)
    this.#takenIndex = appliedIndex
    const durable = this.#finishCheckpoint(started)
    // Settles after #finishCheckpoint, then clears itself: its own callback is the first one on
    // it, so whoever awaits it finds #writing already null (or a newer write) afterwards.
    const writing = durable.then(
      () => undefined,
      () => undefined,
    )
    this.#writing = writing
    void writing.then(() => {
      if (this.#writing === writing) this.#writing = null
    })
    return { durable }
  }

  /** The background part of a checkpoint: its file, the old segments, then the in-memory state. */
  async #finishCheckpoint(started: StartedCheckpoint): Promise<void> {
    const { index } = started.meta
    try {
      // A storage that failed before this started writes nothing more. One that fails during it
      // fails this too, below (the file itself would still be a valid checkpoint: the image is
      // consistent whatever happens to the journal after the rotation).
      if (this.#failed !== null) {
        started.image.release()
        throw this.#failed
      }
      await finishCheckpoint(this.#disk, this.#dir, started, this.#snapshots)
      if (this.#failed !== null) throw this.#failed
      // Durable: raft may be offered it as the snapshot now (its file is in place).
      this.#snapshots.replaced()
      this.#log.setSnapshot(this.#snapshots)
      this.#checkpointIndex = index
    } catch (err) {
      throw this.#fail('checkpoint', err)
    }
  }

  /** `started`'s boxed durability as maybeCheckpoint's answer. */
  async #durable(started: Promise<{ durable: Promise<void> } | null>): Promise<boolean> {
    const box = await started
    if (box === null) return false
    await box.durable
    return true
  }

  /** Waits until no checkpoint file is being written (however that write ended). */
  async #idle(): Promise<void> {
    while (this.#writing !== null) await this.#writing
  }

  /** Records the first failure (later ones are consequences) and returns it. */
  #fail(what: string, err: unknown): StorageFatalError {
    this.#failed ??= new StorageFatalError(`${what}: ${(err as Error).message}`, err)
    return this.#failed
  }

  /**
   * The SQLite image of a snapshot, or the error that makes it unusable. A bad snapshot is the
   * sender's problem: it is refused without failing this storage.
   */
  #checkSnapshot(snapshot: Snapshot): Uint8Array | CheckpointCorruptError {
    try {
      return decodeCheckpoint(snapshot.data, `snapshot at index ${snapshot.metadata.index}`)
    } catch (err) {
      if (err instanceof CheckpointCorruptError) return err
      throw err
    }
  }

  async #install(snapshot: Snapshot, image: Uint8Array): Promise<void> {
    // It replaces the database and writes checkpoint.db itself: never alongside a checkpoint write.
    await this.#idle()
    if (this.#failed !== null) throw this.#failed
    const { metadata } = snapshot
    const db = openDatabase(this.#sql, image, `snapshot at index ${metadata.index}`)
    const hard = this.#log.hardState()
    const old = this.#db
    this.#log.rebind(db)
    this.#db = db
    old.close()
    this.#log.applySnapshot(metadata)
    this.#log.setHardState({ ...hard, commit: Math.max(hard.commit, metadata.index) })
    this.#log.setIdentity(this.#identity)
    await takeCheckpoint(this.#disk, this.#dir, db, this.#log, this.#journal, metadata, this.#snapshots)
    this.#deferredHard = null // the checkpoint holds it (the hard state above)
    this.#snapshots.replaced()
    this.#log.setSnapshot(this.#snapshots)
    this.#checkpointIndex = metadata.index
    this.#takenIndex = metadata.index
    this.#earlyBy = this.#checkpointStagger // in step with the leader's checkpoint: stagger again
  }

  #serial<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`storage: ${what} after close`))
    const run = async (): Promise<T> => {
      if (this.#failed !== null) throw this.#failed
      let result: T
      try {
        result = await op()
      } catch (err) {
        throw this.#fail(what, err)
      }
      // A checkpoint write that failed while this ran failed the storage: this call fails too.
      if (this.#failed !== null) throw this.#failed
      return result
    }
    this.#queued++
    const result = this.#queue.then(run, run).finally(() => {
      this.#queued--
    })
    this.#queue = result.catch(() => undefined)
    return result
  }
}
