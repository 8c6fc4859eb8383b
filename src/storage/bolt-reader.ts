/**
 * Reads a whole bbolt database (layout in bolt-format.ts): an etcd snapshot, or etcd's
 * `member/snap/db`. Only top-level buckets are read (etcd nests none); inline buckets, branch
 * pages and overflow pages are followed.
 *
 * It checks what would otherwise be read wrongly: a meta page with a valid magic, version and
 * checksum (the newer of the two valid ones is used, as bbolt does), pages inside the file and
 * below the high-water mark, each page of the kind its parent expects and used once, and keys
 * strictly ascending. Anything else is a {@link BoltFormatError}.
 *
 * @module
 */
import { compareBytes } from '../mvcc/key-range.ts'
import {
  BOLT_MAGIC, BOLT_VERSION, BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, ELEMENT_BYTES, fnv64a, PAGE_HEADER_BYTES,
  PageFlag, type BoltBucket, type BoltEntry,
} from './bolt-format.ts'

export class BoltFormatError extends Error {
  constructor(message: string) {
    super(`invalid database: ${message}`)
  }
}

export interface BoltFile {
  readonly pageSize: number
  /** Pages below the high-water mark: the database's size is this times pageSize. */
  readonly pageCount: number
  readonly txid: number
  /** Top-level buckets in name order, entries in key order. */
  readonly buckets: readonly BoltBucket[]
}

interface Meta {
  readonly pageSize: number
  readonly root: number
  readonly pageCount: number
  readonly txid: number
}

/** The meta at page `index`, or null when it is not a valid one. */
function readMeta(bytes: Uint8Array, offset: number): Meta | null {
  const m = offset + PAGE_HEADER_BYTES
  if (bytes.length < m + 64) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset + m, 64)
  if (view.getUint32(0, true) !== BOLT_MAGIC || view.getUint32(4, true) !== BOLT_VERSION) return null
  if (view.getBigUint64(56, true) !== fnv64a(bytes.subarray(m, m + 56))) return null
  return {
    pageSize: view.getUint32(8, true),
    root: Number(view.getBigUint64(16, true)),
    pageCount: Number(view.getBigUint64(40, true)),
    txid: Number(view.getBigUint64(48, true)),
  }
}

function chooseMeta(bytes: Uint8Array): Meta {
  const first = readMeta(bytes, 0)
  // The second meta page is one page further on: the page size is the first meta's, if valid.
  const second = first === null ? null : readMeta(bytes, first.pageSize)
  const metas = [first, second].filter((m): m is Meta => m !== null)
  if (metas.length === 0) throw new BoltFormatError('no valid meta page')
  const meta = metas.reduce((a, b) => (b.txid > a.txid ? b : a))
  if (meta.pageSize < 1024 || (meta.pageSize & (meta.pageSize - 1)) !== 0)
    throw new BoltFormatError(`page size ${meta.pageSize}`)
  if (meta.pageCount * meta.pageSize > bytes.length)
    throw new BoltFormatError(`file holds ${bytes.length} bytes, meta says ${meta.pageCount} pages`)
  return meta
}

class Pages {
  readonly #seen = new Set<number>()

  constructor(
    readonly bytes: Uint8Array,
    readonly meta: Meta,
  ) {}

  /** Page `id` as a view over it and its overflow pages, checked to be of `kind` (a flag mask). */
  page(id: number, kinds: number): DataView {
    const { pageSize, pageCount } = this.meta
    if (id < 2 || id >= pageCount) throw new BoltFormatError(`page ${id} out of bounds (${pageCount} pages)`)
    if (this.#seen.has(id)) throw new BoltFormatError(`page ${id} referenced twice`)
    this.#seen.add(id)
    const head = new DataView(this.bytes.buffer, this.bytes.byteOffset + id * pageSize, PAGE_HEADER_BYTES)
    const flags = head.getUint16(8, true)
    if ((flags & kinds) === 0) throw new BoltFormatError(`page ${id} has type ${flags}`)
    const overflow = head.getUint32(12, true)
    if (id + overflow >= pageCount) throw new BoltFormatError(`page ${id} overflows the file`)
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + id * pageSize, (overflow + 1) * pageSize)
  }
}

function slice(page: DataView, at: number, length: number): Uint8Array {
  if (at + length > page.byteLength) throw new BoltFormatError('element runs past its page')
  return new Uint8Array(page.buffer, page.byteOffset + at, length)
}

/** The entries of a leaf page: key, value and flags. */
function leafEntries(page: DataView): { key: Uint8Array; value: Uint8Array; flags: number }[] {
  const count = page.getUint16(10, true)
  const out = []
  for (let i = 0; i < count; i++) {
    const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES
    const flags = page.getUint32(at, true)
    const pos = at + page.getUint32(at + 4, true)
    const ksize = page.getUint32(at + 8, true)
    const vsize = page.getUint32(at + 12, true)
    out.push({ key: slice(page, pos, ksize), value: slice(page, pos + ksize, vsize), flags })
  }
  return out
}

/** Walks the tree at `root` in key order, calling `visit` for each leaf element. */
function walk(pages: Pages, root: number, visit: (key: Uint8Array, value: Uint8Array, flags: number) => void): void {
  const page = pages.page(root, PageFlag.branch | PageFlag.leaf)
  if (page.getUint16(8, true) & PageFlag.leaf) {
    for (const e of leafEntries(page)) visit(e.key, e.value, e.flags)
    return
  }
  const count = page.getUint16(10, true)
  for (let i = 0; i < count; i++) {
    const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES
    walk(pages, Number(page.getBigUint64(at + 8, true)), visit)
  }
}

function entriesOf(pages: Pages, header: Uint8Array, name: string): BoltEntry[] {
  if (header.length < BUCKET_HEADER_BYTES) throw new BoltFormatError(`bucket ${name}: short header`)
  const root = Number(new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0, true))
  const entries: BoltEntry[] = []
  const add = (key: Uint8Array, value: Uint8Array, flags: number): void => {
    if (flags & BUCKET_LEAF_FLAG) throw new BoltFormatError(`bucket ${name} holds a nested bucket`)
    const last = entries[entries.length - 1]
    if (last !== undefined && compareBytes(last[0], key) >= 0) throw new BoltFormatError(`bucket ${name}: keys out of order`)
    entries.push([key, value])
  }
  if (root !== 0) {
    walk(pages, root, add)
    return entries
  }
  // An inline bucket: its one leaf page follows the header, inside the value.
  const inline = header.subarray(BUCKET_HEADER_BYTES)
  if (inline.length < PAGE_HEADER_BYTES) throw new BoltFormatError(`bucket ${name}: short inline page`)
  for (const e of leafEntries(new DataView(inline.buffer, inline.byteOffset, inline.length))) add(e.key, e.value, e.flags)
  return entries
}

/** Reads every top-level bucket of the database in `bytes` (trailing bytes past it are ignored). */
export function readBolt(bytes: Uint8Array): BoltFile {
  const meta = chooseMeta(bytes)
  const pages = new Pages(bytes, meta)
  const decoder = new TextDecoder()
  const buckets: BoltBucket[] = []
  let lastName: Uint8Array | null = null
  walk(pages, meta.root, (key, value, flags) => {
    if ((flags & BUCKET_LEAF_FLAG) === 0) throw new BoltFormatError('a value at the top level')
    if (lastName !== null && compareBytes(lastName, key) >= 0) throw new BoltFormatError('bucket names out of order')
    lastName = key
    const name = decoder.decode(key)
    buckets.push({ name, entries: entriesOf(pages, value, name) })
  })
  return { pageSize: meta.pageSize, pageCount: meta.pageCount, txid: meta.txid, buckets }
}
