/**
 * The simple disk model: one node's Raft storage as a journal of writes with an fsync boundary.
 *
 *   write ──► live MemoryStorage (what the running node reads) + unsynced list
 *   fsync ──► after a drawn latency, every write issued before the call becomes durable
 *   crash ──► the unsynced writes are lost (or, with odds `torn`, a prefix of them survives, as
 *             an OS may flush part of its page cache); pending fsyncs never complete
 *
 * A restart sees only {@link SimDisk.image}: the durable snapshot, entries and hard state. The
 * node's applied state machine is durable only inside its snapshots (a checkpoint), as in etcd.
 *
 * This is the disk port of the Raft driver for now; a later stage replaces it with the real
 * storage module over a fault-injecting Disk.
 *
 * @module
 */
import { MemoryStorage, bootstrapSnapshot } from '../../src/raft/index.ts'
import type { ConfState, Entry, HardState, Snapshot } from '../../src/raft/types.ts'
import type { Prng, Ratio } from './prng.ts'
import type { Scheduler, Timer } from './scheduler.ts'

/** What survives a crash. Invariant: every entry index > snapshot.metadata.index, contiguous. */
export interface DiskImage {
  readonly snapshot: Snapshot
  readonly entries: readonly Entry[]
  readonly hardState: HardState
}

export type DiskWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'entries'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hard-state'; readonly hardState: HardState }
  /** A local checkpoint: the log up to the snapshot's index is replaced by the snapshot. */
  | { readonly kind: 'checkpoint'; readonly snapshot: Snapshot }

export interface DiskOptions {
  /** fsync latency bounds, in ms (inclusive). */
  readonly fsyncMin: number
  readonly fsyncMax: number
  /** Odds that a crash keeps a prefix of the unsynced writes instead of losing them all. */
  readonly torn: Ratio
}

/** Totals over every disk of a cluster. */
export interface DiskCounts {
  writes: number
  fsyncs: number
  /** Crashes that lost at least one unsynced write. */
  unsyncedLosses: number
  /** Crashes that kept part of the unsynced writes. */
  tornWrites: number
  lostWrites: number
}

export function newDiskCounts(): DiskCounts {
  return { writes: 0, fsyncs: 0, unsyncedLosses: 0, tornWrites: 0, lostWrites: 0 }
}

/**
 * The image of a founding member of a new cluster: raft's bootstrap snapshot (membership
 * `confState` at index 1, term 1) holding state-machine image `data`, committed.
 */
export function foundingImage(confState: ConfState, data: Uint8Array): DiskImage {
  return {
    snapshot: bootstrapSnapshot(confState, data),
    entries: [],
    hardState: { term: 1, vote: 0, commit: 1 },
  }
}

/** The image of a member joining an existing cluster: nothing at all. */
export function emptyImage(): DiskImage {
  return {
    snapshot: {
      metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
      data: new Uint8Array(0),
    },
    entries: [],
    hardState: { term: 0, vote: 0, commit: 0 },
  }
}

export class SimDisk {
  readonly #prng: Prng
  readonly #options: DiskOptions
  readonly #scheduler: Scheduler
  readonly #counts: DiskCounts
  #durable: DiskImage
  #live: MemoryStorage
  /** Writes not yet durable; `#syncedSeq` counts those already moved to `#durable`. */
  #unsynced: DiskWrite[] = []
  #syncedSeq = 0
  #fsyncs: Timer[] = []

  constructor(prng: Prng, options: DiskOptions, scheduler: Scheduler, counts: DiskCounts, image: DiskImage) {
    this.#prng = prng
    this.#options = options
    this.#scheduler = scheduler
    this.#counts = counts
    this.#durable = image
    this.#live = toStorage(image)
  }

  /** The storage the running node reads: every write so far, durable or not. */
  get storage(): MemoryStorage {
    return this.#live
  }

  /** What a restart would see now. */
  get image(): DiskImage {
    return this.#durable
  }

  write(w: DiskWrite): void {
    this.#counts.writes++
    applyToStorage(this.#live, w)
    this.#unsynced.push(w)
  }

  /** Writes the checkpoint to live storage (createSnapshot + compact) and journals it. */
  checkpoint(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    const snapshot = this.#live.createSnapshot(index, confState, data)
    this.#live.compact(index)
    this.#counts.writes++
    this.#unsynced.push({ kind: 'checkpoint', snapshot })
    return snapshot
  }

  /** Makes every write issued so far durable after a drawn latency, then calls `done`. */
  fsync(done: () => void): void {
    this.#counts.fsyncs++
    const target = this.#syncedSeq + this.#unsynced.length
    const delay = this.#prng.range(this.#options.fsyncMin, this.#options.fsyncMax)
    const timer = this.#scheduler.after(delay, 'fsync', () => {
      this.#fsyncs = this.#fsyncs.filter((t) => t !== timer)
      this.#syncTo(target)
      done()
    })
    this.#fsyncs.push(timer)
  }

  /** Power loss: drops unsynced writes (or keeps a torn prefix) and pending fsyncs. */
  crash(): void {
    for (const t of this.#fsyncs) t.cancel()
    this.#fsyncs = []
    const n = this.#unsynced.length
    if (n > 0) {
      const kept = this.#prng.ratio(this.#options.torn) ? this.#prng.range(0, n) : 0
      if (kept > 0) this.#counts.tornWrites++
      if (kept < n) this.#counts.unsyncedLosses++
      this.#counts.lostWrites += n - kept
      this.#syncTo(this.#syncedSeq + kept)
      this.#unsynced = []
    }
    this.#live = toStorage(this.#durable)
  }

  #syncTo(target: number): void {
    while (this.#syncedSeq < target) {
      this.#durable = applyToImage(this.#durable, this.#unsynced.shift() as DiskWrite)
      this.#syncedSeq++
    }
  }
}

function applyToStorage(s: MemoryStorage, w: DiskWrite): void {
  if (w.kind === 'snapshot') s.applySnapshot(w.snapshot)
  else if (w.kind === 'entries') s.append(w.entries)
  else if (w.kind === 'hard-state') s.setHardState(w.hardState)
  else throw new Error('checkpoints go through SimDisk.checkpoint')
}

function applyToImage(img: DiskImage, w: DiskWrite): DiskImage {
  switch (w.kind) {
    case 'snapshot':
      return { ...img, snapshot: w.snapshot, entries: [] }
    case 'entries': {
      const fresh = w.entries.filter((e) => e.index > img.snapshot.metadata.index)
      if (fresh.length === 0) return img
      const first = (fresh[0] as Entry).index
      return { ...img, entries: [...img.entries.filter((e) => e.index < first), ...fresh] }
    }
    case 'hard-state':
      return { ...img, hardState: w.hardState }
    case 'checkpoint': {
      const at = w.snapshot.metadata.index
      return { ...img, snapshot: w.snapshot, entries: img.entries.filter((e) => e.index > at) }
    }
  }
}

function toStorage(img: DiskImage): MemoryStorage {
  const s = new MemoryStorage()
  s.applySnapshot(img.snapshot)
  if (img.entries.length > 0) s.append(img.entries)
  s.setHardState(img.hardState)
  return s
}
