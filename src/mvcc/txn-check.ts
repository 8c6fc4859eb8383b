/**
 * Request validation that etcd performs before a request reaches the store (v3rpc's checks). The
 * API layer runs it before proposing, and the store runs it again at apply so every member
 * rejects the same entries: empty keys, put flag conflicts, the per-list operation limit, and the
 * duplicate-key rules of a txn.
 *
 * A txn is checked in etcd's order: its list sizes (`etcdserver: too many operations in txn
 * request`), compare keys, each op in turn (a nested txn gets the budget max-txn-ops − the
 * parent's widest list), and only then duplicate keys (etcd's checkIntervals), per op list,
 * recursing into nested txns:
 * - two puts of one key, or a put of a key inside a range deleted in the same list → duplicate;
 * - a nested txn's puts and deletes count as the parent list's, except that its success and
 *   failure branches may put the same key (only one of them runs);
 * - two deletes of one key, a put and a range of one key, or one key in success and failure of
 *   the same txn are fine.
 * One deliberate difference: a delete up to "\0" (every key ≥ key) counts as an interval reaching
 * the end of the keyspace; etcd 3.4 treats that interval as empty and lets such a put through.
 * The store needs it: a key changes at most once per revision (see writer.ts).
 *
 * @module
 */
import { Errors } from './errors.ts'
import { keySpan, spanContains, type KeySpan } from './key-range.ts'
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './kv.ts'

export function checkPut(r: PutRequest): PutRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  if (r.ignoreValue && r.value.length !== 0) throw Errors.valueProvided()
  if (r.ignoreLease && r.lease !== 0n) throw Errors.leaseProvided()
  return r
}

export function checkRange(r: RangeRequest): RangeRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  return r
}

export function checkDelete(r: DeleteRangeRequest): DeleteRangeRequest {
  if (r.key.length === 0) throw Errors.keyNotProvided()
  return r
}

/** A txn request whose ops are `Op`s: a TxnRequest, or a form still to be read into one. */
export interface TxnOf<Op> {
  readonly compare: readonly Compare[]
  readonly success: readonly Op[]
  readonly failure: readonly Op[]
}

/** An op as read: a RequestOp, except that a nested txn's ops are still `Op`s. */
export type OpOf<Op> = Exclude<RequestOp, { type: 'txn' }> | { readonly type: 'txn'; readonly request: TxnOf<Op> }

/** Reads one op when the check reaches it; may throw, at that op's turn in etcd's order. */
export type ReadOp<Op> = (op: Op) => OpOf<Op>

function checkOp<Op>(op: Op, maxOps: number, read: ReadOp<Op>): RequestOp {
  const o = read(op)
  switch (o.type) {
    case 'range':
      return { type: 'range', request: checkRange(o.request) }
    case 'put':
      return { type: 'put', request: checkPut(o.request) }
    case 'delete-range':
      return { type: 'delete-range', request: checkDelete(o.request) }
    case 'txn':
      return { type: 'txn', request: checkTxnShape(o.request, maxOps, read) }
  }
}

/** etcd's budget: a nested txn may use what its parent's widest list left over. */
function checkTxnShape<Op>(r: TxnOf<Op>, maxOps: number, read: ReadOp<Op>): TxnRequest {
  const width = Math.max(r.compare.length, r.success.length, r.failure.length)
  if (width > maxOps) throw Errors.tooManyOps()
  for (const c of r.compare) if (c.key.length === 0) throw Errors.keyNotProvided()
  const success = r.success.map((op) => checkOp(op, maxOps - width, read))
  const failure = r.failure.map((op) => checkOp(op, maxOps - width, read))
  return { compare: r.compare, success, failure }
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
    // A delete in a nested txn of a key an earlier sibling nested txn puts: etcd 3.4's check lets
    // it through (its history keeps both versions in one revision); one revision holds one row per
    // key here, so it is refused as a duplicate (applied, it would fail every member on the entry).
    for (const span of [...then.dels, ...otherwise.dels])
      for (const key of puts.values()) if (spanContains(span, key)) throw Errors.duplicateKey()
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

/**
 * All of etcd's checks on a txn request, in etcd's order, reading each op with `read` as the
 * check reaches it; returns the txn as read.
 */
export function checkTxnOf<Op>(r: TxnOf<Op>, maxOps: number, read: ReadOp<Op>): TxnRequest {
  const txn = checkTxnShape(r, maxOps, read)
  intervals(txn.success)
  intervals(txn.failure)
  return txn
}

/** All of etcd's checks on a txn request, in etcd's order. */
export function checkTxn(r: TxnRequest, maxOps: number): void {
  checkTxnOf<RequestOp>(r, maxOps, (op) => op)
}
