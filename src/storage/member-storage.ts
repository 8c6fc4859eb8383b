/**
 * The storage facade the member actor uses: one data dir, one sql.js database (raft tables +
 * MVCC tables), a journal and checkpoints. Everything a Ready must persist goes through
 * `saveReady` (journal append + ONE fsync); `maybeCheckpoint` bounds the journal.
 *
 * The member's loop, per Ready (raft's order):
 *   await storage.saveReady(rd.entries, rd.hardState, rd.snapshot, rd.mustSync)   // durable
 *   mesh.send(rd.messages)
 *   apply rd.committedEntries to MVCC (one sql.js txn each, with the applied index)
 *   raft.advance()
 *   await storage.maybeCheckpoint(applied, confState)
 *
 * Invariants:
 * - Operations run one at a time, in call order (an internal queue), never interleaved.
 * - The raft tables in the database hold only what the journal or a checkpoint made durable
 *   (the journal is written and fsynced first), except a commit index saved with mustSync=false.
 * - After any I/O failure the storage is failed: that call and every later one reject with the
 *   same {@link StorageFatalError}; nothing is retried (a failed fsync leaves the file unknown).
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import type { Disk, DiskLock } from './disk.ts'
import { decodeCheckpoint, openDatabase, takeCheckpoint } from './checkpoint.ts'
import { CheckpointCorruptError, StorageFatalError } from './errors.ts'
import type { MemberIdentity } from './identity.ts'
import type { Journal } from './journal.ts'
import type { RaftLog } from './raft-log.ts'
import { recover } from './recover.ts'
import type { Recovered, RecoveryReport } from './recover.ts'
import type { SnapshotSource } from './snapshot-source.ts'
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.ts'

export interface StorageOptions {
  /** Checkpoint once the applied index is this far past the last checkpoint. Default 10,000. */
  readonly checkpointEntries?: number
  /** ... or once the active journal segment holds this many bytes. Default 64 MiB. */
  readonly checkpointBytes?: number
  /** Entries kept in the log behind a checkpoint, for followers slightly behind. Default 5,000. */
  readonly retainEntries?: number
  /** Recent entries the raft log keeps in memory. Default 4,096. */
  readonly cacheEntries?: number
}

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
  readonly #checkpointBytes: number
  readonly #retainEntries: number
  #db: Database
  #checkpointIndex: number
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
    this.#checkpointEntries = o.checkpointEntries ?? 10_000
    this.#checkpointBytes = o.checkpointBytes ?? 64 * 1024 * 1024
    this.#retainEntries = o.retainEntries ?? 5_000
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
    const r = await recover(disk, dir, identity, sql, options.cacheEntries)
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

  /** Index of the last durable checkpoint (0 before the first). */
  get checkpointIndex(): number {
    return this.#checkpointIndex
  }

  /**
   * Persists one Ready: the snapshot (if any) first, then the entries and hard state as ONE
   * journal record and ONE fsync. Resolves when durable; only then may messages go out.
   * `mustSync = false` (raft's Ready.mustSync) skips the fsync: the record rides on the next one.
   */
  saveReady(
    entries: readonly Entry[],
    hardState: HardState | null,
    snapshot: Snapshot | null,
    mustSync = true,
  ): Promise<void> {
    const image = snapshot !== null && snapshot.metadata.index > 0 ? this.#checkSnapshot(snapshot) : null
    if (image instanceof Error) return Promise.reject(image)
    return this.#serial('saveReady', async () => {
      if (snapshot !== null && image !== null) await this.#install(snapshot, image)
      if (entries.length === 0 && hardState === null) return
      await this.#journal.appendBatch(entries, hardState)
      if (mustSync) await this.#journal.sync()
      this.#log.transaction(() => {
        this.#log.append(entries)
        if (hardState !== null) this.#log.setHardState(hardState)
      })
    })
  }

  /**
   * Takes a checkpoint when `appliedIndex` is `checkpointEntries` past the last one, or the journal
   * holds `checkpointBytes`; then compacts the raft log. `confState` is the membership as of
   * `appliedIndex`, and the MVCC tables must hold exactly the state after applying it.
   * Resolves true when a checkpoint was taken (and is durable).
   */
  maybeCheckpoint(appliedIndex: number, confState: ConfState): Promise<boolean> {
    return this.#serial('checkpoint', async () => {
      if (appliedIndex <= this.#checkpointIndex) return false
      const entries = appliedIndex - this.#checkpointIndex
      if (entries < this.#checkpointEntries && this.#journal.size < this.#checkpointBytes) return false
      await this.#checkpoint(appliedIndex, confState)
      return true
    })
  }

  /** Takes a checkpoint now (see maybeCheckpoint), if `appliedIndex` is past the last one. */
  checkpoint(appliedIndex: number, confState: ConfState): Promise<boolean> {
    return this.#serial('checkpoint', async () => {
      if (appliedIndex <= this.#checkpointIndex) return false
      await this.#checkpoint(appliedIndex, confState)
      return true
    })
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

  /** Waits for pending operations, then releases the data dir. The database is closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    const done = this.#queue.then(
      async () => {
        await this.#disk.close()
        await this.#lock.release()
        this.#db.close()
      },
      () => undefined,
    )
    this.#queue = done
    return done
  }

  async #checkpoint(appliedIndex: number, confState: ConfState): Promise<void> {
    const meta = { index: appliedIndex, term: this.#log.term(appliedIndex), confState }
    this.#log.setConfState(confState)
    await takeCheckpoint(this.#disk, this.#dir, this.#db, this.#log, this.#journal, meta, this.#snapshots)
    this.#snapshots.replaced()
    this.#log.setSnapshot(this.#snapshots)
    this.#checkpointIndex = appliedIndex
    this.#log.compact(Math.min(appliedIndex, Math.max(0, appliedIndex - this.#retainEntries)))
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
    const { metadata } = snapshot
    const db = openDatabase(this.#sql, image, `snapshot at index ${metadata.index}`)
    const hard = this.#log.hardState()
    const old = this.#db
    this.#log.rebind(db)
    this.#db = db
    old.close()
    this.#log.transaction(() => {
      this.#log.applySnapshot(metadata)
      this.#log.setHardState({ ...hard, commit: Math.max(hard.commit, metadata.index) })
      this.#log.setIdentity(this.#identity)
    })
    await takeCheckpoint(this.#disk, this.#dir, db, this.#log, this.#journal, metadata, this.#snapshots)
    this.#snapshots.replaced()
    this.#log.setSnapshot(this.#snapshots)
    this.#checkpointIndex = metadata.index
  }

  #serial<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`storage: ${what} after close`))
    const run = async (): Promise<T> => {
      if (this.#failed !== null) throw this.#failed
      try {
        return await op()
      } catch (err) {
        this.#failed = new StorageFatalError(`${what}: ${(err as Error).message}`, err)
        throw this.#failed
      }
    }
    const result = this.#queue.then(run, run)
    this.#queue = result.catch(() => undefined)
    return result
  }
}
