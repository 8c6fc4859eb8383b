/**
 * Typed KV requests from short options: the full request objects of src/mvcc/kv.ts with every
 * field not given at its proto default. Used for calls and for the operations inside a txn.
 *
 * @module
 */
import type {
  DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest,
} from '../mvcc/kv.ts'
import { rangeEndOf, toBytes, type Bytes, type RangeSelector } from './keys.ts'

export interface RangeOptions extends RangeSelector {
  /** At most this many kvs (`more` tells whether some were left out); 0: all. */
  readonly limit?: number
  /** Read the store as of this revision; 0: the current one. */
  readonly revision?: number
  readonly sortOrder?: SortOrder
  readonly sortTarget?: SortTarget
  /** Answer from the member's local state, without a quorum round (may be stale). */
  readonly serializable?: boolean
  readonly keysOnly?: boolean
  readonly countOnly?: boolean
  readonly minModRevision?: number
  readonly maxModRevision?: number
  readonly minCreateRevision?: number
  readonly maxCreateRevision?: number
}

export interface PutOptions {
  /** Attach the key to this lease; without it, a put detaches the key from its lease. */
  readonly lease?: bigint
  /** Answer with the key's previous version. */
  readonly prevKv?: boolean
  /** Keep the current value (then give no value). */
  readonly ignoreValue?: boolean
  /** Keep the current lease. */
  readonly ignoreLease?: boolean
}

export interface DeleteOptions extends RangeSelector {
  /** Answer with the deleted kvs. */
  readonly prevKv?: boolean
}

export function rangeRequest(key: Bytes, options: RangeOptions = {}): RangeRequest {
  const k = toBytes(key)
  return {
    key: k,
    rangeEnd: rangeEndOf(k, options),
    limit: options.limit ?? 0,
    revision: options.revision ?? 0,
    sortOrder: options.sortOrder ?? 'NONE',
    sortTarget: options.sortTarget ?? 'KEY',
    serializable: options.serializable ?? false,
    keysOnly: options.keysOnly ?? false,
    countOnly: options.countOnly ?? false,
    minModRevision: options.minModRevision ?? 0,
    maxModRevision: options.maxModRevision ?? 0,
    minCreateRevision: options.minCreateRevision ?? 0,
    maxCreateRevision: options.maxCreateRevision ?? 0,
  }
}

export function putRequest(key: Bytes, value: Bytes, options: PutOptions = {}): PutRequest {
  return {
    key: toBytes(key),
    value: toBytes(value),
    lease: options.lease ?? 0n,
    prevKv: options.prevKv ?? false,
    ignoreValue: options.ignoreValue ?? false,
    ignoreLease: options.ignoreLease ?? false,
  }
}

export function deleteRequest(key: Bytes, options: DeleteOptions = {}): DeleteRangeRequest {
  const k = toBytes(key)
  return { key: k, rangeEnd: rangeEndOf(k, options), prevKv: options.prevKv ?? false }
}

/** The operations a txn branch may hold. */
export const op = {
  get: (key: Bytes, options?: RangeOptions): RequestOp => ({
    type: 'range',
    request: rangeRequest(key, options),
  }),
  put: (key: Bytes, value: Bytes, options?: PutOptions): RequestOp => ({
    type: 'put',
    request: putRequest(key, value, options),
  }),
  delete: (key: Bytes, options?: DeleteOptions): RequestOp => ({
    type: 'delete-range',
    request: deleteRequest(key, options),
  }),
  txn: (request: TxnRequest): RequestOp => ({ type: 'txn', request }),
} as const

/** True when no operation of the txn (nested ones included) writes. */
export function readOnly(txn: TxnRequest): boolean {
  const ops = [...txn.success, ...txn.failure]
  return ops.every((o) => o.type === 'range' || (o.type === 'txn' && readOnly(o.request)))
}
