/**
 * An in-memory LogStorage with the writers a caller needs while handling a Ready: append entries
 * (truncating a conflicting tail), set the hard state, install a snapshot, compact, and cut a
 * snapshot. Used by tests and the simulator; the member's durable storage follows the same rules.
 *
 * Layout: `#ents[0]` is a dummy entry standing for the last compacted entry (the snapshot point),
 * so term(firstIndex-1) stays answerable.
 * Invariant: #ents[i].index === #ents[0].index + i; #ents[0] matches #snapshot.metadata.
 *
 * @module
 */
import {
  CompactedError,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type LogStorage,
  type Snapshot,
} from './types.ts'
import { limitSize } from './log.ts'

const EMPTY = new Uint8Array(0)

/**
 * The first snapshot of a brand-new cluster: membership `confState` at index 1, term 1. Starting
 * from a snapshot (rather than index 0) means a member added later receives the founding
 * membership by snapshot, since entry 1 is never in anyone's log.
 */
export function bootstrapSnapshot(confState: ConfState, data: Uint8Array = EMPTY): Snapshot {
  return { metadata: { index: 1, term: 1, confState }, data }
}

export class MemoryStorage implements LogStorage {
  #hardState: HardState = { term: 0, vote: 0, commit: 0 }
  #snapshot: Snapshot = { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY }
  #confState: ConfState = this.#snapshot.metadata.confState
  #ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: EMPTY }]

  /** A storage for a founding member of a new cluster (see {@link bootstrapSnapshot}). */
  static bootstrap(confState: ConfState): MemoryStorage {
    const s = new MemoryStorage()
    s.applySnapshot(bootstrapSnapshot(confState))
    s.setHardState({ term: 1, vote: 0, commit: 1 })
    return s
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#confState }
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = (this.#ents[0] as Entry).index
    if (lo <= offset) throw new CompactedError(lo)
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1)
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxBytes)
  }

  term(index: number): number {
    const offset = (this.#ents[0] as Entry).index
    if (index < offset) throw new CompactedError(index)
    const e = this.#ents[index - offset]
    if (e === undefined) throw new UnavailableError(index)
    return e.term
  }

  firstIndex(): number {
    return (this.#ents[0] as Entry).index + 1
  }

  lastIndex(): number {
    return (this.#ents[0] as Entry).index + this.#ents.length - 1
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  /** A copy of the stored hard state and entries, for checkers (the dummy entry excluded). */
  allEntries(): Entry[] {
    return this.#ents.slice(1)
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs
  }

  /**
   * Records the membership as of the applied index (the return value of applyConfChange), so that a
   * restart with `applied` past the snapshot does not need the conf-change entries re-applied.
   */
  setConfState(cs: ConfState): void {
    this.#confState = cs
  }

  /**
   * Appends contiguous entries. Entries already compacted are skipped; stored entries at or after
   * the first new index are replaced (the leader's log wins).
   */
  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return
    for (let i = 1; i < ents.length; i++) {
      if ((ents[i] as Entry).index !== (ents[i - 1] as Entry).index + 1) {
        throw new Error('raft: appending non-contiguous entries')
      }
    }
    const first = this.firstIndex()
    const last = (ents[ents.length - 1] as Entry).index
    if (last < first) return
    const from = ents.slice(Math.max(0, first - (ents[0] as Entry).index))
    const start = (from[0] as Entry).index
    if (start > this.lastIndex() + 1) {
      throw new Error(`raft: missing log entries [last ${this.lastIndex()}, append at ${start}]`)
    }
    const offset = (this.#ents[0] as Entry).index
    this.#ents = this.#ents.slice(0, start - offset).concat(from)
  }

  /** Replaces the whole log with `snap`. Throws if it is not newer than the current snapshot. */
  applySnapshot(snap: Snapshot): void {
    const { index, term, confState } = snap.metadata
    if (index <= this.#snapshot.metadata.index && this.#snapshot.metadata.index > 0) {
      throw new Error(`raft: snapshot at ${index} is out of date (have ${this.#snapshot.metadata.index})`)
    }
    this.#snapshot = snap
    this.#confState = confState
    this.#ents = [{ term, index, type: 'normal', data: EMPTY }]
  }

  /**
   * Discards entries up to and including `index`. It must be covered by the current snapshot, so
   * that a follower needing the discarded entries can be sent that snapshot instead.
   */
  compact(index: number): void {
    const offset = (this.#ents[0] as Entry).index
    if (index <= offset) throw new CompactedError(index)
    if (index > this.#snapshot.metadata.index) {
      throw new Error(`raft: compact(${index}) beyond the snapshot at ${this.#snapshot.metadata.index}`)
    }
    const e = this.#ents[index - offset] as Entry
    const dummy: Entry = { term: e.term, index: e.index, type: 'normal', data: EMPTY }
    this.#ents = [dummy, ...this.#ents.slice(index - offset + 1)]
  }

  /**
   * Records a snapshot of the state machine as of `index` (which the caller has applied), with the
   * membership at that point. Does not compact; call compact() afterwards if wanted.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.#snapshot.metadata.index) {
      throw new Error(`raft: snapshot at ${index} is out of date (have ${this.#snapshot.metadata.index})`)
    }
    if (index > this.lastIndex()) throw new UnavailableError(index)
    this.#snapshot = { metadata: { index, term: this.term(index), confState }, data }
    return this.#snapshot
  }
}
