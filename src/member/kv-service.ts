/**
 * The KV service: range, put, delete-range, txn and compaction, on top of the actor. Writes are
 * proposed through Raft and answered once applied here; a range is served from the local store,
 * after a ReadIndex round unless the client asked for a serializable read.
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
import type { MemberContext } from './member-context.ts'

/** Proposes `command` and returns its applied response, or throws the error it failed with. */
type ResponseOf<T extends CommandResponse['type']> = Extract<CommandResponse, { type: T }>['response']

export async function proposeFor<T extends CommandResponse['type']>(
  m: MemberContext,
  command: Command & { type: T },
): Promise<ResponseOf<T>> {
  const applied = await m.actor.propose(command)
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

export function put(m: MemberContext, request: PutRequest): Promise<PutResponse> {
  return proposeFor(m, { type: 'put', request })
}

export function deleteRange(m: MemberContext, request: DeleteRangeRequest): Promise<DeleteRangeResponse> {
  return proposeFor(m, { type: 'delete-range', request })
}

export function txn(m: MemberContext, request: TxnRequest): Promise<TxnResponse> {
  return proposeFor(m, { type: 'txn', request })
}

export function compact(m: MemberContext, request: CompactionRequest): Promise<CompactionResponse> {
  return proposeFor(m, { type: 'compaction', request })
}
