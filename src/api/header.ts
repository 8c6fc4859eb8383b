/**
 * The response header. Typed responses (kv.ts) carry only `revision`; the member knows the rest
 * (cluster ID, its own ID, the Raft term) and passes it as a {@link HeaderContext} when encoding.
 * Decoded responses (the client's side) carry all four fields.
 *
 * @module
 */

import type { ResponseHeader } from '../mvcc/kv.ts'
import { field, K, message, messageOf, type MessageSchema } from './schema.ts'

export interface HeaderContext {
  readonly clusterId: bigint
  readonly memberId: bigint
  readonly raftTerm: number
}

export interface FullResponseHeader extends ResponseHeader, HeaderContext {}

export const ResponseHeaderSchema = message<FullResponseHeader>('etcdserverpb.ResponseHeader', [
  field(1, 'cluster_id', K.uint64n),
  field(2, 'member_id', K.uint64n),
  field(3, 'revision', K.int64),
  field(4, 'raft_term', K.uint64),
])

/** A response that is only a header (put into a txn, auth admin calls, …). */
export interface HeaderResponse {
  readonly header: ResponseHeader
}

/** Field 1 of every response that has a header; always printed, `{}` when empty. */
export const headerField = field(1, 'header', messageOf(() => ResponseHeaderSchema, true))

export function headerOnly(name: string): MessageSchema<HeaderResponse> {
  return message<HeaderResponse>(name, [headerField])
}
