/**
 * The latest checkpoint as the snapshot raft sends to a follower (`LogStorage.snapshot()`): its
 * metadata and the bytes of checkpoint.db.
 *
 * Those bytes are a second copy of the whole database, and raft needs them only when a follower
 * has fallen behind the log kept after a checkpoint. So, when the disk can read synchronously
 * (`Disk.readSync`; raft's call is synchronous), they are not kept: `snapshot()` reads the file
 * back and pairs it with the metadata of the checkpoint it holds. Without `readSync` (e.g. the
 * simulator's disk wrapper) the bytes stay in memory, as they always did.
 *
 * While a checkpoint is being written the file holds the previous checkpoint until the rename of
 * writeAtomic, and the new one after. Both are known here (`current`, `next`) and told apart by
 * the length and CRC in the file's header, so an answer never pairs one checkpoint's metadata with
 * another's bytes. A file that matches neither (removed or damaged behind our back) is a
 * {@link StorageFatalError}.
 *
 * @module
 */
import { concatBytes } from './disk.ts'
import type { Disk } from './disk.ts'
import { StorageFatalError } from './errors.ts'
import type { Snapshot, SnapshotMetadata } from '../raft/types.ts'

/** Offsets in the checkpoint header (see checkpoint.ts): dbLen at 8, dbCrc at 12. */
const HEADER = 16

interface Held {
  readonly metadata: SnapshotMetadata
  /** The checkpoint file's bytes; null when they are read back from the file. */
  readonly data: Uint8Array | null
  readonly dbLen: number
  readonly dbCrc: number
}

/** [dbLen, dbCrc] from a checkpoint file's header; null when it is too short to have one. */
function stampOf(bytes: Uint8Array): [number, number] | null {
  if (bytes.length < HEADER) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER)
  return [view.getUint32(8, true), view.getUint32(12, true)]
}

export class SnapshotSource {
  readonly #disk: Disk
  readonly #path: string
  /** The checkpoint the file holds. */
  #current: Held | null = null
  /** A checkpoint being written over it (between `replacing` and `replaced`). */
  #next: Held | null = null

  /** `path`: checkpoint.db, on `disk`. */
  constructor(disk: Disk, path: string) {
    this.#disk = disk
    this.#path = path
  }

  /** True when the bytes are read back from the file rather than kept in memory. */
  get readsBack(): boolean {
    return typeof this.#disk.readSync === 'function'
  }

  /**
   * The file now holds checkpoint `metadata` whose bytes are `data` (the header, then the SQLite
   * image, possibly in chunks): after recovery read it, or once a checkpoint is durable.
   */
  set(metadata: SnapshotMetadata, data: Uint8Array | readonly Uint8Array[]): void {
    this.#current = this.#hold(metadata, data)
    this.#next = null
  }

  /** Checkpoint `metadata` with bytes `data` is about to replace the file (see the module doc). */
  replacing(metadata: SnapshotMetadata, data: Uint8Array | readonly Uint8Array[]): void {
    this.#next = this.#hold(metadata, data)
  }

  /** The write of the `replacing` checkpoint is durable: it is the current one now. */
  replaced(): void {
    if (this.#next === null) throw new Error('snapshot-source: replaced() without replacing()')
    this.#current = this.#next
    this.#next = null
  }

  /** The latest checkpoint, or null before the first. Reads the file when the bytes are not held. */
  snapshot(): Snapshot | null {
    const current = this.#current
    if (current === null) return null
    if (current.data !== null) return { metadata: current.metadata, data: current.data }
    const bytes = (this.#disk.readSync as (path: string) => Uint8Array).call(this.#disk, this.#path)
    const stamp = stampOf(bytes)
    for (const held of [current, this.#next]) {
      if (held !== null && stamp !== null && held.dbLen === stamp[0] && held.dbCrc === stamp[1])
        return { metadata: held.metadata, data: bytes }
    }
    throw new StorageFatalError(
      `snapshot for a follower: ${this.#path} no longer holds the checkpoint at index ${current.metadata.index}`,
      null,
    )
  }

  #hold(metadata: SnapshotMetadata, data: Uint8Array | readonly Uint8Array[]): Held {
    const first = data instanceof Uint8Array ? data : data[0]
    const stamp = first === undefined ? null : stampOf(first)
    if (stamp === null) throw new Error('snapshot-source: checkpoint bytes without a header')
    const [dbLen, dbCrc] = stamp
    return { metadata, data: this.readsBack ? null : concatBytes(data), dbLen, dbCrc }
  }
}
