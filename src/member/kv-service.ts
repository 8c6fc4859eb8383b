/**
 * The KV service: range, put, delete-range, txn and compaction, on top of the actor. Writes are
 * proposed through Raft and answered once applied here; a range, and a txn of ranges only
 * (as etcd's), is served from the local store, after a ReadIndex round unless the client asked for
 * a serializable read (for a txn: every op of it a serializable range).
 *
 * @module
 */
import type {
  Command,
  CommandResponse,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from '../mvcc/index.ts'
import { setImmediate } from 'node:timers/promises'
import { PagedRange, txnReadOnly, type RequestOp } from '../mvcc/index.ts'
import type { Caller } from './auth-gate.ts'
import type { MemberContext } from './member-context.ts'

type ResponseOf<T extends CommandResponse['type']> = Extract<CommandResponse, { type: T }>['response']

/**
 * Proposes `command` and returns its applied response, or throws the error it failed with. With
 * `caller` (a client's request, auth enabled) the entry names its user, for the check at apply.
 */
export async function proposeFor<T extends CommandResponse['type']>(
  m: MemberContext,
  command: Command & { type: T },
  caller?: Caller,
): Promise<ResponseOf<T>> {
  const p = caller?.principal ?? null
  const applied = await m.actor.propose(command, p === null ? undefined : { user: p.name, authRevision: p.authRevision })
  if (applied.error !== null) throw applied.error
  const response = applied.response
  if (response === null || response.type !== command.type)
    throw new Error(`member: ${command.type} applied without its response`)
  return response.response as unknown as ResponseOf<T>
}

/** Keys a range reads between two yields to the event loop: a page takes ~30 ms here. */
export const RANGE_PAGE_ROWS = 5000

/**
 * A range of many keys (100,000 near the 32 MiB cap) is read a page at a time with a yield to the
 * event loop between pages (mvcc's PagedRange), so it does not hold a member's loop, and a
 * leader's heartbeats, for the whole read. Every page reads as of the revision the first one
 * did. Should a leader's snapshot replace the store, or a compaction past that revision be
 * scheduled, between pages, the range is read again from the start (one asked at that revision
 * then fails as compacted, as it would have from the start).
 */
export function range(m: MemberContext, req: RangeRequest): Promise<RangeResponse> {
  return rangeInPages(m, req, RANGE_PAGE_ROWS)
}

/** {@link range} with `pageRows` keys per page. */
export async function rangeInPages(m: MemberContext, req: RangeRequest, pageRows: number): Promise<RangeResponse> {
  if (!req.serializable) await m.actor.linearizableRead()
  for (;;) {
    const store = m.actor.store
    const opened = store.openRange(req, pageRows)
    if (!(opened instanceof PagedRange)) return opened
    let answer = opened.next(pageRows)
    while (answer === null) {
      await setImmediate()
      if (m.actor.store !== store || store.compactMainRevision() > opened.revision) break
      answer = opened.next(pageRows)
    }
    if (answer !== null) return answer
  }
}

export function put(m: MemberContext, request: PutRequest, _signal?: AbortSignal, caller?: Caller): Promise<PutResponse> {
  return proposeFor(m, { type: 'put', request }, caller)
}

export function deleteRange(
  m: MemberContext,
  request: DeleteRangeRequest,
  _signal?: AbortSignal,
  caller?: Caller,
): Promise<DeleteRangeResponse> {
  return proposeFor(m, { type: 'delete-range', request }, caller)
}

export async function txn(m: MemberContext, request: TxnRequest, _signal?: AbortSignal, caller?: Caller): Promise<TxnResponse> {
  if (!txnReadOnly(request)) return proposeFor(m, { type: 'txn', request }, caller)
  if (!serializable(request)) await m.actor.linearizableRead()
  return m.actor.store.readTxn(request)
}

/** Whether every op of `r` is a serializable range (etcd's isTxnSerializable: a nested txn is not). */
function serializable(r: TxnRequest): boolean {
  const all = (ops: readonly RequestOp[]): boolean => ops.every((op) => op.type === 'range' && op.request.serializable)
  return all(r.success) && all(r.failure)
}

export function compact(
  m: MemberContext,
  request: CompactionRequest,
  _signal?: AbortSignal,
  caller?: Caller,
): Promise<CompactionResponse> {
  return proposeFor(m, { type: 'compaction', request }, caller)
}
