/**
 * The space quota. Usage is measured from the database file (pages in use × page size), which
 * includes other layers' tables and differs between members, so it is never read during apply:
 * the member checks it before proposing (admit) and proposes NOSPACE alarms when usage crosses the
 * quota either way; apply only obeys the replicated alarm.
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

function opsPut(ops: readonly RequestOp[]): boolean {
  return ops.some((op) => op.type === 'put' || (op.type === 'txn' && opsPut([...op.request.success, ...op.request.failure])))
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
