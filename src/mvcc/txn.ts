/**
 * Executing KV requests inside one write transaction, with etcd's order of events:
 *
 * 1. every compare of the txn and of the nested txns on the chosen path is evaluated against the
 *    state *before* any op runs (etcd's compareToPath);
 * 2. the ops on that path are checked (puts: ignore_* needs the key, the lease must exist; then
 *    ranges: revision not future, not compacted); an error here fails the whole txn unchanged;
 * 3. the ops run in order, each seeing the effects of the ones before it, all at one revision.
 *
 * Invariant: an EtcdError is thrown only before the first write, so a failed request changes
 * nothing (the store asserts this).
 *
 * @module
 */
import { Errors } from './errors.ts'
import { compareBytes, keySpan } from './key-range.ts'
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from './kv.ts'
import { eachKv, range } from './reader.ts'
import type { Sql } from './sql.ts'
import type { WriteTxn } from './writer.ts'

/** What executing requests needs from the store. */
export interface ExecContext {
  readonly sql: Sql
  readonly w: WriteTxn
  /** etcd's compactMainRev: -1 when never compacted. */
  readonly compactMain: number
  readonly maxResponseBytes: number
  /** Whether a watcher here wants prev_kv: puts and deletes then read the values they replace or remove (see MvccStore.prevKvWatched). */
  prevKvWatched(): boolean
  leaseExists(id: bigint): boolean
}

/** The branch taken by a txn and by each nested txn on that branch, in op order. */
interface Path {
  readonly succeeded: boolean
  readonly nested: readonly Path[]
}

const ZERO_KV: KeyValue = {
  key: new Uint8Array(0),
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: new Uint8Array(0),
  lease: 0n,
}

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let r: number
  switch (c.target) {
    case 'VALUE':
      r = compareBytes(kv.value, c.value)
      break
    case 'CREATE':
      r = sign(kv.createRevision, c.createRevision)
      break
    case 'MOD':
      r = sign(kv.modRevision, c.modRevision)
      break
    case 'VERSION':
      r = sign(kv.version, c.version)
      break
    case 'LEASE':
      r = sign(kv.lease, c.lease)
      break
  }
  switch (c.result) {
    case 'EQUAL':
      return r === 0
    case 'NOT_EQUAL':
      return r !== 0
    case 'GREATER':
      return r > 0
    case 'LESS':
      return r < 0
  }
}

/** Holds for every key in the compare's range; on no key, VALUE fails and the rest compare 0. */
function holds(ctx: ExecContext, c: Compare): boolean {
  let any = false
  let ok = true
  eachKv(ctx.sql, keySpan(c.key, c.rangeEnd), ctx.w.rev, true, c.target === 'VALUE', (kv) => {
    any = true
    ok = compareKv(c, kv)
    return ok
  })
  if (!any) return c.target !== 'VALUE' && compareKv(c, ZERO_KV)
  return ok
}

function pathOf(ctx: ExecContext, r: TxnRequest): Path {
  const succeeded = r.compare.every((c) => holds(ctx, c))
  const nested: Path[] = []
  for (const op of succeeded ? r.success : r.failure) if (op.type === 'txn') nested.push(pathOf(ctx, op.request))
  return { succeeded, nested }
}

function checkPutPreconditions(ctx: ExecContext, r: PutRequest, leaseFirst: boolean): void {
  const leaseOk = r.lease === 0n || ctx.leaseExists(r.lease)
  if (leaseFirst && !leaseOk) throw Errors.leaseNotFound()
  if ((r.ignoreValue || r.ignoreLease) && ctx.w.live(r.key) === null) throw Errors.keyNotFound()
  if (!leaseOk) throw Errors.leaseNotFound()
}

function checkRangeRevision(ctx: ExecContext, r: RangeRequest): void {
  if (r.revision === 0) return
  if (r.revision > ctx.w.rev) throw Errors.futureRev()
  if (r.revision < ctx.compactMain) throw Errors.compacted()
}

/** Visits the ops that will run: the chosen branch of `r` and of its nested txns. */
function eachOnPath(r: TxnRequest, path: Path, visit: (op: RequestOp) => void): void {
  let n = 0
  for (const op of path.succeeded ? r.success : r.failure) {
    if (op.type === 'txn') eachOnPath(op.request, path.nested[n++] as Path, visit)
    else visit(op)
  }
}

function execRange(ctx: ExecContext, r: RangeRequest): RangeResponse {
  return range(ctx.sql, { rev: ctx.w.rev, compactMain: ctx.compactMain }, r, ctx.maxResponseBytes)
}

function putNow(ctx: ExecContext, r: PutRequest): PutResponse {
  let value = r.value
  let lease = r.lease
  if (r.ignoreValue || r.ignoreLease) {
    const prev = ctx.w.live(r.key) as KeyValue
    if (r.ignoreValue) value = prev.value
    if (r.ignoreLease) lease = prev.lease
  }
  const prev = ctx.w.put(r.key, value, lease, r.prevKv || ctx.prevKvWatched())
  return { header: { revision: ctx.w.rev }, prevKv: r.prevKv ? prev : null }
}

/** A standalone put: etcd checks the lease before the ignore_* flags here (unlike in a txn). */
export function execPut(ctx: ExecContext, r: PutRequest): PutResponse {
  checkPutPreconditions(ctx, r, true)
  return putNow(ctx, r)
}

export function execDelete(ctx: ExecContext, r: DeleteRangeRequest): DeleteRangeResponse {
  const { deleted, prevs } = ctx.w.deleteRange(keySpan(r.key, r.rangeEnd), r.prevKv || ctx.prevKvWatched())
  return { header: { revision: ctx.w.rev }, deleted, prevKvs: r.prevKv ? prevs : [] }
}

function run(ctx: ExecContext, r: TxnRequest, path: Path, revision: number): TxnResponse {
  const responses: ResponseOp[] = []
  let n = 0
  for (const op of path.succeeded ? r.success : r.failure) {
    switch (op.type) {
      case 'range':
        responses.push({ type: 'range', response: execRange(ctx, op.request) })
        break
      case 'put':
        responses.push({ type: 'put', response: putNow(ctx, op.request) })
        break
      case 'delete-range':
        responses.push({ type: 'delete-range', response: execDelete(ctx, op.request) })
        break
      case 'txn':
        responses.push({ type: 'txn', response: run(ctx, op.request, path.nested[n++] as Path, 0) })
        break
    }
  }
  return { header: { revision }, succeeded: path.succeeded, responses }
}

/** A txn already validated by checkTxn. Nested txn responses carry an empty header (revision 0). */
export function execTxn(ctx: ExecContext, r: TxnRequest): TxnResponse {
  const path = pathOf(ctx, r)
  eachOnPath(r, path, (op) => {
    if (op.type === 'put') checkPutPreconditions(ctx, op.request, false)
  })
  eachOnPath(r, path, (op) => {
    if (op.type === 'range') checkRangeRevision(ctx, op.request)
  })
  const response = run(ctx, r, path, 0)
  return { ...response, header: { revision: ctx.w.rev } }
}
