/**
 * A set of watchers indexed for "who watches this key?": single-key watchers in a map by key
 * (a lookup costs O(watchers on that key)), range watchers in buckets of identical ranges kept
 * sorted by start key. A lookup scans the buckets whose start ≤ key (binary search for the
 * bound), so many watchers sharing one prefix cost one comparison. If the number of *distinct*
 * ranges grows large, an interval tree (etcd's adt) is the upgrade; the interface stays.
 *
 * @module
 */
import type { Event } from './kv.ts'
import { compareBytes, spanContains, type KeySpan } from './key-range.ts'
import type { Watcher } from './watch-watcher.ts'
import { keyString } from './key-string.ts'

type RangeSpan = KeySpan & { readonly kind: 'from' | 'between' }

interface RangeBucket {
  readonly span: RangeSpan
  readonly id: string
  readonly watchers: Set<Watcher>
}

/** '\u0100' cannot occur in a keyString, so (key, end) pairs map to distinct ids. */
function spanId(span: RangeSpan): string {
  return `${keyString(span.key)}\u0100${span.kind === 'from' ? '' : `\u0100${keyString(span.end)}`}`
}

export class WatcherGroup {
  readonly #keys = new Map<string, Set<Watcher>>()
  /** Invariant: sorted by span.key (ties in insertion order); no bucket is empty. */
  readonly #ranges: RangeBucket[] = []
  readonly #rangeById = new Map<string, RangeBucket>()
  #size = 0

  get size(): number {
    return this.#size
  }

  add(w: Watcher): void {
    const span = w.span
    if (span.kind === 'none') return
    if (span.kind === 'one') {
      const k = keyString(span.key)
      const set = this.#keys.get(k)
      if (set === undefined) this.#keys.set(k, new Set([w]))
      else set.add(w)
    } else {
      const id = spanId(span)
      let bucket = this.#rangeById.get(id)
      if (bucket === undefined) {
        bucket = { span, id, watchers: new Set() }
        this.#rangeById.set(id, bucket)
        this.#ranges.splice(this.#upperBound(span.key), 0, bucket)
      }
      bucket.watchers.add(w)
    }
    this.#size++
  }

  /** Removes `w` if present. */
  delete(w: Watcher): void {
    const span = w.span
    if (span.kind === 'none') return
    if (span.kind === 'one') {
      const k = keyString(span.key)
      const set = this.#keys.get(k)
      if (set === undefined || !set.delete(w)) return
      if (set.size === 0) this.#keys.delete(k)
    } else {
      const bucket = this.#rangeById.get(spanId(span))
      if (bucket === undefined || !bucket.watchers.delete(w)) return
      if (bucket.watchers.size === 0) {
        this.#rangeById.delete(bucket.id)
        this.#ranges.splice(this.#ranges.indexOf(bucket), 1)
      }
    }
    this.#size--
  }

  /** Every watcher in the group, single-key ones first. */
  *[Symbol.iterator](): IterableIterator<Watcher> {
    for (const set of this.#keys.values()) yield* set
    for (const bucket of this.#ranges) yield* bucket.watchers
  }

  /**
   * The events each watcher's key or range matches, per watcher, in event order. The caller
   * owns the returned map and arrays.
   */
  match(events: readonly Event[]): Map<Watcher, Event[]> {
    const out = new Map<Watcher, Event[]>()
    if (this.#size === 0) return out
    const hit = (w: Watcher, e: Event): void => {
      const list = out.get(w)
      if (list === undefined) out.set(w, [e])
      else list.push(e)
    }
    for (const e of events) {
      const key = e.kv.key
      const exact = this.#keys.get(keyString(key))
      if (exact !== undefined) for (const w of exact) hit(w, e)
      const bound = this.#upperBound(key)
      for (let i = 0; i < bound; i++) {
        const bucket = this.#ranges[i] as RangeBucket
        if (spanContains(bucket.span, key)) for (const w of bucket.watchers) hit(w, e)
      }
    }
    return out
  }

  /** The number of range buckets whose start key is ≤ key. */
  #upperBound(key: Uint8Array): number {
    let lo = 0
    let hi = this.#ranges.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes((this.#ranges[mid] as RangeBucket).span.key, key) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
