/**
 * The on-disk layout of a bbolt database (the file etcd keeps its backend in, and the file its
 * snapshot call sends), as far as a whole file of top-level buckets needs it. Every integer is
 * little-endian.
 *
 * ```
 * page      id u64 · flags u16 · count u16 · overflow u32 · data   (overflow = extra pages it spans)
 * meta      magic u32 · version u32 · pageSize u32 · flags u32 · root bucket (root u64, sequence u64)
 *           · freelist u64 · pgid u64 (pages in the file) · txid u64 · checksum u64 (FNV-1a 64 of
 *           the 56 bytes before it)
 * leaf      count × (flags u32 · pos u32 · ksize u32 · vsize u32), then the keys and values; pos
 *           counts from the element itself to its key, and the value follows the key
 * branch    count × (pos u32 · ksize u32 · pgid u64), then the keys (each its child's first key)
 * bucket    a leaf element with flags 1 whose value is (root u64, sequence u64), followed, when
 *           root is 0, by the bucket's own leaf page inline
 * ```
 *
 * Pages 0 and 1 are meta pages; a reader takes the valid one with the higher txid. The top-level
 * tree (meta's root) maps bucket names to buckets; each bucket is a B+tree of its keys in
 * byte order.
 *
 * @module
 */

export const PAGE_SIZE = 4096
export const PAGE_HEADER_BYTES = 16
/** Leaf and branch elements are both 16 bytes. */
export const ELEMENT_BYTES = 16
export const BUCKET_HEADER_BYTES = 16
export const META_BYTES = 64

export const BOLT_MAGIC = 0xed0cdaed
export const BOLT_VERSION = 2

export const PageFlag = {
  branch: 0x01,
  leaf: 0x02,
  meta: 0x04,
  freelist: 0x10,
} as const

/** A leaf element holding a bucket rather than a value. */
export const BUCKET_LEAF_FLAG = 0x01

/** One top-level bucket: its name and its entries, keys strictly ascending in byte order. */
export interface BoltBucket {
  readonly name: string
  readonly entries: readonly BoltEntry[]
}

export type BoltEntry = readonly [key: Uint8Array, value: Uint8Array]

/** FNV-1a, 64-bit: the checksum of a meta page. */
export function fnv64a(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n)
  return h
}
