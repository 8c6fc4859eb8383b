/**
 * The journal writer: owns the active segment of the data dir, appends one record per Ready
 * batch and fsyncs it (group commit: one fsync however many entries the batch holds). The record
 * format and the scanner live in journal-format.ts.
 *
 * Segment lifecycle (rotation happens only when a checkpoint is taken):
 *
 *   create(seq) ── header, fsync, fsyncDir ──▶ active ── appendBatch* + sync ──▶ ...
 *        rotate(base): create(seq + 1) (durable) ──▶ the old segment is frozen (complete, synced)
 *        frozen segments are removed only after the checkpoint that covers them is durable
 *
 * Invariant: calls are serialized by the caller (member-storage.ts); a segment other than the
 * active one is never written again.
 *
 * @module
 */
import { joinPath } from './disk.ts'
import type { Disk } from './disk.ts'
import { chainSeed, encodeRecord, segmentName } from './journal-format.ts'
import type { MemberIdentity } from './identity.ts'
import type { Entry, HardState } from '../raft/types.ts'

/** The checkpoint a segment follows: its records all come after it. */
export interface SegmentBase {
  readonly index: number
  readonly term: number
}

export class Journal {
  readonly #disk: Disk
  readonly #dir: string
  readonly #identity: MemberIdentity
  #seq: number
  #size: number
  /** dataCrc of the last record in the active segment (the chain value for the next one). */
  #crc: number
  #dirty = false

  private constructor(
    disk: Disk,
    dir: string,
    identity: MemberIdentity,
    seq: number,
    size: number,
    crc: number,
  ) {
    this.#disk = disk
    this.#dir = dir
    this.#identity = identity
    this.#seq = seq
    this.#size = size
    this.#crc = crc
  }

  /** Starts a new segment `seq` (durably: header fsynced, name fsynced) and makes it active. */
  static async create(
    disk: Disk,
    dir: string,
    identity: MemberIdentity,
    seq: number,
    base: SegmentBase,
  ): Promise<Journal> {
    const journal = new Journal(disk, dir, identity, seq, 0, chainSeed(seq))
    await journal.#writeHeader(base)
    return journal
  }

  /** Continues the existing segment `seq`, whose good records end at `size` with chain `crc`. */
  static resume(
    disk: Disk,
    dir: string,
    identity: MemberIdentity,
    seq: number,
    size: number,
    crc: number,
  ): Journal {
    return new Journal(disk, dir, identity, seq, size, crc)
  }

  get seq(): number {
    return this.#seq
  }

  get path(): string {
    return joinPath(this.#dir, segmentName(this.#seq))
  }

  /** Bytes in the active segment (the header included). */
  get size(): number {
    return this.#size
  }

  /** Appends one batch record (not yet durable: call `sync`). */
  async appendBatch(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    const { bytes, crc } = encodeRecord({ kind: 'batch', entries, hardState }, this.#crc)
    await this.#disk.append(this.path, bytes)
    this.#crc = crc
    this.#size += bytes.length
    this.#dirty = true
  }

  /** One fsync for everything appended since the last one; nothing to do when nothing was. */
  async sync(): Promise<boolean> {
    if (!this.#dirty) return false
    await this.#disk.fsync(this.path)
    this.#dirty = false
    return true
  }

  /** Freezes the active segment and starts segment seq + 1 after checkpoint `base`. */
  async rotate(base: SegmentBase): Promise<void> {
    await this.sync()
    this.#seq++
    this.#size = 0
    this.#crc = chainSeed(this.#seq)
    await this.#writeHeader(base)
  }

  async #writeHeader(base: SegmentBase): Promise<void> {
    const header = {
      kind: 'header',
      identity: this.#identity,
      seq: this.#seq,
      snapIndex: base.index,
      snapTerm: base.term,
    } as const
    const { bytes, crc } = encodeRecord(header, this.#crc)
    await this.#disk.append(this.path, bytes)
    await this.#disk.fsync(this.path)
    await this.#disk.fsyncDir(this.#dir)
    this.#crc = crc
    this.#size = bytes.length
  }
}
