/**
 * The replicated lease state: one mvcc_lease row per lease (granted TTL and the last checkpointed
 * remaining time), mirrored in a map for O(1) lookups during apply. Which keys a lease holds is
 * not stored here: it is the `lease` column of mvcc_kv (indexed), so attaching and detaching is
 * part of the put or delete itself.
 *
 * Invariant: the map equals the table after every committed apply; after a rolled-back apply the
 * store calls load() again.
 *
 * @module
 */
import { int64Columns, int64Of, int64Param, type Sql } from './sql.ts'

export interface Lease {
  readonly id: bigint
  /** Granted TTL, seconds. */
  readonly ttl: number
  /** Remaining time at the last checkpoint; 0 = never checkpointed (use the full TTL). */
  readonly remainingMs: number
}

export class LeaseTable {
  readonly #sql: Sql
  #leases = new Map<bigint, Lease>()

  constructor(sql: Sql) {
    this.#sql = sql
    this.load()
  }

  load(): void {
    this.#leases = new Map()
    this.#sql.each(`SELECT ${int64Columns('id')}, ttl, remaining_ms FROM mvcc_lease ORDER BY id`, [], (row) => {
      const id = int64Of(row[0] as number, row[1] as number)
      this.#leases.set(id, { id, ttl: row[2] as number, remainingMs: row[3] as number })
    })
  }

  get(id: bigint): Lease | undefined {
    return this.#leases.get(id)
  }

  has(id: bigint): boolean {
    return this.#leases.has(id)
  }

  /** Every lease, in grant order. */
  all(): IterableIterator<Lease> {
    return this.#leases.values()
  }

  grant(id: bigint, ttl: number): Lease {
    const lease: Lease = { id, ttl, remainingMs: 0 }
    this.#sql.run('INSERT INTO mvcc_lease VALUES (CAST(? AS INTEGER), ?, 0)', [int64Param(id), ttl])
    this.#leases.set(id, lease)
    return lease
  }

  remove(id: bigint): void {
    this.#sql.run('DELETE FROM mvcc_lease WHERE id = CAST(? AS INTEGER)', [int64Param(id)])
    this.#leases.delete(id)
  }

  checkpoint(id: bigint, remainingMs: number): void {
    const lease = this.#leases.get(id)
    if (lease === undefined) return
    this.#sql.run('UPDATE mvcc_lease SET remaining_ms = ? WHERE id = CAST(? AS INTEGER)', [remainingMs, int64Param(id)])
    this.#leases.set(id, { ...lease, remainingMs })
  }

  /** The live keys attached to the lease, in key order. */
  keys(id: bigint): Uint8Array[] {
    const keys: Uint8Array[] = []
    this.#sql.each('SELECT key FROM mvcc_kv WHERE lease = CAST(? AS INTEGER) ORDER BY key', [int64Param(id)], (row) => {
      keys.push(row[0] as Uint8Array)
    })
    return keys
  }
}
