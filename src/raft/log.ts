/**
 * The Raft log as one node sees it: stable entries (read through LogStorage) followed by the
 * unstable tail, plus the commit and apply cursors.
 *
 *   firstIndex-1 (snapshot)   applied   applying   committed   lastIndex
 *        |----------------------|----------|-----------|------------|
 *
 * Invariant: firstIndex-1 <= applied <= applying <= committed <= lastIndex, except while a
 * restored snapshot awaits persistence (applied catches up to it when it is acknowledged).
 * Invariant: committed never decreases (an entry once committed is never truncated).
 * `applying` is how far committed entries have been handed to the caller; `applied` how far the
 * caller has reported them applied (through `advance()`).
 *
 * @module
 */
import { UnstableLog } from './log-unstable.ts'
import { CompactedError, UnavailableError, type Entry, type LogStorage, type Snapshot } from './types.ts'

/** Keeps the first entry, then as many more as fit in `maxBytes` of entry data. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents
  let size = (ents[0] as Entry).data.length
  let n = 1
  for (; n < ents.length; n++) {
    size += (ents[n] as Entry).data.length
    if (size > maxBytes) break
  }
  return n === ents.length ? ents : ents.slice(0, n)
}

export class RaftLog {
  readonly #storage: LogStorage
  readonly #unstable: UnstableLog
  #committed: number
  #applying: number
  #applied: number

  /** Opens the log over `storage` with the persisted commit index; nothing applied past the snapshot. */
  constructor(storage: LogStorage, committed: number) {
    this.#storage = storage
    this.#unstable = new UnstableLog(storage.lastIndex() + 1)
    const first = storage.firstIndex()
    this.#applied = first - 1
    this.#applying = first - 1
    this.#committed = Math.max(committed, first - 1)
    if (this.#committed > this.lastIndex()) {
      throw new Error(`raft: commit ${this.#committed} is beyond the last stored entry ${this.lastIndex()}`)
    }
  }

  get committed(): number {
    return this.#committed
  }
  get applied(): number {
    return this.#applied
  }

  firstIndex(): number {
    return this.#unstable.maybeFirstIndex() ?? this.#storage.firstIndex()
  }

  lastIndex(): number {
    return this.#unstable.maybeLastIndex() ?? this.#storage.lastIndex()
  }

  /** Term of entry `index`; throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(index: number): number {
    if (index < this.firstIndex() - 1) throw new CompactedError(index)
    if (index > this.lastIndex()) throw new UnavailableError(index)
    return this.#unstable.maybeTerm(index) ?? this.#storage.term(index)
  }

  /** Term of entry `index`, or null when it is compacted or beyond the log. */
  termOrNull(index: number): number | null {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return null
    return this.#unstable.maybeTerm(index) ?? this.#storage.term(index)
  }

  lastTerm(): number {
    return this.term(this.lastIndex())
  }

  matchTerm(index: number, term: number): boolean {
    return this.termOrNull(index) === term
  }

  /** §5.4.1: a log ending at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** The index of the first entry of `ents` that is not already in the log with the same term, or 0. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index
    return 0
  }

  /**
   * The largest index <= `index` whose term is <= `term`, and that term (0 when unknown because
   * compacted). Used on both sides of fast backtracking: everything after it cannot match a log
   * whose entry at the probed position has term `term`.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const t = this.termOrNull(i)
      if (t === null) return { index: i, term: 0 }
      if (t <= term) return { index: i, term: t }
    }
    return { index: 0, term: 0 }
  }

  /**
   * The follower side of AppendEntries: if our log has (prevIndex, prevTerm), append `ents`
   * (truncating a conflicting tail) and commit up to min(commit, last new index). Returns the last
   * index known to match the leader's log, or null when the consistency check fails.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null
    const lastNew = prevIndex + ents.length
    const conflict = this.findConflict(ents)
    if (conflict !== 0) {
      if (conflict <= this.#committed) {
        throw new Error(`raft: entry ${conflict} conflicts with committed entry (committed ${this.#committed})`)
      }
      this.append(ents.slice(conflict - (prevIndex + 1)))
    }
    this.commitTo(Math.min(commit, lastNew))
    return lastNew
  }

  /** Appends contiguous entries (truncating from ents[0].index on); returns the new last index. */
  append(ents: readonly Entry[]): number {
    const first = ents[0]
    if (first === undefined) return this.lastIndex()
    if (first.index - 1 < this.#committed) {
      throw new Error(`raft: append at ${first.index} would truncate committed entry ${this.#committed}`)
    }
    if (first.index > this.lastIndex() + 1) throw new Error(`raft: append at ${first.index} leaves a gap`)
    this.#unstable.truncateAndAppend(ents)
    return this.lastIndex()
  }

  /** Entries in [lo, hi) with at most `maxBytes` of data (but at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo)
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1)
    if (lo >= hi) return []
    const off = this.#unstable.offset
    let ents: Entry[] = []
    if (lo < off) {
      ents = this.#storage.entries(lo, Math.min(hi, off), maxBytes)
      // The storage stopped early because of the size limit: nothing more fits.
      if (ents.length < Math.min(hi, off) - lo) return ents
    }
    if (hi > off) ents = ents.concat(this.#unstable.slice(Math.max(lo, off), hi))
    return limitSize(ents, maxBytes)
  }

  /** Entries from `lo` to the end, at most `maxBytes` of data (at least one). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    return this.slice(lo, this.lastIndex() + 1, maxBytes)
  }

  commitTo(index: number): void {
    if (index <= this.#committed) return
    if (index > this.lastIndex()) {
      throw new Error(`raft: commit ${index} is out of range [last ${this.lastIndex()}]; was the log lost?`)
    }
    this.#committed = index
  }

  /** Leader side: commit `index` if it moves the commit index and (normally) is of `term`. */
  maybeCommit(index: number, term: number, anyTerm: boolean): boolean {
    if (index <= this.#committed) return false
    if (!anyTerm && this.termOrNull(index) !== term) return false
    this.commitTo(index)
    return true
  }

  /** Committed entries not yet handed out, at most `maxBytes` (at least one); none while a snapshot is pending. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return []
    return this.slice(this.#applying + 1, this.#committed + 1, maxBytes)
  }

  hasNextCommittedEntries(): boolean {
    return this.#unstable.snapshot === null && this.#applying < this.#committed
  }

  /** Committed entries up to `index` have been handed to the caller. */
  acceptApplying(index: number): void {
    if (index < this.#applying || index > this.#committed) {
      throw new Error(`raft: applying ${index} out of range [${this.#applying}, ${this.#committed}]`)
    }
    this.#applying = index
  }

  /** The caller applied everything up to `index` (entries, or a snapshot ending there). */
  appliedTo(index: number): void {
    if (index < this.#applied || index > this.#committed) {
      throw new Error(`raft: applied ${index} out of range [${this.#applied}, ${this.#committed}]`)
    }
    this.#applied = index
    this.#applying = Math.max(this.#applying, index)
  }

  /** Replaces the log with `snap` (follower installing a leader's snapshot). */
  restore(snap: Snapshot): void {
    this.#committed = snap.metadata.index
    this.#unstable.restore(snap)
  }

  unstableEntries(): readonly Entry[] {
    return this.#unstable.entries
  }

  pendingSnapshot(): Snapshot | null {
    return this.#unstable.snapshot
  }

  stableTo(index: number, term: number): void {
    this.#unstable.stableTo(index, term)
  }

  stableSnapTo(index: number): void {
    this.#unstable.stableSnapTo(index)
  }

  /**
   * The last index known to be on stable storage and still part of this log: the leader counts
   * its own replica only up to here. 0 while an incoming snapshot is not yet persisted.
   */
  persistedIndex(): number {
    return this.#unstable.snapshot ? 0 : this.#unstable.offset - 1
  }

  /** The snapshot to send a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.#unstable.snapshot ?? this.#storage.snapshot()
  }
}
