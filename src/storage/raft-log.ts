/**
 * The Raft log on the member's sql.js database: implements raft's read-only {@link LogStorage}
 * and the writers the member calls while handling a Ready (append, setHardState, applySnapshot,
 * compact). Owns the `raft_*` tables (MVCC owns `mvcc_*` in the same database):
 *
 *   raft_wal(idx INTEGER PRIMARY KEY, term, type, data)   entries (compacted, lastIndex]
 *   raft_state(key TEXT PRIMARY KEY, value BLOB)          msgpack values:
 *     'hard'       [term, vote, commit]
 *     'conf'       [voters, learners]            membership as of the applied index
 *     'compacted'  [index, term]                 the log's compaction point (firstIndex - 1)
 *     'identity'   [clusterId, memberId]
 *     'checkpoint' [index, term, voters, learners, journalFrom]   what a checkpoint file covers
 *
 * The database is in memory, so these writes are not durable by themselves: member-storage.ts
 * journals them first (and checkpoints export them). A tail cache of recent entries serves the
 * leader's replication reads without SQL.
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
  readonly deleteFrom: Statement
  readonly deleteUpTo: Statement
  readonly range: Statement
  readonly term: Statement
  readonly put: Statement
  readonly get: Statement
}

/**
 * `e` with its data in a buffer of its own, for the tail cache, which keeps thousands of entries:
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
  readonly #cacheEntries: number
  #hard: HardState = EMPTY_HARD
  #conf: ConfState = EMPTY_CONF
  #compacted = { index: 0, term: 0 }
  /** Invariant: compacted.index <= last; raft_wal holds exactly (compacted.index, last]. */
  #last = 0
  /** Invariant: the entries (last - tail.length, last], at most 2 × #cacheEntries of them. */
  #tail: Entry[] = []
  /** The latest durable checkpoint (metadata and file bytes); null before one is set. */
  #snapshot: SnapshotSource | null = null
  #snapshotWanted = false
  #snapshotAwaited = false
  #txDepth = 0

  /** Opens the raft tables of `db` (creating them when missing) and loads their state. */
  constructor(db: Database, cacheEntries = 4096) {
    this.#cacheEntries = cacheEntries
    this.rebind(db)
  }

  /** Switches to another database (after a snapshot replaced it); the old one is not touched. */
  rebind(db: Database): void {
    if (this.#db !== undefined) for (const s of Object.values(this.#stmts)) s.free()
    this.#db = db
    db.exec(SCHEMA)
    this.#stmts = {
      insert: db.prepare('INSERT INTO raft_wal (idx, term, type, data) VALUES (?, ?, ?, ?)'),
      deleteFrom: db.prepare('DELETE FROM raft_wal WHERE idx >= ?'),
      deleteUpTo: db.prepare('DELETE FROM raft_wal WHERE idx <= ?'),
      range: db.prepare('SELECT idx, term, type, data FROM raft_wal WHERE idx >= ? AND idx < ? ORDER BY idx'),
      term: db.prepare('SELECT term FROM raft_wal WHERE idx = ?'),
      put: db.prepare('INSERT OR REPLACE INTO raft_state (key, value) VALUES (?, ?)'),
      get: db.prepare('SELECT value FROM raft_state WHERE key = ?'),
    }
    const hard = this.#getState('hard') as number[] | null
    this.#hard = hard === null ? EMPTY_HARD : { term: hard[0], vote: hard[1], commit: hard[2] }
    const conf = this.#getState('conf') as number[][] | null
    this.#conf = conf === null ? EMPTY_CONF : { voters: conf[0], learners: conf[1] }
    const compacted = this.#getState('compacted') as number[] | null
    this.#compacted = compacted === null ? { index: 0, term: 0 } : { index: compacted[0], term: compacted[1] }
    const max = db.exec('SELECT MAX(idx) FROM raft_wal')[0]?.values[0]?.[0]
    this.#last = typeof max === 'number' ? max : this.#compacted.index
    this.#tail = []
    this.#snapshot = null
  }

  // ---- LogStorage (read-only, for raft) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hard, confState: this.#conf }
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.#compacted.index) throw new CompactedError(lo)
    if (hi > this.#last + 1) throw new UnavailableError(hi - 1)
    const out: Entry[] = []
    let bytes = 0
    const take = (e: Entry): boolean => {
      bytes += e.data.length
      if (out.length > 0 && bytes > maxBytes) return false
      out.push(e)
      return true
    }
    const tailStart = this.#last + 1 - this.#tail.length
    if (lo < tailStart) {
      const s = this.#stmts.range
      s.bind([lo, Math.min(hi, tailStart)])
      try {
        while (s.step()) {
          const [index, term, type, data] = s.get() as [number, number, number, Uint8Array]
          if (!take({ index, term, type: type === 0 ? 'normal' : 'conf-change', data })) return out
        }
      } finally {
        s.reset()
      }
    }
    for (let i = Math.max(lo, tailStart); i < hi; i++) if (!take(this.#tail[i - tailStart])) return out
    return out
  }

  term(index: number): number {
    if (index < this.#compacted.index) throw new CompactedError(index)
    if (index > this.#last) throw new UnavailableError(index)
    if (index === this.#compacted.index) return this.#compacted.term
    const tailStart = this.#last + 1 - this.#tail.length
    if (index >= tailStart) return this.#tail[index - tailStart].term
    const s = this.#stmts.term
    s.bind([index])
    try {
      if (!s.step()) throw new Error(`raft-log: entry ${index} missing from raft_wal (invariant broken)`)
      return s.get()[0] as number
    } finally {
      s.reset()
    }
  }

  firstIndex(): number {
    return this.#compacted.index + 1
  }

  lastIndex(): number {
    return this.#last
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
    if (first > this.#last + 1)
      throw new Error(`raft-log: append at ${first} leaves a gap after ${this.#last}`)
    live.forEach((e, i) => {
      if (e.index !== first + i) throw new Error(`raft-log: entries not contiguous at ${e.index}`)
    })
    this.transaction(() => {
      if (first <= this.#last) this.#stmts.deleteFrom.run([first])
      for (const e of live) this.#stmts.insert.run([e.index, e.term, e.type === 'normal' ? 0 : 1, e.data])
    })
    // In place: the cache is trimmed to #cacheEntries only once it holds twice that (amortized O(1)).
    this.#tail.length = Math.max(0, this.#tail.length - (this.#last + 1 - first))
    for (const e of live) this.#tail.push(ownData(e))
    if (this.#tail.length > 2 * this.#cacheEntries) this.#tail.splice(0, this.#tail.length - this.#cacheEntries)
    this.#last = first + live.length - 1
  }

  setHardState(hs: HardState): void {
    this.#putState('hard', [hs.term, hs.vote, hs.commit])
    this.#hard = hs
  }

  /** Records the membership as of the applied index (the member may call it when it applies a change). */
  setConfState(cs: ConfState): void {
    this.#putState('conf', [cs.voters, cs.learners])
    this.#conf = cs
  }

  /** Discards the whole log for a snapshot at `meta.index`; commit moves up to it. */
  applySnapshot(meta: SnapshotMetadata): void {
    this.transaction(() => {
      this.#db.exec('DELETE FROM raft_wal')
      this.#putState('compacted', [meta.index, meta.term])
      this.setConfState(meta.confState)
      if (this.#hard.commit < meta.index) this.setHardState({ ...this.#hard, commit: meta.index })
    })
    this.#compacted = { index: meta.index, term: meta.term }
    this.#last = meta.index
    this.#tail = []
  }

  /** Drops entries up to `index`, keeping its term as the compaction point. No-op at or below it. */
  compact(index: number): void {
    if (index <= this.#compacted.index) return
    const term = this.term(index)
    this.transaction(() => {
      this.#stmts.deleteUpTo.run([index])
      this.#putState('compacted', [index, term])
    })
    this.#compacted = { index, term }
    const tailStart = this.#last + 1 - this.#tail.length
    if (index >= tailStart) this.#tail = this.#tail.slice(index + 1 - tailStart)
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

  setCheckpointMeta(m: CheckpointMeta): void {
    this.#putState('checkpoint', [m.index, m.term, m.confState.voters, m.confState.learners, m.journalFrom])
  }

  /** Runs `fn` in one SQL transaction (joining the caller's if one is open). */
  transaction<T>(fn: () => T): T {
    if (this.#txDepth > 0) return fn()
    this.#db.exec('BEGIN')
    this.#txDepth++
    try {
      const result = fn()
      this.#db.exec('COMMIT')
      return result
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    } finally {
      this.#txDepth--
    }
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
