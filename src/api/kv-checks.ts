/**
 * The checks etcd's KV server (v3rpc/key.go) makes before a request reaches the store, in its
 * order: a txn's list sizes (`etcdserver: too many operations in txn request`), compare keys,
 * each op (an empty op is `etcdserver: key not found`; a nested txn gets the budget
 * max-txn-ops − the parent's largest list), and only then duplicate keys (checkIntervals):
 *
 * - per op list: two puts of one key, or a put of a key inside a range deleted in the same list,
 *   is a duplicate; so is a put repeated in a nested txn;
 * - a nested txn's puts and deletes count in the parent's list, but its success and failure may
 *   put the same key (only one runs);
 * - two deletes of one key, a put and a range of one key, and one key in success and failure
 *   are allowed.
 *
 * As in etcd 3.4, a delete whose range_end is "\0" (every key ≥ key) is an empty interval here,
 * so it conflicts with no put.
 *
 * @module
 */

import { Errors } from '../mvcc/errors.ts'
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../mvcc/kv.ts'
import type { WireRequestOp, WireTxnRequest } from './kv-schemas.ts'

export function checkRangeRequest(r: RangeRequest): RangeRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  return r
}

export function checkPutRequest(r: PutRequest): PutRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  if (r.ignoreValue && r.value.length !== 0) throw Errors.valueProvided()
  if (r.ignoreLease && r.lease !== 0n) throw Errors.leaseProvided()
  return r
}

export function checkDeleteRangeRequest(r: DeleteRangeRequest): DeleteRangeRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  return r
}

function checkRequestOp(op: WireRequestOp | null, maxTxnOps: number): RequestOp {
  if (op === null) throw Errors.keyNotFound()
  switch (op.type) {
    case 'range': return { type: 'range', request: checkRangeRequest(op.request) }
    case 'put': return { type: 'put', request: checkPutRequest(op.request) }
    case 'delete-range': return { type: 'delete-range', request: checkDeleteRangeRequest(op.request) }
    case 'txn': return { type: 'txn', request: checkTxnOps(op.request, maxTxnOps) }
  }
}

/** etcd's checkTxnRequest: sizes, compare keys, then every op; returns the typed txn. */
function checkTxnOps(r: WireTxnRequest, maxTxnOps: number): TxnRequest {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length)
  if (opc > maxTxnOps) throw Errors.tooManyOps()
  for (const c of r.compare) if (c.key.length === 0) throw Errors.keyNotProvided()
  const success = r.success.map((op) => checkRequestOp(op, maxTxnOps - opc))
  const failure = r.failure.map((op) => checkRequestOp(op, maxTxnOps - opc))
  return { compare: r.compare, success, failure }
}

/** [begin, end) */
interface Interval {
  readonly begin: Uint8Array
  readonly end: Uint8Array
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

const intersects = (dels: readonly Interval[], key: Uint8Array): boolean =>
  dels.some((d) => compareBytes(d.begin, key) <= 0 && compareBytes(key, d.end) < 0)

/** A key as a Map key. */
function keyOf(key: Uint8Array): string {
  let s = ''
  for (const b of key) s += String.fromCharCode(b)
  return s
}

/** The end of the single-key interval [key, key + "\0"). */
function pointEnd(key: Uint8Array): Uint8Array {
  const end = new Uint8Array(key.length + 1)
  end.set(key)
  return end
}

interface Writes {
  readonly puts: Map<string, Uint8Array>
  readonly dels: Interval[]
}

/** etcd's checkIntervals over one op list. */
function checkIntervals(ops: readonly RequestOp[]): Writes {
  const dels: Interval[] = []
  for (const op of ops) {
    if (op.type !== 'delete-range') continue
    const { key, rangeEnd } = op.request
    dels.push({ begin: key, end: rangeEnd.length > 0 ? rangeEnd : pointEnd(key) })
  }
  const puts = new Map<string, Uint8Array>()
  for (const op of ops) {
    if (op.type !== 'txn') continue
    const then = checkIntervals(op.request.success)
    const otherwise = checkIntervals(op.request.failure)
    for (const [k, key] of then.puts) {
      if (puts.has(k) || intersects(dels, key)) throw Errors.duplicateKey()
      puts.set(k, key)
    }
    for (const [k, key] of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || intersects(dels, key)) throw Errors.duplicateKey()
      puts.set(k, key)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of ops) {
    if (op.type !== 'put') continue
    const key = op.request.key
    const k = keyOf(key)
    if (puts.has(k) || intersects(dels, key)) throw Errors.duplicateKey()
    puts.set(k, key)
  }
  return { puts, dels }
}

/** Everything etcd checks on a TxnRequest before running it. */
export function checkTxnRequest(r: WireTxnRequest, maxTxnOps: number): TxnRequest {
  const txn = checkTxnOps(r, maxTxnOps)
  checkIntervals(txn.success)
  checkIntervals(txn.failure)
  return txn
}
