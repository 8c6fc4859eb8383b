/**
 * etcd's key-range rules, turned into SQL predicates: `rangeEnd` empty selects exactly `key`,
 * `rangeEnd` = "\0" selects every key ≥ `key`, otherwise [key, rangeEnd); an end ≤ key selects
 * nothing. Keys compare as unsigned bytes, which is SQLite's BLOB order.
 *
 * @module
 */
import type { Row } from './sql.ts'

export type KeySpan =
  | { readonly kind: 'one'; readonly key: Uint8Array }
  | { readonly kind: 'from'; readonly key: Uint8Array }
  | { readonly kind: 'between'; readonly key: Uint8Array; readonly end: Uint8Array }
  | { readonly kind: 'none' }

/** Unsigned lexicographic order of byte strings (Go's bytes.Compare). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

export function keySpan(key: Uint8Array, rangeEnd: Uint8Array): KeySpan {
  if (rangeEnd.length === 0) return { kind: 'one', key }
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'from', key }
  if (compareBytes(rangeEnd, key) <= 0) return { kind: 'none' }
  return { kind: 'between', key, end: rangeEnd }
}

/** A WHERE fragment over `column` and its parameters (in order). 'none' yields a false predicate. */
export function spanSql(span: KeySpan, column: string): { readonly where: string; readonly params: Row } {
  switch (span.kind) {
    case 'one':
      return { where: `${column} = ?`, params: [span.key] }
    case 'from':
      return { where: `${column} >= ?`, params: [span.key] }
    case 'between':
      return { where: `${column} >= ? AND ${column} < ?`, params: [span.key, span.end] }
    case 'none':
      return { where: '0', params: [] }
  }
}

export function spanContains(span: KeySpan, key: Uint8Array): boolean {
  switch (span.kind) {
    case 'one':
      return compareBytes(key, span.key) === 0
    case 'from':
      return compareBytes(key, span.key) >= 0
    case 'between':
      return compareBytes(key, span.key) >= 0 && compareBytes(key, span.end) < 0
    case 'none':
      return false
  }
}
