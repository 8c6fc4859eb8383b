/**
 * The KV service: `/v3/kv/{range,put,deleterange,txn,compaction}`.
 *
 * @module
 */

import type {
  CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse,
  RangeRequest, RangeResponse, TxnRequest, TxnResponse,
} from '../mvcc/kv.ts'
import { checkDelete, checkPut, checkRange } from '../mvcc/txn-check.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { checkTxnRequest } from './kv-checks.ts'
import {
  CompactionRequestSchema, CompactionResponseSchema, DeleteRangeRequestSchema, DeleteRangeResponseSchema,
  PutRequestSchema, PutResponseSchema, RangeRequestSchema, RangeResponseSchema, TxnRequestSchema,
  TxnResponseSchema, type WireTxnRequest,
} from './kv-schemas.ts'

export const kvRange: Endpoint<RangeRequest, RangeResponse> = endpoint({
  name: 'kv.range',
  path: '/v3/kv/range',
  request: RangeRequestSchema,
  response: RangeResponseSchema,
  check: checkRange,
})

export const kvPut: Endpoint<PutRequest, PutResponse> = endpoint({
  name: 'kv.put',
  path: '/v3/kv/put',
  request: PutRequestSchema,
  response: PutResponseSchema,
  check: checkPut,
})

export const kvDeleteRange: Endpoint<DeleteRangeRequest, DeleteRangeResponse> = endpoint({
  name: 'kv.deleterange',
  path: '/v3/kv/deleterange',
  request: DeleteRangeRequestSchema,
  response: DeleteRangeResponseSchema,
  check: checkDelete,
})

export const kvTxn: Endpoint<TxnRequest, TxnResponse, WireTxnRequest> = endpoint({
  name: 'kv.txn',
  path: '/v3/kv/txn',
  request: TxnRequestSchema,
  response: TxnResponseSchema,
  check: (wire: WireTxnRequest, limits) => checkTxnRequest(wire, limits.maxTxnOps),
})

export const kvCompaction: Endpoint<CompactionRequest, CompactionResponse> = endpoint({
  name: 'kv.compaction',
  path: '/v3/kv/compaction',
  request: CompactionRequestSchema,
  response: CompactionResponseSchema,
})
