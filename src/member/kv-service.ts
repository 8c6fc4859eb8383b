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
import { txnReadOnly, type RequestOp } from '../mvcc/index.ts'
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

export async function range(m: MemberContext, req: RangeRequest): Promise<RangeResponse> {
  if (!req.serializable) await m.actor.linearizableRead()
  return m.actor.store.range(req)
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
