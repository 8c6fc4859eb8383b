/**
 * Writes a whole bbolt database (layout in bolt-format.ts) holding the given top-level buckets:
 * what etcd's snapshot call sends, so that etcd's tools can read it and etcd can restore from it.
 *
 * The file is built bottom-up in one pass, page ids in file order: meta pages 0 and 1, an empty
 * freelist at page 2, then each bucket's leaves (filled up to a page; an entry larger than a
 * page gets overflow pages of its own), the branch levels above them, and last the top-level
 * tree of bucket names. Every page below the high-water mark is reachable, none is free, so
 * bbolt's consistency check (`tx.Check`, which `etcdctl snapshot status` runs) finds nothing.
 * Both meta pages describe the same tree (txids `txid - 1` and `txid`).
 *
 * @module
 */
import { compareBytes } from '../mvcc/key-range.ts'
import {
  BOLT_MAGIC, BOLT_VERSION, BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, ELEMENT_BYTES, fnv64a, PAGE_HEADER_BYTES, PAGE_SIZE,
  PageFlag, type BoltBucket, type BoltEntry,
} from './bolt-format.ts'

const FREELIST_PAGE = 2
const FIRST_DATA_PAGE = 3

/** A written page and the first key of what it holds (what a branch above it points by). */
interface PageRef {
  readonly id: number
  readonly firstKey: Uint8Array
}

/** An element of a page being filled: key, value (empty in a branch), leaf flags or child id. */
interface Element {
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly flags: number
  readonly child: number
}

class PageFile {
  readonly #pages: Uint8Array[] = []
  #next = FIRST_DATA_PAGE

  /** Writes one page (with overflow pages if the elements need them); returns its id. */
  write(flags: number, elements: readonly Element[]): number {
    const size = pageBytes(elements)
    const span = Math.ceil(size / PAGE_SIZE)
    const page = new Uint8Array(span * PAGE_SIZE)
    const view = new DataView(page.buffer)
    const id = this.#next
    view.setBigUint64(0, BigInt(id), true)
    view.setUint16(8, flags, true)
    view.setUint16(10, elements.length, true)
    view.setUint32(12, span - 1, true)
    let data = PAGE_HEADER_BYTES + elements.length * ELEMENT_BYTES
    elements.forEach((e, i) => {
      const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES
      if (flags === PageFlag.leaf) {
        view.setUint32(at, e.flags, true)
        view.setUint32(at + 4, data - at, true)
        view.setUint32(at + 8, e.key.length, true)
        view.setUint32(at + 12, e.value.length, true)
      } else {
        view.setUint32(at, data - at, true)
        view.setUint32(at + 4, e.key.length, true)
        view.setBigUint64(at + 8, BigInt(e.child), true)
      }
      page.set(e.key, data)
      page.set(e.value, data + e.key.length)
      data += e.key.length + e.value.length
    })
    this.#pages.push(page)
    this.#next += span
    return id
  }

  /** The whole file: meta pages, freelist, then the pages written, `root` the top-level tree. */
  finish(root: number, txid: number): Uint8Array {
    const pageCount = this.#next
    const out = new Uint8Array(pageCount * PAGE_SIZE)
    out.set(metaPage(0, root, pageCount, txid - 1), 0)
    out.set(metaPage(1, root, pageCount, txid), PAGE_SIZE)
    const freelist = new DataView(out.buffer, FREELIST_PAGE * PAGE_SIZE, PAGE_HEADER_BYTES)
    freelist.setBigUint64(0, BigInt(FREELIST_PAGE), true)
    freelist.setUint16(8, PageFlag.freelist, true)
    let at = FIRST_DATA_PAGE * PAGE_SIZE
    for (const page of this.#pages) {
      out.set(page, at)
      at += page.length
    }
    return out
  }
}

function pageBytes(elements: readonly Element[]): number {
  let size = PAGE_HEADER_BYTES
  for (const e of elements) size += ELEMENT_BYTES + e.key.length + e.value.length
  return size
}

function metaPage(id: number, root: number, pageCount: number, txid: number): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE)
  const view = new DataView(page.buffer)
  view.setBigUint64(0, BigInt(id), true)
  view.setUint16(8, PageFlag.meta, true)
  const m = PAGE_HEADER_BYTES
  view.setUint32(m, BOLT_MAGIC, true)
  view.setUint32(m + 4, BOLT_VERSION, true)
  view.setUint32(m + 8, PAGE_SIZE, true)
  view.setUint32(m + 12, 0, true)
  view.setBigUint64(m + 16, BigInt(root), true)
  view.setBigUint64(m + 24, 0n, true)
  view.setBigUint64(m + 32, BigInt(FREELIST_PAGE), true)
  view.setBigUint64(m + 40, BigInt(pageCount), true)
  view.setBigUint64(m + 48, BigInt(txid), true)
  view.setBigUint64(m + 56, fnv64a(page.subarray(m, m + 56)), true)
  return page
}

/**
 * Writes `elements` (in key order) as pages of one level, each filled while it stays within a
 * page (at least one element each), and the levels above them until one page remains: the root.
 */
function writeTree(file: PageFile, leaves: readonly Element[]): number {
  let level = writeLevel(file, PageFlag.leaf, leaves)
  while (level.length > 1) {
    level = writeLevel(
      file,
      PageFlag.branch,
      level.map((p) => ({ key: p.firstKey, value: EMPTY, flags: 0, child: p.id })),
    )
  }
  return (level[0] as PageRef).id
}

const EMPTY = new Uint8Array(0)

function writeLevel(file: PageFile, flags: number, elements: readonly Element[]): PageRef[] {
  const refs: PageRef[] = []
  let start = 0
  let size = PAGE_HEADER_BYTES
  const flush = (end: number): void => {
    const page = elements.slice(start, end)
    refs.push({ id: file.write(flags, page), firstKey: page[0]?.key ?? EMPTY })
    start = end
    size = PAGE_HEADER_BYTES
  }
  elements.forEach((e, i) => {
    const bytes = ELEMENT_BYTES + e.key.length + e.value.length
    if (i > start && size + bytes > PAGE_SIZE) flush(i)
    size += bytes
  })
  flush(elements.length)
  return refs
}

function bucketHeader(root: number): Uint8Array {
  const header = new Uint8Array(BUCKET_HEADER_BYTES)
  new DataView(header.buffer).setBigUint64(0, BigInt(root), true)
  return header
}

/** Checks what bbolt requires of keys: within a bucket (and among bucket names), strictly ascending. */
function checkAscending(keys: readonly Uint8Array[], where: string): void {
  for (let i = 1; i < keys.length; i++)
    if (compareBytes(keys[i - 1] as Uint8Array, keys[i] as Uint8Array) >= 0) throw new Error(`bolt: ${where}: keys out of order at ${i}`)
}

/** The bytes of a bbolt database holding `buckets` (any order; names distinct), at `txid` (≥ 1). */
export function writeBolt(buckets: readonly BoltBucket[], txid: number): Uint8Array {
  const file = new PageFile()
  const encoder = new TextEncoder()
  const named = buckets
    .map((b) => ({ name: encoder.encode(b.name), bucket: b }))
    .sort((a, b) => compareBytes(a.name, b.name))
  checkAscending(named.map((n) => n.name), 'bucket names')
  const top: Element[] = named.map(({ name, bucket }) => {
    checkAscending(bucket.entries.map((e) => e[0]), bucket.name)
    const root = writeTree(file, bucket.entries.map(leafElement))
    return { key: name, value: bucketHeader(root), flags: BUCKET_LEAF_FLAG, child: 0 }
  })
  return file.finish(writeTree(file, top), txid)
}

function leafElement([key, value]: BoltEntry): Element {
  return { key, value, flags: 0, child: 0 }
}
