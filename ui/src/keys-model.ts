/**
 * Browsing keys as a tree, a page at a time, without ever loading a whole range: each request is
 * `keys_only` with a `limit`, and the next one starts after the last row shown. Keys under the
 * current prefix that contain another `/` collapse into one folder row, and the listing then jumps
 * past the whole folder (its prefix's range end), so a folder of a million keys costs one row
 * and one request.
 *
 *   prefix "app/":  app/a, app/b/1, app/b/2, …, app/b/999999, app/c
 *   rows:           a   b/ (folder: the next request starts at "app/c")   c
 *
 * @module
 */
import { call, type KeyValue, type RangeResponse } from './api.ts'
import { concat, display, equal, fromBase64, prefixEnd, SLASH, successor, toBase64 } from './bytes.ts'

export interface Row {
  readonly kind: 'folder' | 'key'
  /** The full key, or the folder's prefix (ending in `/`). */
  readonly key: Uint8Array
  /** What follows the current prefix. */
  readonly label: string
  readonly kv?: KeyValue
}

export interface Page {
  readonly rows: readonly Row[]
  /** Where the next page starts; null on the last page. */
  readonly next: Uint8Array | null
  /** Keys in [start, end of prefix) when the page was read (etcd's `count`). */
  readonly count: number
  readonly revision: string
}

/** At most this many range requests for one page (folders may swallow whole batches). */
const MAX_ROUNDS = 10

export function rangeOf(prefix: Uint8Array): { key: Uint8Array; end: Uint8Array } {
  return prefix.length === 0
    ? { key: new Uint8Array([0]), end: new Uint8Array([0]) }
    : { key: prefix, end: prefixEnd(prefix) }
}

export async function loadPage(
  prefix: Uint8Array,
  start: Uint8Array | null,
  size: number,
  signal?: AbortSignal,
): Promise<Page> {
  const { key, end } = rangeOf(prefix)
  let from = start ?? key
  const rows: Row[] = []
  let count = -1
  let revision = ''
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const body = { key: toBase64(from), range_end: toBase64(end), limit: size, keys_only: true }
    const answer = await call<RangeResponse>('/v3/kv/range', body, signal === undefined ? {} : { signal })
    if (count < 0) {
      count = Number(answer.count ?? 0)
      revision = answer.header.revision ?? ''
    }
    let last: Row | undefined = rows[rows.length - 1]
    for (const kv of answer.kvs ?? []) {
      const full = fromBase64(kv.key)
      const rest = full.subarray(prefix.length)
      const slash = rest.indexOf(SLASH)
      const row: Row =
        slash >= 0
          ? { kind: 'folder', key: full.slice(0, prefix.length + slash + 1), label: display(rest.subarray(0, slash + 1)) }
          : { kind: 'key', key: full, label: rest.length === 0 ? '(the prefix itself)' : display(rest), kv }
      if (row.kind === 'folder' && last?.kind === 'folder' && equal(last.key, row.key)) continue
      if (rows.length === size) return { rows, next: row.key, count, revision }
      rows.push(row)
      last = row
    }
    if (answer.more !== true) return { rows, next: null, count, revision }
    if (last === undefined) return { rows, next: null, count, revision }
    from = last.kind === 'folder' ? prefixEnd(last.key) : successor(last.key)
    if (rows.length === size) return { rows, next: from, count, revision }
  }
  return { rows, next: from, count, revision }
}

/** The folders leading to `prefix`, for breadcrumbs: "a/b/c" → ["a/", "a/b/", "a/b/c"]. */
export function crumbs(prefix: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < prefix.length; i++) if (prefix[i] === SLASH) out.push(prefix.slice(0, i + 1))
  if (prefix.length > 0 && prefix[prefix.length - 1] !== SLASH) out.push(prefix)
  return out
}

/** The folder above `prefix` ("a/b/" → "a/", "a/" → ""). */
export function parent(prefix: Uint8Array): Uint8Array {
  const trimmed = prefix[prefix.length - 1] === SLASH ? prefix.subarray(0, prefix.length - 1) : prefix
  const slash = trimmed.lastIndexOf(SLASH)
  return slash < 0 ? new Uint8Array(0) : prefix.slice(0, slash + 1)
}

export { concat }
