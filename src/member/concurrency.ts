/**
 * etcd's concurrency recipe (its clientv3/concurrency package), run inside the member on its own
 * store and watch hub; the v3lock and v3election services are built from it. Every waiter puts
 * one key, `<name>/<lease hex>`, under its lease. The waiter whose key has the smallest create
 * revision holds the lock (leads the election); every other waiter watches only the key just
 * before its own in create-revision order, so a release wakes one waiter, not all of them.
 *
 * ```
 *   enqueue      txn  if create_revision(key) == 0  then put(key, value, lease), get(first key)
 *                                                   else get(key), get(first key)
 *   waitDeletes  loop: the last key created before mine?  none → my turn
 *                                                         one  → watch it (hub) until its DELETE
 *   confirm      txn  if create_revision(key) == mine   (proposed while the lease is alive)
 * ```
 *
 * The lease is checked against the leader's clock (only the leader tracks lease deadlines, so
 * these calls run there) right before enqueue and confirm are proposed, in the same synchronous
 * step. A lease past its deadline is refused; one whose revoke is already proposed is refused by
 * the txn itself, which Raft orders after that revoke (the key is gone). So a lock is never
 * handed out on a lease that had expired when it was granted.
 *
 * @module
 */
import { asEtcdError, concurrencyError, prefixRangeEnd, proposalSize, protoSize, TXN_PROPOSAL_FIELD } from '../api/index.ts'
import { TxnRequestSchema } from '../api/kv-schemas.ts'
import { Errors, EtcdError, GrpcCode } from '../mvcc/index.ts'
import type {
  Compare, KeyValue, RangeRequest, RequestOp, ResponseHeader, TxnResponse, WatchResponse,
} from '../mvcc/index.ts'
import { proposeFor } from './kv-service.ts'
import type { MemberContext } from './member-context.ts'

/** The lease granted for a call that brings none; like etcd, it is never renewed. */
const SERVER_LEASE_TTL = 60

const EMPTY = new Uint8Array(0)
const encoder = new TextEncoder()

/** Runs a v3lock / v3election call: any error it meets reaches the client as 500 / 2. */
export async function concurrencyCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    throw concurrencyError(asEtcdError(err))
  }
}

/** The caller's lease, or (for 0) a 60 s one granted here and never kept alive. */
export async function sessionLease(m: MemberContext, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease
  const granted = await proposeFor(m, { type: 'lease-grant', request: { ttl: SERVER_LEASE_TTL, id: 0n } })
  return granted.id
}

/** `name` + "/": every waiter's key starts with it. */
export function prefixOf(name: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(name.length + 1)
  prefix.set(name)
  prefix[name.length] = 0x2f
  return prefix
}

/** `<prefix><lease in lowercase hex>`, as etcd names a session's key (Go's `%x` of an int64). */
export function waiterKey(prefix: Uint8Array, lease: bigint): Uint8Array {
  const hex = encoder.encode(lease.toString(16))
  const key = new Uint8Array(prefix.length + hex.length)
  key.set(prefix)
  key.set(hex, prefix.length)
  return key
}

/** A range request for `key`: every option at its default except those given. */
export function rangeOf(key: Uint8Array, options: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key, rangeEnd: EMPTY, limit: 0, revision: 0, sortOrder: 'NONE', sortTarget: 'KEY', serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0,
    maxCreateRevision: 0, ...options,
  }
}

/** The key under `prefix` with the smallest create revision (the holder, the leader). */
export function firstCreated(prefix: Uint8Array): RangeRequest {
  return rangeOf(prefix, { rangeEnd: prefixRangeEnd(prefix), sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 })
}

/** `create_revision(key) == rev` (0: the key does not exist). */
export function createdAt(key: Uint8Array, rev: number): Compare {
  return {
    key, rangeEnd: EMPTY, target: 'CREATE', result: 'EQUAL', version: 0, createRevision: rev, modRevision: 0,
    value: EMPTY, lease: 0n,
  }
}

export async function txn(
  m: MemberContext,
  compare: Compare[],
  success: RequestOp[],
  failure: RequestOp[] = [],
): Promise<TxnResponse> {
  const request = { compare, success, failure }
  // A proposal as etcd's v3lock and v3election make: through its quota check first, then
  // within --max-request-bytes, or refused.
  m.actor.checkQuota({ type: 'txn', request })
  if (proposalSize(protoSize(TxnRequestSchema, request), TXN_PROPOSAL_FIELD) > m.limits.maxRequestBytes) throw Errors.requestTooLarge()
  return proposeFor(m, { type: 'txn', request })
}

function rangeKvs(r: TxnResponse, at: number): readonly KeyValue[] {
  const op = r.responses[at]
  return op?.type === 'range' ? op.response.kvs : []
}

/**
 * Refuses a lease that is past its deadline on the leader's clock. Call it in the same
 * synchronous step as the proposal it guards (see the module doc).
 */
function assertLeaseAlive(m: MemberContext, lease: bigint, expired: () => EtcdError): void {
  const { actor } = m
  if (!actor.isLeader || !actor.store.lessor.primary) throw Errors.leaderChanged()
  if (actor.store.lessor.remainingMs(lease, actor.clock.now()) === 0) throw expired()
}

export interface Enqueued {
  /** The txn's header: the revision the key was created at, or the current one if it existed. */
  readonly header: ResponseHeader
  /** The key's create revision: its place in line. */
  readonly rev: number
  /** The key's value now (it differs when the same lease was already in line under the name). */
  readonly value: Uint8Array
  /** The create revision of the first key in line; `rev` when it is this one. */
  readonly firstRev: number
}

/** Puts `key` under `lease` unless it exists; either way tells where it stands in line. */
export async function enqueue(
  m: MemberContext,
  prefix: Uint8Array,
  key: Uint8Array,
  value: Uint8Array,
  lease: bigint,
): Promise<Enqueued> {
  assertLeaseAlive(m, lease, Errors.leaseNotFound)
  const put: RequestOp = {
    type: 'put',
    request: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false },
  }
  const first: RequestOp = { type: 'range', request: firstCreated(prefix) }
  const r = await txn(m, [createdAt(key, 0)], [put, first], [{ type: 'range', request: rangeOf(key) }, first])
  let rev = r.header.revision
  let current = value
  if (!r.succeeded) {
    const mine = rangeKvs(r, 0)[0]
    if (mine === undefined) throw new Error('concurrency: the compare saw the key, its range did not')
    rev = mine.createRevision
    current = mine.value
  }
  const firstRev = rangeKvs(r, 1)[0]?.createRevision ?? rev
  return { header: r.header, rev, value: current, firstRev }
}

/**
 * Checks that `key` is still the one created at `rev` (its lease was not revoked meanwhile) and
 * that the lease is alive; returns the header of that check (the revision the turn was taken at).
 */
export async function confirm(
  m: MemberContext,
  key: Uint8Array,
  rev: number,
  lease: bigint,
  expired: () => EtcdError,
): Promise<ResponseHeader> {
  assertLeaseAlive(m, lease, expired)
  const r = await txn(m, [createdAt(key, rev)], [])
  if (!r.succeeded) throw expired()
  return r.header
}

/** Deletes `key` if it is still the one created at `rev`. */
export async function release(m: MemberContext, key: Uint8Array, rev: number): Promise<TxnResponse> {
  const del: RequestOp = { type: 'delete-range', request: { key, rangeEnd: EMPTY, prevKv: false } }
  return txn(m, [createdAt(key, rev)], [del])
}

/** The client went away while the call waited (gRPC's Canceled, as etcd's context error). */
function canceled(): EtcdError {
  return new EtcdError(GrpcCode.Canceled, 'context canceled')
}

/** Resolves once every key under `prefix` created at or below `maxCreateRev` is gone. */
export async function waitDeletes(
  m: MemberContext,
  prefix: Uint8Array,
  maxCreateRev: number,
  signal: AbortSignal,
): Promise<void> {
  const request = { ...firstCreated(prefix), sortOrder: 'DESCEND', maxCreateRevision: maxCreateRev } as const
  for (;;) {
    if (signal.aborted) throw canceled()
    const r = m.actor.store.range(request)
    const kv = r.kvs[0]
    if (kv === undefined) return
    await waitDelete(m, kv.key, r.header.revision + 1, signal)
  }
}

/**
 * Resolves at the first DELETE of `key` from revision `from` on, or when the hub ends the watch
 * (a compaction): the caller looks again. The hub watcher is removed on every path.
 */
function waitDelete(m: MemberContext, key: Uint8Array, from: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err: EtcdError | null): void => {
      signal.removeEventListener('abort', onAbort)
      stream.close()
      if (err === null) resolve()
      else reject(err)
    }
    const onAbort = (): void => done(canceled())
    const stream = m.actor.hub.openStream((r: WatchResponse) => {
      stream.acknowledge(r)
      if (r.canceled || r.events.some((e) => e.type === 'DELETE')) queueMicrotask(() => done(null))
    })
    signal.addEventListener('abort', onAbort)
    stream.create({
      key, rangeEnd: EMPTY, startRevision: from, progressNotify: false, filters: ['NOPUT'], prevKv: false,
      watchId: 0,
    })
  })
}
