/**
 * The wire side of etcd's request checks (the rules, and their order, are src/mvcc/txn-check.ts):
 * a decoded txn may hold empty RequestOps, which etcd refuses as `etcdserver: key not found` at
 * their turn among the op checks.
 *
 * @module
 */

import { Errors } from '../mvcc/errors.ts'
import type { TxnRequest } from '../mvcc/kv.ts'
import { checkTxnOf } from '../mvcc/txn-check.ts'
import type { WireRequestOp, WireTxnRequest } from './kv-schemas.ts'

function readOp(op: WireRequestOp | null): WireRequestOp {
  if (op === null) throw Errors.keyNotFound()
  return op
}

/** Everything etcd checks on a TxnRequest before running it; returns the typed txn. */
export function checkTxnRequest(r: WireTxnRequest, maxTxnOps: number): TxnRequest {
  return checkTxnOf(r, maxTxnOps, readOp)
}
