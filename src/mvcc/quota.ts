/**
 * The space quota. Usage is measured from the database file (pages in use × page size), which
 * includes other layers' tables and differs between members, so it is never read during apply:
 * the member checks it before proposing (admit: the usage plus the request's cost must stay
 * under the quota, as etcd's backend quota has it) and proposes NOSPACE alarms when usage
 * crosses the quota either way; apply only obeys the replicated alarm.
 *
 * @module
 */
import type { Command } from './command.ts'
import type { RequestOp } from './kv.ts'
import type { Sql } from './sql.ts'

/** Bytes of the database file, its free pages included: page_count × page_size. */
export function fileSize(sql: Sql): number {
  return sql.number('PRAGMA page_count') * sql.number('PRAGMA page_size')
}

/** Bytes of the database in use: (page_count − freelist_count) × page_size. */
export function spaceUsed(sql: Sql): number {
  const pages = sql.number('PRAGMA page_count') - sql.number('PRAGMA freelist_count')
  return pages * sql.number('PRAGMA page_size')
}

/** etcd's estimates of what storing a key's metadata, and a lease, costs beyond their bytes. */
const KV_OVERHEAD = 256
const LEASE_OVERHEAD = 64

/** What the command may add to the database, as etcd estimates it (0 for one that needs no space). */
export function cost(c: Command): number {
  switch (c.type) {
    case 'put':
      return KV_OVERHEAD + c.request.key.length + c.request.value.length
    case 'lease-grant':
      return LEASE_OVERHEAD
    case 'txn':
      // The costlier branch's puts (etcd counts a branch's own puts, not a nested txn's).
      return Math.max(branchCost(c.request.success), branchCost(c.request.failure))
    default:
      return 0
  }
}

function branchCost(ops: readonly RequestOp[]): number {
  let total = 0
  for (const op of ops) if (op.type === 'put') total += KV_OVERHEAD + op.request.key.length + op.request.value.length
  return total
}

function opsPut(ops: readonly RequestOp[]): boolean {
  return ops.some((op) => op.type === 'put' || (op.type === 'txn' && opsPut([...op.request.success, ...op.request.failure])))
}

/**
 * Whether etcd checks the command against its backend quota before proposing it (its quota
 * servers: Put, Txn, LeaseGrant), whatever it costs: a txn that writes nothing costs 0, so it is
 * refused only once the database has reached the quota.
 */
export function quotaChecked(c: Command): boolean {
  return c.type === 'put' || c.type === 'txn' || c.type === 'lease-grant'
}

/** Whether the command can grow the database: a put, a txn with a put anywhere, a lease grant. */
export function needsSpace(c: Command): boolean {
  switch (c.type) {
    case 'put':
    case 'lease-grant':
      return true
    case 'txn':
      return opsPut(c.request.success) || opsPut(c.request.failure)
    default:
      return false
  }
}
