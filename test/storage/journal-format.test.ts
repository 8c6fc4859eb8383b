/**
 * CRC-32C vectors, and the journal record format: round trips, and the scanner's verdicts — every
 * possible torn tail is discarded, a flipped byte anywhere before the end is an error naming the
 * file and offset, and a bad last segment-before-last is never excused as torn.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { crc32c } from '../../src/storage/crc32c.ts'
import { JournalCorruptError } from '../../src/storage/errors.ts'
import {
  chainSeed,
  encodeRecord,
  parseSegmentName,
  scanSegment,
  segmentName,
} from '../../src/storage/journal-format.ts'
import type { JournalRecord } from '../../src/storage/journal-format.ts'
import { ID, entries, plain } from './helpers.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

test('crc32c matches the published CRC-32C (Castagnoli) check values', () => {
  assert.equal(crc32c(enc('123456789')), 0xe3069283)
  assert.equal(crc32c(new Uint8Array(0)), 0)
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa)
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c)
  // Continued over a second part (how a checkpoint's image is checksummed, a slice at a time),
  // from views into a larger buffer.
  const whole = enc('xx123456789yy').subarray(2, 11)
  assert.equal(crc32c(whole.subarray(4), crc32c(whole.subarray(0, 4))), 0xe3069283)
})

test('crc32c continues over split input, whatever the split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), (data, cut) => {
      const k = Math.min(cut, data.length)
      assert.equal(crc32c(data.subarray(k), crc32c(data.subarray(0, k))), crc32c(data))
    }),
  )
})

test('segment names sort by seq and parse back; other names are not segments', () => {
  assert.equal(segmentName(12), 'journal-0000000000000012.log')
  assert.equal(parseSegmentName(segmentName(12)), 12)
  assert.equal(parseSegmentName('journal-12.log'), null)
  assert.equal(parseSegmentName('checkpoint.db'), null)
})

function segment(seq: number, records: JournalRecord[]): { bytes: Uint8Array; offsets: number[] } {
  let crc = chainSeed(seq)
  const parts: Uint8Array[] = []
  const offsets: number[] = []
  let at = 0
  for (const r of records) {
    const { bytes, crc: next } = encodeRecord(r, crc)
    crc = next
    offsets.push(at)
    at += bytes.length
    parts.push(bytes)
  }
  const out = new Uint8Array(at)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return { bytes: out, offsets }
}

const header = (seq: number): JournalRecord => ({
  kind: 'header',
  identity: ID,
  seq,
  snapIndex: 7,
  snapTerm: 2,
})
const RECORDS: JournalRecord[] = [
  header(3),
  { kind: 'batch', entries: entries(8, 10, 2), hardState: { term: 2, vote: 1, commit: 8 } },
  { kind: 'batch', entries: [], hardState: { term: 3, vote: 0, commit: 9 } },
  {
    kind: 'batch',
    entries: [{ index: 11, term: 3, type: 'conf-change', data: new Uint8Array([1, 2]) }],
    hardState: null,
  },
]

test('records round trip through encode and scan', () => {
  const { bytes } = segment(3, RECORDS)
  const scan = scanSegment(bytes, 3, 'seg', true)
  assert.equal(scan.torn, null)
  assert.equal(scan.goodEnd, bytes.length)
  assert.deepEqual(scan.header, RECORDS[0])
  const batch = scan.batches[0]
  assert.deepEqual(plain(batch.entries), plain(entries(8, 10, 2)))
  assert.deepEqual(batch.hardState, { term: 2, vote: 1, commit: 8 })
  const conf = scan.batches[2]
  assert.equal(conf.entries[0].type, 'conf-change')
})

test('every cut of the last segment is a torn tail: the good records before it are kept', () => {
  const { bytes, offsets } = segment(3, RECORDS)
  for (let cut = 0; cut < bytes.length; cut++) {
    const scan = scanSegment(bytes.subarray(0, cut), 3, 'seg', true)
    const whole = offsets.filter((_, i) => (offsets[i + 1] ?? bytes.length) <= cut).length
    assert.equal(scan.batches.length + (scan.header === null ? 0 : 1), whole, `cut at ${cut}`)
    assert.equal(scan.goodEnd, whole === 0 ? 0 : (offsets[whole] ?? bytes.length))
    assert.equal(scan.torn !== null, !offsets.includes(cut), `cut at ${cut}`)
  }
})

test('a zero-filled tail (preallocated or never written) is torn, not corrupt', () => {
  const { bytes } = segment(3, RECORDS)
  const padded = new Uint8Array(bytes.length + 4096)
  padded.set(bytes)
  const scan = scanSegment(padded, 3, 'seg', true)
  assert.equal(scan.batches.length, RECORDS.length - 1)
  assert.match(scan.torn ?? '', /zero-filled/)
})

test('a flipped byte before the last record is corruption, reported with file and offset', () => {
  const { bytes, offsets } = segment(3, RECORDS)
  fc.assert(
    fc.property(fc.nat(offsets[3] - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const bad = bytes.slice()
      bad[at] ^= mask
      const record = offsets.filter((o) => o <= at).length - 1
      assert.throws(
        () => scanSegment(bad, 3, '/data/journal-x.log', true),
        (err: unknown) =>
          err instanceof JournalCorruptError &&
          err.file === '/data/journal-x.log' &&
          err.offset === offsets[record] &&
          err.message.includes(`offset ${offsets[record]}`),
      )
    }),
  )
})

test('a flipped byte in the last record is corruption too, unless a whole sector of it is zeros', () => {
  const big: JournalRecord[] = [
    header(3),
    {
      kind: 'batch',
      entries: [{ ...entries(8, 8, 2)[0], data: new Uint8Array(2000).fill(7) }],
      hardState: null,
    },
  ]
  const { bytes, offsets } = segment(3, big)
  const flipped = bytes.slice()
  flipped[bytes.length - 3] ^= 1
  assert.throws(() => scanSegment(flipped, 3, 'seg', true), JournalCorruptError)
  const holed = bytes.slice()
  holed.fill(0, 1024, 1536) // one sector never written
  const scan = scanSegment(holed, 3, 'seg', true)
  assert.equal(scan.batches.length, 0)
  assert.notEqual(scan.header, null)
  assert.equal(scan.goodEnd, offsets[1])
})

test('a segment that is not the last is never excused as torn, nor empty', () => {
  const { bytes } = segment(3, RECORDS)
  assert.throws(() => scanSegment(bytes.subarray(0, bytes.length - 1), 3, 'seg', false), JournalCorruptError)
  assert.throws(() => scanSegment(new Uint8Array(0), 3, 'seg', false), /empty segment before the newest/)
  assert.equal(scanSegment(new Uint8Array(0), 3, 'seg', true).header, null)
})

test('structure: a header first and only first, with the seq of its file name; records cannot move', () => {
  const noHeader = segment(3, RECORDS.slice(1))
  assert.throws(() => scanSegment(noHeader.bytes, 3, 'seg', true), /does not start with a header/)
  assert.throws(() => scanSegment(segment(3, RECORDS).bytes, 4, 'seg', true), JournalCorruptError)
  const wrongSeq = segment(4, [header(3)])
  assert.throws(() => scanSegment(wrongSeq.bytes, 4, 'seg', true), /file name says 4/)
})
