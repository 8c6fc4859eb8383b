/**
 * Request validation that etcd performs before a request reaches the store (v3rpc's checks), run
 * here at apply so every member rejects the same entries: empty keys, put flag conflicts, the
 * per-list operation limit, and the duplicate-key rules of a txn.
 *
 * Duplicate keys (etcd's checkIntervals), per op list, recursing into nested txns:
 * - two puts of one key, or a put of a key inside a range deleted in the same list → duplicate;
 * - a nested txn's puts and deletes count as the parent list's, except that its success and
 *   failure branches may put the same key (only one of them runs);
 * - two deletes of one key, a put and a range of one key, or one key in success and failure of
 *   the same txn are fine.
 * One deliberate difference: a delete up to "\0" (every key ≥ key) counts as an interval reaching
 * the end of the keyspace; etcd 3.4 treats that interval as empty and lets such a put through.
 *
 * @module
 */
import { Errors } from './errors.ts'
import { keySpan, spanContains, type KeySpan } from './key-range.ts'
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './kv.ts'

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  if (r.ignoreValue && r.value.length !== 0) throw Errors.valueProvided()
  if (r.ignoreLease && r.lease !== 0n) throw Errors.leaseProvided()
}

export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw Errors.keyNotProvided()
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw Errors.keyNotProvided()
}

function checkOp(op: RequestOp, maxOps: number): void {
  switch (op.type) {
    case 'range':
      return checkRange(op.request)
    case 'put':
      return checkPut(op.request)
    case 'delete-range':
      return checkDelete(op.request)
    case 'txn':
      return checkTxnShape(op.request, maxOps)
  }
}

/** etcd's budget: a nested txn may use what its parent's widest list left over. */
function checkTxnShape(r: TxnRequest, maxOps: number): void {
  const width = Math.max(r.compare.length, r.success.length, r.failure.length)
  if (width > maxOps) throw Errors.tooManyOps()
  for (const c of r.compare) if (c.key.length === 0) throw Errors.keyNotProvided()
  for (const op of r.success) checkOp(op, maxOps - width)
  for (const op of r.failure) checkOp(op, maxOps - width)
}

const latin1 = new TextDecoder('latin1')

/** An injective string form of a key, for sets. */
function keyId(key: Uint8Array): string {
  return latin1.decode(key)
}

interface Intervals {
  readonly puts: Map<string, Uint8Array>
  readonly dels: KeySpan[]
}

function deleted(dels: readonly KeySpan[], key: Uint8Array): boolean {
  return dels.some((span) => spanContains(span, key))
}

function intervals(ops: readonly RequestOp[]): Intervals {
  const dels: KeySpan[] = []
  for (const op of ops) if (op.type === 'delete-range') dels.push(keySpan(op.request.key, op.request.rangeEnd))
  const puts = new Map<string, Uint8Array>()
  for (const op of ops) {
    if (op.type !== 'txn') continue
    const then = intervals(op.request.success)
    const otherwise = intervals(op.request.failure)
    for (const [id, key] of then.puts) {
      if (puts.has(id) || deleted(dels, key)) throw Errors.duplicateKey()
      puts.set(id, key)
    }
    for (const [id, key] of otherwise.puts) {
      if ((puts.has(id) && !then.puts.has(id)) || deleted(dels, key)) throw Errors.duplicateKey()
      puts.set(id, key)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of ops) {
    if (op.type !== 'put') continue
    const id = keyId(op.request.key)
    if (puts.has(id) || deleted(dels, op.request.key)) throw Errors.duplicateKey()
    puts.set(id, op.request.key)
  }
  return { puts, dels }
}

/** All of etcd's checks on a txn request, in etcd's order. */
export function checkTxn(r: TxnRequest, maxOps: number): void {
  checkTxnShape(r, maxOps)
  intervals(r.success)
  intervals(r.failure)
}
