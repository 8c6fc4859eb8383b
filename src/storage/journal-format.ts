/**
 * The journal's on-disk format: framing, checksums and the msgpack records inside, plus the
 * scanner that tells a torn tail (discard) from corruption (stop). journal.ts writes segments;
 * recover.ts replays them.
 *
 * One record:
 *
 *   offset 0          4            8             12                    12 + len
 *          +----------+------------+-------------+---------------------+
 *          | len      | lenCrc     | dataCrc     | payload             |
 *          | u32 LE   | u32 LE     | u32 LE      | msgpack, len bytes  |
 *          +----------+------------+-------------+---------------------+
 *   lenCrc  = crc32c(the 4 bytes of len)                 (a bad length is never trusted)
 *   dataCrc = crc32c(payload, seed = previous record's dataCrc, or the segment's seq for the
 *             first record)                              (records cannot be reordered or moved)
 *
 * A segment (journal-<seq, 16 digits>.log) is a header record then batch records:
 *   header: [1, version, clusterId, memberId, seq, snapIndex, snapTerm]
 *           snapIndex/snapTerm: the checkpoint this segment follows (0/0 for none); every
 *           record after it was written after that checkpoint was taken.
 *   batch:  [2, hardState [term, vote, commit] | nil, [index, term, type, data, index, ...]]
 *           one per Ready: the entries (contiguous) and hard state persisted together.
 *
 * Torn or corrupt? Only the last segment can end in a torn write (segments are complete and
 * fsynced before a newer one exists). In it, these are a torn tail: fewer than 12 bytes left,
 * a payload shorter than its (checksummed) length, a zero-filled rest of file, or a bad dataCrc
 * on the file's last record when one of its 512-byte sectors is all zeros (a sector never
 * written). Anything else is corruption, reported with the file and offset.
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import { crc32c } from './crc32c.ts'
import { JournalCorruptError } from './errors.ts'
import type { MemberIdentity } from './identity.ts'
import type { Entry, EntryType, HardState } from '../raft/types.ts'

export const FORMAT_VERSION = 1
export const FRAME_HEADER = 12
const SECTOR = 512
const KIND_HEADER = 1
const KIND_BATCH = 2

export interface SegmentHeader {
  readonly kind: 'header'
  readonly identity: MemberIdentity
  readonly seq: number
  readonly snapIndex: number
  readonly snapTerm: number
}

export interface BatchRecord {
  readonly kind: 'batch'
  readonly hardState: HardState | null
  readonly entries: readonly Entry[]
}

export type JournalRecord = SegmentHeader | BatchRecord

const encoder = new Encoder()
const decoder = new Decoder()

export function segmentName(seq: number): string {
  return `journal-${String(seq).padStart(16, '0')}.log`
}

/** The seq of a segment file name, or null for any other name. */
export function parseSegmentName(name: string): number | null {
  const m = /^journal-(\d{16})\.log$/.exec(name)
  return m === null ? null : Number(m[1])
}

/** The chain seed of a segment's first record. */
export function chainSeed(seq: number): number {
  return seq >>> 0
}

function typeCode(type: EntryType): number {
  return type === 'normal' ? 0 : 1
}

function encodePayload(record: JournalRecord): Uint8Array {
  if (record.kind === 'header') {
    const { identity, seq, snapIndex, snapTerm } = record
    return encoder.encodeSharedRef([
      KIND_HEADER,
      FORMAT_VERSION,
      identity.clusterId,
      identity.memberId,
      seq,
      snapIndex,
      snapTerm,
    ])
  }
  const hs = record.hardState
  const flat: unknown[] = []
  for (const e of record.entries) flat.push(e.index, e.term, typeCode(e.type), e.data)
  return encoder.encodeSharedRef([KIND_BATCH, hs === null ? null : [hs.term, hs.vote, hs.commit], flat])
}

/** One framed record, chained to `prevCrc`. Returns the bytes to append and the new chain value. */
export function encodeRecord(record: JournalRecord, prevCrc: number): { bytes: Uint8Array; crc: number } {
  const payload = encodePayload(record)
  const bytes = new Uint8Array(FRAME_HEADER + payload.length)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, payload.length, true)
  view.setUint32(4, crc32c(bytes.subarray(0, 4)), true)
  const crc = crc32c(payload, prevCrc)
  view.setUint32(8, crc, true)
  bytes.set(payload, FRAME_HEADER)
  return { bytes, crc }
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/** Decodes a checksummed payload; null when it is not a well-formed record (corruption). */
function decodePayload(payload: Uint8Array): JournalRecord | null {
  let v: unknown
  try {
    v = decoder.decode(payload)
  } catch {
    return null
  }
  if (!Array.isArray(v)) return null
  if (v[0] === KIND_HEADER && v.length === 7) {
    const [, version, clusterId, memberId, seq, snapIndex, snapTerm] = v
    if (version !== FORMAT_VERSION || typeof clusterId !== 'string') return null
    if (!isNum(memberId) || !isNum(seq) || !isNum(snapIndex) || !isNum(snapTerm)) return null
    return { kind: 'header', identity: { clusterId, memberId }, seq, snapIndex, snapTerm }
  }
  if (v[0] === KIND_BATCH && v.length === 3 && Array.isArray(v[2]) && v[2].length % 4 === 0) {
    const hs = v[1] as unknown
    let hardState: HardState | null = null
    if (hs !== null) {
      if (!Array.isArray(hs) || hs.length !== 3 || !hs.every(isNum)) return null
      hardState = { term: hs[0], vote: hs[1], commit: hs[2] }
    }
    const flat = v[2] as unknown[]
    const entries: Entry[] = []
    for (let i = 0; i < flat.length; i += 4) {
      const [index, term, type, data] = [flat[i], flat[i + 1], flat[i + 2], flat[i + 3]]
      if (!isNum(index) || !isNum(term) || (type !== 0 && type !== 1) || !(data instanceof Uint8Array))
        return null
      entries.push({ index, term, type: type === 0 ? 'normal' : 'conf-change', data: data.slice() })
    }
    return { kind: 'batch', hardState, entries }
  }
  return null
}

export interface ScanResult {
  /** The segment's header; null only for a last segment torn before its header was whole. */
  readonly header: SegmentHeader | null
  readonly batches: BatchRecord[]
  /** Offset just past the last good record: where the file must be cut, and appends resume. */
  readonly goodEnd: number
  /** The chain value after the last good record. */
  readonly crc: number
  /** Why the tail after `goodEnd` was discarded, or null when the file ended cleanly. */
  readonly torn: string | null
}

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

/** True when a sector-aligned piece of [from, to) is all zeros: a sector that was never written. */
function hasZeroSector(bytes: Uint8Array, from: number, to: number): boolean {
  for (let s = from; s < to; s = (Math.floor(s / SECTOR) + 1) * SECTOR) {
    const end = Math.min(to, (Math.floor(s / SECTOR) + 1) * SECTOR)
    if (allZero(bytes.subarray(s, end))) return true
  }
  return false
}

/**
 * Reads every record of one segment. `file` names it in errors. `last`: this is the newest
 * segment, whose tail may be torn. Throws {@link JournalCorruptError} on corruption.
 */
export function scanSegment(bytes: Uint8Array, seq: number, file: string, last: boolean): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let header: SegmentHeader | null = null
  const batches: BatchRecord[] = []
  let crc = chainSeed(seq)
  let off = 0
  const tornOrCorrupt = (reason: string, torn: boolean): ScanResult => {
    if (!torn && allZero(bytes.subarray(off))) [reason, torn] = ['zero-filled tail', true]
    if (!last || !torn) throw new JournalCorruptError(file, off, reason)
    return { header, batches, goodEnd: off, crc, torn: `${reason} at offset ${off}` }
  }
  while (off < bytes.length) {
    const rest = bytes.length - off
    if (rest < FRAME_HEADER) return tornOrCorrupt(`incomplete record header (${rest} bytes)`, true)
    const len = view.getUint32(off, true)
    if (crc32c(bytes.subarray(off, off + 4)) !== view.getUint32(off + 4, true))
      return tornOrCorrupt('record length checksum mismatch', false)
    if (rest < FRAME_HEADER + len)
      return tornOrCorrupt(`incomplete record (${rest - FRAME_HEADER} of ${len} payload bytes)`, true)
    const payload = bytes.subarray(off + FRAME_HEADER, off + FRAME_HEADER + len)
    const next = crc32c(payload, crc)
    if (next !== view.getUint32(off + 8, true)) {
      const lastRecord = off + FRAME_HEADER + len === bytes.length
      const unwritten = lastRecord && hasZeroSector(bytes, off + FRAME_HEADER, bytes.length)
      return tornOrCorrupt('record checksum mismatch', unwritten)
    }
    const record = decodePayload(payload)
    if (record === null) throw new JournalCorruptError(file, off, 'checksummed record does not decode')
    if ((header === null) !== (record.kind === 'header'))
      throw new JournalCorruptError(
        file,
        off,
        header === null ? 'segment does not start with a header' : 'second header',
      )
    if (record.kind === 'header') {
      if (record.seq !== seq)
        throw new JournalCorruptError(file, off, `header says segment ${record.seq}, file name says ${seq}`)
      header = record
    } else batches.push(record)
    crc = next
    off += FRAME_HEADER + len
  }
  if (header === null && !last) throw new JournalCorruptError(file, 0, 'empty segment before the newest one')
  return { header, batches, goodEnd: off, crc, torn: null }
}
