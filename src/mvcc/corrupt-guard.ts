/**
 * The CORRUPT alarm: while any member has it raised, etcd applies no change to the keyspace or
 * the leases (its "corrupt" applier answers every put, delete, writing txn, compaction, lease
 * grant and revoke with `etcdserver: corrupt cluster`); reads, read-only txns, alarms, auth and
 * lease checkpoints go on. Deactivating the alarm lifts it.
 *
 * @module
 */
import type { Command } from './command.ts'
import type { RequestOp, TxnRequest } from './kv.ts'

function opsWrite(ops: readonly RequestOp[]): boolean {
  return ops.some((op) => op.type !== 'range' && (op.type !== 'txn' || opsWrite([...op.request.success, ...op.request.failure])))
}

/** Whether `r` may write: a put or a delete on either branch, nested txns included. */
function txnWrites(r: TxnRequest): boolean {
  return opsWrite(r.success) || opsWrite(r.failure)
}

/** Whether every op of `r` is a range (etcd's isTxnReadonly: a nested txn counts as a write). */
export function txnReadOnly(r: TxnRequest): boolean {
  return r.success.every((op) => op.type === 'range') && r.failure.every((op) => op.type === 'range')
}

/** Whether `c` is refused while the CORRUPT alarm is raised. */
export function refusedWhenCorrupt(c: Command): boolean {
  switch (c.type) {
    case 'put':
    case 'delete-range':
    case 'compaction':
    case 'lease-grant':
    case 'lease-revoke':
      return true
    case 'txn':
      return txnWrites(c.request)
    case 'lease-checkpoint':
    case 'alarm':
      return false
  }
}
