/**
 * The latest version of recently read keys, for point reads at the current revision (the reads
 * a store serves most: a config key, a lock holder, a registration). It only holds what the
 * tables hold: the store fills an entry from a read of the tables and drops it whenever an applied
 * entry changes that key (every change of the latest state is an event, kvstore.ts), and forgets
 * everything when an apply rolls back. `null` records a key that does not exist.
 *
 * Bounded by bytes (keys and values); an entry larger than an eighth of the budget is not kept.
 * Eviction is first-in first-out: a hit costs one Map lookup, and a key read often is simply read
 * in again after it leaves.
 *
 * @module
 */
import type { KeyValue } from './kv.ts'

/** Fixed cost counted per entry besides its key and value (the object, the map slot). */
const ENTRY_OVERHEAD_BYTES = 96

export class PointCache {
  readonly #budget: number
  readonly #entries = new Map<string, KeyValue | null>()
  #bytes = 0

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes
  }

  /** The cached latest kv of `key` (null: no such key), or undefined when not cached. */
  get(key: string): KeyValue | null | undefined {
    return this.#entries.get(key)
  }

  set(key: string, kv: KeyValue | null): void {
    const size = sizeOf(key, kv)
    if (size > this.#budget / 8) return
    this.delete(key)
    this.#entries.set(key, kv)
    this.#bytes += size
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.#budget) break
      this.#entries.delete(oldest)
      this.#bytes -= sizeOf(oldest, old)
    }
  }

  delete(key: string): void {
    const old = this.#entries.get(key)
    if (old === undefined) return
    this.#entries.delete(key)
    this.#bytes -= sizeOf(key, old)
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  get size(): number {
    return this.#entries.size
  }
}

function sizeOf(key: string, kv: KeyValue | null): number {
  return ENTRY_OVERHEAD_BYTES + 2 * key.length + (kv === null ? 0 : kv.value.byteLength)
}
