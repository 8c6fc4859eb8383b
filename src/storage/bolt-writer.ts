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
  PageFlag, type BoltBucket,
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
function writeTree(file: PageFile, elements: readonly Element[]): number {
  const leaves = new LevelWriter(file, PageFlag.leaf)
  for (const e of elements) leaves.add(e)
  return rootAbove(file, leaves.end())
}

/** The branch levels above `level` (pages in key order), written until one page remains. */
function rootAbove(file: PageFile, level: readonly PageRef[]): number {
  while (level.length > 1) {
    const branches = new LevelWriter(file, PageFlag.branch)
    for (const p of level) branches.add({ key: p.firstKey, value: EMPTY, flags: 0, child: p.id })
    level = branches.end()
  }
  return (level[0] as PageRef).id
}

const EMPTY = new Uint8Array(0)

/** Fills pages of one level from elements given one at a time, in key order. */
class LevelWriter {
  readonly #refs: PageRef[] = []
  #page: Element[] = []
  #size = PAGE_HEADER_BYTES
  #last: Uint8Array | null = null

  constructor(
    readonly file: PageFile,
    readonly flags: number,
  ) {}

  add(e: Element): void {
    if (this.#last !== null && compareBytes(this.#last, e.key) >= 0) throw new Error('bolt: keys out of order')
    this.#last = e.key
    const bytes = ELEMENT_BYTES + e.key.length + e.value.length
    if (this.#page.length > 0 && this.#size + bytes > PAGE_SIZE) this.#flush()
    this.#page.push(e)
    this.#size += bytes
  }

  /** The pages written, in key order (one empty page when nothing was added). */
  end(): PageRef[] {
    if (this.#page.length > 0 || this.#refs.length === 0) this.#flush()
    return this.#refs
  }

  #flush(): void {
    this.#refs.push({ id: this.file.write(this.flags, this.#page), firstKey: this.#page[0]?.key ?? EMPTY })
    this.#page = []
    this.#size = PAGE_HEADER_BYTES
  }
}

function bucketHeader(root: number): Uint8Array {
  const header = new Uint8Array(BUCKET_HEADER_BYTES)
  new DataView(header.buffer).setBigUint64(0, BigInt(root), true)
  return header
}

/**
 * Builds a bbolt database a bucket at a time, each bucket's entries given one at a time in key
 * order (so a large bucket can be written in slices, between which the caller may yield).
 */
export class BoltBuilder {
  readonly #file = new PageFile()
  readonly #top: Element[] = []
  readonly #encoder = new TextEncoder()

  /** Starts bucket `name` (distinct from the others); add its entries, then end it. */
  bucket(name: string): BucketWriter {
    const leaves = new LevelWriter(this.#file, PageFlag.leaf)
    const key = this.#encoder.encode(name)
    return {
      add: (k, v) => leaves.add({ key: k, value: v, flags: 0, child: 0 }),
      end: () => {
        const root = rootAbove(this.#file, leaves.end())
        this.#top.push({ key, value: bucketHeader(root), flags: BUCKET_LEAF_FLAG, child: 0 })
      },
    }
  }

  /** Adds a whole bucket (its entries in key order). */
  add(bucket: BoltBucket): void {
    const writer = this.bucket(bucket.name)
    for (const [k, v] of bucket.entries) writer.add(k, v)
    writer.end()
  }

  /** The bytes of the database, both meta pages at `txid` (≥ 1) and one before it. */
  finish(txid: number): Uint8Array {
    const top = [...this.#top].sort((a, b) => compareBytes(a.key, b.key))
    return this.#file.finish(writeTree(this.#file, top), txid)
  }
}

export interface BucketWriter {
  /** Adds one entry; keys strictly ascending, or it throws. */
  add(key: Uint8Array, value: Uint8Array): void
  end(): void
}
