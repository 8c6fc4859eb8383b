/**
 * The Raft log of a member: implements raft's read-only {@link LogStorage} and the writers the
 * member calls while handling a Ready (append, setHardState, applySnapshot, compact). It holds the
 * log in memory: the entries (compacted, last], the hard state, the membership and the compaction
 * point. The `raft_*` tables of the member's sql.js database (MVCC owns `mvcc_*`) receive them only
 * when a checkpoint is taken ({@link RaftLog.persist}), as of the checkpoint's index:
 *
 *   raft_wal(idx INTEGER PRIMARY KEY, term, type, data)   the entries after the checkpoint's index
 *   raft_state(key TEXT PRIMARY KEY, value BLOB)          msgpack values:
 *     'hard'       [term, vote, commit]
 *     'conf'       [voters, learners]            membership as of the checkpoint's index
 *     'compacted'  [index, term]                 the checkpoint's index and term
 *     'checkpoint' [index, term, voters, learners, journalFrom]   what the checkpoint covers
 *     'identity'   [clusterId, memberId]         (written when set, read at recovery)
 *
 * Between checkpoints the journal is what makes the log durable (member-storage.ts journals first),
 * and the database itself is in memory too: a row per entry, written on every Ready and deleted at
 * compaction, cost each member ~6 µs of CPU per entry and bought nothing. A log loaded from a
 * checkpoint therefore starts right after it, as etcd's does after a restart from its snapshot (a
 * follower further behind gets the snapshot); the journal replayed on top brings the rest.
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import type { Database, Statement } from 'sql.js'
import { CompactedError, SnapshotUnavailableError, UnavailableError } from '../raft/types.ts'
import type { ConfState, Entry, HardState, LogStorage, Snapshot, SnapshotMetadata } from '../raft/types.ts'
import type { MemberIdentity } from './identity.ts'
import type { SnapshotSource } from './snapshot-source.ts'

/** What a checkpoint file covers: its snapshot metadata and the first journal segment after it. */
export interface CheckpointMeta extends SnapshotMetadata {
  readonly journalFrom: number
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS raft_wal (
    idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS raft_state (key TEXT PRIMARY KEY, value BLOB NOT NULL);`

/** Shared by the raft_state writes and reads (msgpack's `encode()`/`decode()` build one per call). */
const encoder = new Encoder()
const decoder = new Decoder()

const EMPTY_CONF: ConfState = { voters: [], learners: [] }
const EMPTY_HARD: HardState = { term: 0, vote: 0, commit: 0 }

interface Statements {
  readonly insert: Statement
  readonly put: Statement
  readonly get: Statement
}

/**
 * `e` with its data in a buffer of its own, for the log, which keeps thousands of entries:
 * an entry's data is often a view into a larger buffer (a received frame holds many entries),
 * and keeping the view would keep all of it. Entries whose data spans its whole buffer are kept
 * as they are.
 */
function ownData(e: Entry): Entry {
  const d = e.data
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? e : { ...e, data: d.slice() }
}

export class RaftLog implements LogStorage {
  #db!: Database
  #stmts!: Statements
  #hard: HardState = EMPTY_HARD
  #conf: ConfState = EMPTY_CONF
  #compacted = { index: 0, term: 0 }
  /** Invariant: exactly the entries (compacted.index, lastIndex()], in order. */
  #entries: Entry[] = []
  /** The latest durable checkpoint (metadata and file bytes); null before one is set. */
  #snapshot: SnapshotSource | null = null
  #snapshotWanted = false
  #snapshotAwaited = false

  /** Opens the raft tables of `db` (creating them when missing) and loads the log they hold. */
  constructor(db: Database) {
    this.#open(db)
    const hard = this.#getState('hard') as number[] | null
    this.#hard = hard === null ? EMPTY_HARD : { term: hard[0], vote: hard[1], commit: hard[2] }
    const conf = this.#getState('conf') as number[][] | null
    this.#conf = conf === null ? EMPTY_CONF : { voters: conf[0], learners: conf[1] }
    const compacted = this.#getState('compacted') as number[] | null
    this.#compacted = compacted === null ? { index: 0, term: 0 } : { index: compacted[0], term: compacted[1] }
    const rows = db.prepare('SELECT idx, term, type, data FROM raft_wal ORDER BY idx')
    try {
      while (rows.step()) {
        const [index, term, type, data] = rows.get() as [number, number, number, Uint8Array]
        if (index !== this.lastIndex() + 1)
          throw new Error(`raft-log: raft_wal holds entry ${index} after ${this.lastIndex()} (not contiguous)`)
        this.#entries.push({ index, term, type: type === 0 ? 'normal' : 'conf-change', data })
      }
    } finally {
      rows.free()
    }
  }

  /**
   * Switches to a leader's snapshot's database, whose raft tables are the leader's: nothing is
   * loaded from them, and the caller replaces the log at once (applySnapshot; the hard state and
   * the identity stay this member's). The old database is not touched.
   */
  rebind(db: Database): void {
    for (const s of Object.values(this.#stmts)) s.free()
    this.#open(db)
    this.#snapshot = null
  }

  #open(db: Database): void {
    this.#db = db
    db.exec(SCHEMA)
    this.#stmts = {
      insert: db.prepare('INSERT INTO raft_wal (idx, term, type, data) VALUES (?, ?, ?, ?)'),
      put: db.prepare('INSERT OR REPLACE INTO raft_state (key, value) VALUES (?, ?)'),
      get: db.prepare('SELECT value FROM raft_state WHERE key = ?'),
    }
  }

  // ---- LogStorage (read-only, for raft) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hard, confState: this.#conf }
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.#compacted.index) throw new CompactedError(lo)
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1)
    const out: Entry[] = []
    let bytes = 0
    for (let i = lo; i < hi; i++) {
      const e = this.#entries[i - this.#compacted.index - 1] as Entry
      bytes += e.data.length
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  term(index: number): number {
    if (index < this.#compacted.index) throw new CompactedError(index)
    if (index > this.lastIndex()) throw new UnavailableError(index)
    if (index === this.#compacted.index) return this.#compacted.term
    return (this.#entries[index - this.#compacted.index - 1] as Entry).term
  }

  firstIndex(): number {
    return this.#compacted.index + 1
  }

  lastIndex(): number {
    return this.#compacted.index + this.#entries.length
  }

  /**
   * The latest checkpoint as a snapshot, if it reaches the compaction point (the log is compacted
   * by the applied index, not by checkpoints: member-storage.ts); an empty one at index 0 when
   * there is neither a checkpoint nor a compacted entry. Otherwise throws
   * {@link SnapshotUnavailableError} and sets `snapshotWanted`, so that the storage takes a
   * checkpoint. May read checkpoint.db (snapshot-source.ts); throws StorageFatalError if it no
   * longer holds it.
   */
  snapshot(): Snapshot {
    const latest = this.#snapshot?.snapshot() ?? null
    if (latest !== null && latest.metadata.index >= this.#compacted.index) {
      this.#snapshotAwaited = false
      return latest
    }
    if (latest === null && this.#compacted.index === 0)
      return { metadata: { index: 0, term: 0, confState: this.#conf }, data: new Uint8Array(0) }
    this.#snapshotWanted = true
    throw new SnapshotUnavailableError()
  }

  /** Raft asked for a snapshot that no checkpoint covers yet (see snapshot()); cleared by setSnapshot. */
  get snapshotWanted(): boolean {
    return this.#snapshotWanted
  }

  /**
   * A checkpoint was made durable for a snapshot raft wanted, and raft has not yet taken it: it
   * asks again at its next message to that follower, and finds it only if the log was not
   * compacted past it meanwhile (member-storage.ts holds compaction back while this is true).
   * Set by setSnapshot when a snapshot was wanted; cleared when snapshot() answers one.
   */
  get snapshotAwaited(): boolean {
    return this.#snapshotAwaited
  }

  // ---- writers (the member, while handling a Ready; journal first, see member-storage.ts) ----

  /** Appends contiguous entries, replacing any conflicting tail; entries already compacted are skipped. */
  append(entries: readonly Entry[]): void {
    const live = entries.filter((e) => e.index > this.#compacted.index)
    if (live.length === 0) return
    const first = live[0].index
    if (first > this.lastIndex() + 1)
      throw new Error(`raft-log: append at ${first} leaves a gap after ${this.lastIndex()}`)
    live.forEach((e, i) => {
      if (e.index !== first + i) throw new Error(`raft-log: entries not contiguous at ${e.index}`)
    })
    // In place: the conflicting tail (if any) goes, the new entries follow.
    this.#entries.length = first - this.#compacted.index - 1
    for (const e of live) this.#entries.push(ownData(e))
  }

  setHardState(hs: HardState): void {
    this.#hard = hs
  }

  /** Records the membership as of the applied index (the member may call it when it applies a change). */
  setConfState(cs: ConfState): void {
    this.#conf = cs
  }

  /** Discards the whole log for a snapshot at `meta.index`; commit moves up to it. */
  applySnapshot(meta: SnapshotMetadata): void {
    this.#compacted = { index: meta.index, term: meta.term }
    this.#entries = []
    this.#conf = meta.confState
    if (this.#hard.commit < meta.index) this.#hard = { ...this.#hard, commit: meta.index }
  }

  /** Drops entries up to `index`, keeping its term as the compaction point. No-op at or below it. */
  compact(index: number): void {
    if (index <= this.#compacted.index) return
    const term = this.term(index)
    this.#entries.splice(0, index - this.#compacted.index)
    this.#compacted = { index, term }
  }

  /**
   * Writes the raft tables as of a checkpoint at `meta.index` (the caller then takes the database's
   * image): the entries after it, the hard state, the membership, `meta.index` as the compaction
   * point, and `meta` itself. The log in memory is left as it is. Precondition: the log holds
   * `meta.index` or was compacted exactly to it (a checkpoint is taken at the applied index, and
   * the log is never compacted past that).
   */
  persist(meta: CheckpointMeta): void {
    if (meta.index < this.#compacted.index || meta.index > this.lastIndex())
      throw new Error(`raft-log: a checkpoint at ${meta.index} outside the log (${this.#compacted.index}, ${this.lastIndex()}]`)
    this.#db.exec('BEGIN')
    try {
      this.#db.exec('DELETE FROM raft_wal')
      for (const e of this.#entries) {
        if (e.index > meta.index) this.#stmts.insert.run([e.index, e.term, e.type === 'normal' ? 0 : 1, e.data])
      }
      this.#putState('hard', [this.#hard.term, this.#hard.vote, this.#hard.commit])
      this.#putState('conf', [this.#conf.voters, this.#conf.learners])
      this.#putState('compacted', [meta.index, meta.term])
      this.#putState('checkpoint', [meta.index, meta.term, meta.confState.voters, meta.confState.learners, meta.journalFrom])
      this.#db.exec('COMMIT')
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    }
  }

  // ---- storage-internal state ----

  hardState(): HardState {
    return this.#hard
  }

  /** Sets where `snapshot()` finds the durable checkpoint (its metadata and file bytes). */
  setSnapshot(source: SnapshotSource): void {
    this.#snapshot = source
    this.#snapshotAwaited = this.#snapshotWanted
    this.#snapshotWanted = false
  }

  identity(): MemberIdentity | null {
    const v = this.#getState('identity') as [string, number] | null
    return v === null ? null : { clusterId: v[0], memberId: v[1] }
  }

  setIdentity(id: MemberIdentity): void {
    this.#putState('identity', [id.clusterId, id.memberId])
  }

  checkpointMeta(): CheckpointMeta | null {
    const v = this.#getState('checkpoint') as [number, number, number[], number[], number] | null
    if (v === null) return null
    return { index: v[0], term: v[1], confState: { voters: v[2], learners: v[3] }, journalFrom: v[4] }
  }

  #putState(key: string, value: unknown): void {
    this.#stmts.put.run([key, encoder.encode(value)])
  }

  #getState(key: string): unknown {
    const s = this.#stmts.get
    s.bind([key])
    try {
      return s.step() ? decoder.decode(s.get()[0] as Uint8Array) : null
    } finally {
      s.reset()
    }
  }
}
