/**
 * The tail of the log that is not yet on stable storage: an optional incoming snapshot followed
 * by entries. It shrinks when the caller reports (through `advance()`) what it persisted.
 *
 *   stable storage: [ ... firstIndex .. offset-1 ]   unstable: [ snapshot? ][ offset .. ]
 *
 * Invariant: entries[i].index === offset + i.
 * Invariant: snapshot === null || offset === snapshot.metadata.index + 1 (until it is persisted).
 *
 * @module
 */
import type { Entry, Snapshot } from './types.ts'

export class UnstableLog {
  #snapshot: Snapshot | null = null
  #entries: Entry[] = []
  #offset: number

  /** `offset` is the index right after the last entry on stable storage. */
  constructor(offset: number) {
    this.#offset = offset
  }

  get offset(): number {
    return this.#offset
  }
  get snapshot(): Snapshot | null {
    return this.#snapshot
  }
  /** The caller must not modify the returned array. */
  get entries(): readonly Entry[] {
    return this.#entries
  }

  /** The first index of the log if an unstable snapshot defines it. */
  maybeFirstIndex(): number | null {
    return this.#snapshot ? this.#snapshot.metadata.index + 1 : null
  }

  /** The last index of the log if the unstable part defines it. */
  maybeLastIndex(): number | null {
    if (this.#entries.length > 0) return this.#offset + this.#entries.length - 1
    return this.#snapshot ? this.#snapshot.metadata.index : null
  }

  /** The term of entry `index` if the unstable part holds it. */
  maybeTerm(index: number): number | null {
    if (index < this.#offset) {
      return this.#snapshot && this.#snapshot.metadata.index === index ? this.#snapshot.metadata.term : null
    }
    const e = this.#entries[index - this.#offset]
    return e ? e.term : null
  }

  /**
   * Entries up to `index` (whose term was `term` when handed out) are on stable storage. Ignored
   * if the entry has since been replaced by a different one (a truncation happened meanwhile).
   */
  stableTo(index: number, term: number): void {
    if (this.#snapshot !== null) return
    if (index < this.#offset || this.maybeTerm(index) !== term) return
    this.#entries = this.#entries.slice(index + 1 - this.#offset)
    this.#offset = index + 1
  }

  /** The snapshot at `index` is on stable storage. */
  stableSnapTo(index: number): void {
    if (this.#snapshot && this.#snapshot.metadata.index === index) this.#snapshot = null
  }

  /** Replaces everything with an incoming snapshot. */
  restore(snap: Snapshot): void {
    this.#offset = snap.metadata.index + 1
    this.#entries = []
    this.#snapshot = snap
  }

  /**
   * Appends `ents` (contiguous), first dropping any unstable entries at or after ents[0].index.
   * If they start below `offset`, the stable entries from there on are superseded: the offset moves
   * back, and the caller's next persist overwrites them.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]
    if (first === undefined) return
    const after = first.index
    if (after === this.#offset + this.#entries.length) {
      this.#entries = this.#entries.concat(ents)
    } else if (after <= this.#offset) {
      if (this.#snapshot !== null && after <= this.#snapshot.metadata.index) {
        throw new Error(`raft: appending at ${after} would overwrite the unstable snapshot`)
      }
      this.#offset = after
      this.#entries = [...ents]
    } else {
      this.#entries = this.#entries.slice(0, after - this.#offset).concat(ents)
    }
  }

  /** Entries in [lo, hi); the caller guarantees offset <= lo <= hi <= last + 1. */
  slice(lo: number, hi: number): Entry[] {
    if (lo < this.#offset || hi > this.#offset + this.#entries.length || lo > hi) {
      const end = this.#offset + this.#entries.length
      throw new Error(`raft: unstable slice [${lo}, ${hi}) out of [${this.#offset}, ${end})`)
    }
    return this.#entries.slice(lo - this.#offset, hi - this.#offset)
  }
}
