/**
 * Small, fast, deterministic 32-bit hashes for the simulator: FNV-1a over bytes and strings, and a
 * mixer that folds numbers into a running hash. The checkers chain entries with them, the state
 * machine digests what it applied, and vopr.ts digests the trace. Not cryptographic: a collision
 * can only hide a violation (probability ~2^-32 per comparison), never invent one.
 *
 * @module
 */

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** FNV-1a of `bytes`, continuing from `h` (unsigned 32-bit result). */
export function hashBytes(bytes: Uint8Array, h: number = FNV_OFFSET): number {
  let x = h >>> 0
  for (let i = 0; i < bytes.length; i++) x = Math.imul(x ^ (bytes[i] as number), FNV_PRIME)
  return x >>> 0
}

/** FNV-1a of the UTF-16 code units of `text`, continuing from `h`. */
export function hashString(text: string, h: number = FNV_OFFSET): number {
  let x = h >>> 0
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), FNV_PRIME)
  return x >>> 0
}

/**
 * Folds the safe integer `n` into the running hash `h` (murmur3 finalizer on each 32-bit half), so
 * chains such as hash(prev, term, index, dataHash) are order-sensitive.
 */
export function mix(h: number, n: number): number {
  const lo = n >>> 0
  const hi = Math.floor(n / 0x100000000) >>> 0
  return fmix(fmix(h ^ lo) ^ hi)
}

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function fmix(h: number): number {
  let x = h >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

/** `h` as 8 lowercase hex digits. */
export function hex32(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0')
}
