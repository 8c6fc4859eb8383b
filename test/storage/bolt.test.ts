/**
 * The bbolt codec: what BoltBuilder writes, readBolt reads back (any buckets, entries larger than a
 * page, buckets deep enough for branch pages), every page below the high-water mark is used once
 * (bbolt's consistency check), and the reader refuses what it would read wrongly: torn meta
 * pages, pages out of bounds or of the wrong kind, keys out of order.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BoltBuilder, BoltFormatError, readBolt, type BoltBucket } from '../../src/storage/index.ts'
import { PAGE_SIZE, PageFlag } from '../../src/storage/bolt-format.ts'
import { compareBytes } from '../../src/mvcc/key-range.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function writeBolt(buckets: readonly BoltBucket[], txid: number): Uint8Array {
  const builder = new BoltBuilder()
  for (const b of buckets) builder.add(b)
  return builder.finish(txid)
}

function bucket(name: string, count: number, valueBytes = 8): BoltBucket {
  const entries = Array.from({ length: count }, (_, i) => {
    const key = text(`k${String(i).padStart(6, '0')}`)
    return [key, new Uint8Array(valueBytes).fill(i % 251)] as const
  })
  return { name, entries }
}

const plain = (buckets: readonly BoltBucket[]): unknown =>
  buckets.map((b) => ({ name: b.name, entries: b.entries.map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]) }))

/** Page ids reachable from the top-level tree (meta pages and the freelist page counted too). */
function pageKinds(file: Uint8Array): Map<number, number> {
  const view = new DataView(file.buffer, file.byteOffset)
  const kinds = new Map<number, number>()
  for (let id = 0; id * PAGE_SIZE < file.length; ) {
    const flags = view.getUint16(id * PAGE_SIZE + 8, true)
    kinds.set(id, flags)
    id += 1 + view.getUint32(id * PAGE_SIZE + 12, true)
  }
  return kinds
}

test('buckets written are read back, in name order, and the file is whole pages', () => {
  const buckets = [bucket('meta', 3), bucket('key', 0), bucket('alarm', 1), bucket('authUsers', 2)]
  const file = writeBolt(buckets, 7)
  const read = readBolt(file)
  const byName = [...buckets].sort((a, b) => compareBytes(text(a.name), text(b.name)))
  assert.deepEqual(plain(read.buckets), plain(byName))
  assert.equal(read.pageSize, PAGE_SIZE)
  assert.equal(read.txid, 7, 'the newer of the two meta pages')
  assert.equal(read.pageCount * PAGE_SIZE, file.length)
})

test('a large bucket gets branch pages, and a value larger than a page gets overflow pages', () => {
  const big = text('v'.repeat(3 * PAGE_SIZE + 100))
  const buckets = [bucket('key', 5000), { name: 'lease', entries: [[text('a'), big], [text('b'), text('small')]] as const }]
  const file = writeBolt(buckets, 1)
  const kinds = [...pageKinds(file).values()]
  assert.ok(kinds.includes(PageFlag.branch), 'some branch page')
  assert.deepEqual(plain(readBolt(file).buckets), plain(buckets))
  const view = new DataView(file.buffer)
  const overflowing = [...pageKinds(file).keys()].filter((id) => view.getUint32(id * PAGE_SIZE + 12, true) > 0)
  assert.equal(overflowing.length, 1, 'the one page holding the large value spans more pages')
})

test('every page below the high-water mark is a meta, freelist, branch or leaf page, each reachable once', () => {
  const file = writeBolt([bucket('key', 3000, 40), bucket('meta', 2)], 3)
  const kinds = pageKinds(file)
  assert.deepEqual([kinds.get(0), kinds.get(1), kinds.get(2)], [PageFlag.meta, PageFlag.meta, PageFlag.freelist])
  for (const [id, flags] of kinds)
    if (id > 2) assert.ok(flags === PageFlag.leaf || flags === PageFlag.branch, `page ${id} flags ${flags}`)
  // The reader refuses a page referenced twice, so a full read proves no page is shared; and
  // page ids are dense (pageKinds walked the whole file without gaps).
  assert.doesNotThrow(() => readBolt(file))
  assert.equal(Math.max(...kinds.keys()) < readBolt(file).pageCount, true)
})

test('any buckets round-trip (property)', () => {
  const entry = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 6000 }))
  const buckets = fc.uniqueArray(
    fc.record({ name: fc.string({ minLength: 1, maxLength: 12 }), entries: fc.array(entry, { maxLength: 300 }) }),
    { selector: (b) => b.name, maxLength: 6 },
  )
  fc.assert(
    fc.property(buckets, (raw) => {
      const named = raw.map((b) => {
        const byKey = new Map(b.entries.map(([k, v]) => [Buffer.from(k).toString('hex'), [k, v] as const]))
        const entries = [...byKey.values()].sort((x, y) => compareBytes(x[0], y[0]))
        return { name: b.name, entries }
      })
      const distinct = new Set(named.map((b) => Buffer.from(text(b.name)).toString('hex')))
      fc.pre(distinct.size === named.length)
      const file = writeBolt(named, 2)
      const sorted = [...named].sort((a, b) => compareBytes(text(a.name), text(b.name)))
      assert.deepEqual(plain(readBolt(file).buckets), plain(sorted))
    }),
    { numRuns: 60 },
  )
})

test('the writer refuses keys out of order or repeated', () => {
  const twice = { name: 'key', entries: [[text('a'), text('1')], [text('a'), text('2')]] as const }
  assert.throws(() => writeBolt([twice], 1), /keys out of order/)
  const backwards = { name: 'key', entries: [[text('b'), text('1')], [text('a'), text('2')]] as const }
  assert.throws(() => writeBolt([backwards], 1), /keys out of order/)
})

test('a torn meta page: the other one is used; both torn: refused', () => {
  const file = writeBolt([bucket('key', 10)], 5)
  const second = file.slice()
  second[PAGE_SIZE + 16 + 50] = (second[PAGE_SIZE + 16 + 50] as number) ^ 0xff
  const read = readBolt(second)
  assert.equal(read.txid, 4, 'the first meta page, one transaction older')
  assert.deepEqual(plain(read.buckets), plain([bucket('key', 10)]))
  const both = second.slice()
  both[16 + 50] = (both[16 + 50] as number) ^ 0xff
  assert.throws(() => readBolt(both), (e) => e instanceof BoltFormatError && /no valid meta page/.test(e.message))
})

test('the reader refuses a file shorter than its meta says, a page of the wrong kind, or keys out of order', () => {
  const file = writeBolt([bucket('key', 600)], 1)
  assert.throws(() => readBolt(file.subarray(0, file.length - PAGE_SIZE)), /meta says/)

  const kinds = pageKinds(file)
  const leaf = [...kinds].find(([id, f]) => id > 2 && f === PageFlag.leaf)?.[0] as number
  const wrongKind = file.slice()
  new DataView(wrongKind.buffer).setUint16(leaf * PAGE_SIZE + 8, PageFlag.freelist, true)
  assert.throws(() => readBolt(wrongKind), /has type 16/)

  // Swap the first bytes of the first two keys of a leaf: still in bounds, now out of order.
  const swapped = file.slice()
  const view = new DataView(swapped.buffer)
  const at = leaf * PAGE_SIZE + 16
  const key0 = at + view.getUint32(at + 4, true)
  const key1 = at + 16 + view.getUint32(at + 16 + 4, true)
  swapped.set(file.subarray(key1, key1 + 7), key0)
  swapped.set(file.subarray(key0, key0 + 7), key1)
  assert.throws(() => readBolt(swapped), /out of order/)
})

test('a branch pointing past the file is refused', () => {
  const file = writeBolt([bucket('key', 2000)], 1)
  const branch = [...pageKinds(file)].find(([, f]) => f === PageFlag.branch)?.[0] as number
  const broken = file.slice()
  new DataView(broken.buffer).setBigUint64(branch * PAGE_SIZE + 16 + 8, 1_000_000n, true)
  assert.throws(() => readBolt(broken), /out of bounds/)
})
