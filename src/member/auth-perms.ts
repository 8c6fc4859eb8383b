/**
 * Whether a user's permissions cover a request's keys (etcd's range permission check): a
 * request for `[key, rangeEnd)` needs the union of the matching permissions of all the user's
 * roles to contain the whole interval, not just to overlap it. Keys and range ends follow etcd:
 * an empty range end means the key alone, `\0` means every key from `key` on.
 *
 * @module
 */
import type { StoredPermission } from './auth-store.ts'

export type Access = 'read' | 'write'

/** A half-open byte interval; `end` null is unbounded. */
interface Interval {
  readonly start: Uint8Array
  readonly end: Uint8Array | null
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

function interval(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  if (rangeEnd.length === 0) {
    const end = new Uint8Array(key.length + 1)
    end.set(key)
    return { start: key, end }
  }
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: null }
  return { start: key, end: rangeEnd }
}

/** a ≥ b, with null as +∞. */
function endAtLeast(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null) return true
  if (b === null) return false
  return compare(a, b) >= 0
}

function grants(p: StoredPermission, access: Access): boolean {
  return p.permType === 'READWRITE' || (access === 'read' ? p.permType === 'READ' : p.permType === 'WRITE')
}

/**
 * True when `perms` give `access` to every key of `[key, rangeEnd)`. An empty or inverted range
 * (`rangeEnd` ≤ `key`) needs `key` itself, as etcd 3.4 decides it.
 */
export function covers(perms: readonly StoredPermission[], access: Access, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  let want = interval(key, rangeEnd)
  if (want.end !== null && compare(want.end, want.start) <= 0) want = interval(key, new Uint8Array(0))
  const have = perms
    .filter((p) => grants(p, access))
    .map((p) => interval(p.key, p.rangeEnd))
    .sort((a, b) => compare(a.start, b.start))
  let reached = want.start
  for (const iv of have) {
    if (compare(iv.start, reached) > 0) break
    if (iv.end === null) return true
    if (compare(iv.end, reached) > 0) reached = iv.end
    if (endAtLeast(reached, want.end)) return true
  }
  return false
}
