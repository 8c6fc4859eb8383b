/**
 * Schemas of the KV service's messages (etcdserverpb) and of mvccpb's KeyValue and Event, field
 * numbers and names as rpc.proto/kv.proto declare them.
 *
 * A txn's wire form may hold empty RequestOps (`{}`, or `null` in a list): they decode to `null`
 * and the txn check answers `etcdserver: key not found` for them, in etcd's order.
 *
 * @module
 */

import type {
  Compare, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, Event, KeyValue,
  PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseOp, TxnResponse,
} from '../mvcc/kv.ts'
import { ApiErrors } from './api-errors.ts'
import { headerField } from './header.ts'
import {
  enumOf, field, K, message, messageOf, oneofField, repeated, type EnumDef, type MessageSchema, type OneofChoice,
  type Raw,
} from './schema.ts'

const SortOrder: EnumDef = { goName: 'etcdserverpb.RangeRequest_SortOrder', names: ['NONE', 'ASCEND', 'DESCEND'], open: true }
const SortTarget: EnumDef = {
  goName: 'etcdserverpb.RangeRequest_SortTarget',
  names: ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'],
}
const CompareResult: EnumDef = {
  goName: 'etcdserverpb.Compare_CompareResult',
  names: ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'],
  open: true,
}
const CompareTarget: EnumDef = {
  goName: 'etcdserverpb.Compare_CompareTarget',
  names: ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'],
  open: true,
}
const EventType: EnumDef = { goName: 'mvccpb.Event_EventType', names: ['PUT', 'DELETE'] }

export const KeyValueSchema = message<KeyValue>('mvccpb.KeyValue', [
  field(1, 'key', K.bytes),
  field(2, 'create_revision', K.int64),
  field(3, 'mod_revision', K.int64),
  field(4, 'version', K.int64),
  field(5, 'value', K.bytes),
  field(6, 'lease', K.int64n),
])

export const EventSchema = message<Event>('mvccpb.Event', [
  field(1, 'type', enumOf(EventType)),
  field(2, 'kv', messageOf(() => KeyValueSchema, true)),
  field(3, 'prev_kv', messageOf(() => KeyValueSchema)),
])

export const RangeRequestSchema = message<RangeRequest>('etcdserverpb.RangeRequest', [
  field(1, 'key', K.bytes),
  field(2, 'range_end', K.bytes),
  field(3, 'limit', K.int64),
  field(4, 'revision', K.int64),
  field(5, 'sort_order', enumOf(SortOrder)),
  field(6, 'sort_target', enumOf(SortTarget)),
  field(7, 'serializable', K.bool),
  field(8, 'keys_only', K.bool),
  field(9, 'count_only', K.bool),
  field(10, 'min_mod_revision', K.int64),
  field(11, 'max_mod_revision', K.int64),
  field(12, 'min_create_revision', K.int64),
  field(13, 'max_create_revision', K.int64),
], {
  // etcd sorts only ASCEND and DESCEND: a sort order it has no name for leaves the keys in key
  // order (whatever the target), as NONE by KEY does.
  fromRaw: (raw) => (typeof raw['sortOrder'] === 'number' ? { ...raw, sortOrder: 'NONE', sortTarget: 'KEY' } : raw) as unknown as RangeRequest,
  toRaw: (r) => r as unknown as Raw,
})

export const RangeResponseSchema = message<RangeResponse>('etcdserverpb.RangeResponse', [
  headerField,
  field(2, 'kvs', repeated(messageOf(() => KeyValueSchema))),
  field(3, 'more', K.bool),
  field(4, 'count', K.int64),
])

export const PutRequestSchema = message<PutRequest>('etcdserverpb.PutRequest', [
  field(1, 'key', K.bytes),
  field(2, 'value', K.bytes),
  field(3, 'lease', K.int64n),
  field(4, 'prev_kv', K.bool),
  field(5, 'ignore_value', K.bool),
  field(6, 'ignore_lease', K.bool),
])

export const PutResponseSchema = message<PutResponse>('etcdserverpb.PutResponse', [
  headerField,
  field(2, 'prev_kv', messageOf(() => KeyValueSchema)),
])

export const DeleteRangeRequestSchema = message<DeleteRangeRequest>('etcdserverpb.DeleteRangeRequest', [
  field(1, 'key', K.bytes),
  field(2, 'range_end', K.bytes),
  field(3, 'prev_kv', K.bool),
])

export const DeleteRangeResponseSchema = message<DeleteRangeResponse>('etcdserverpb.DeleteRangeResponse', [
  headerField,
  field(2, 'deleted', K.int64),
  field(3, 'prev_kvs', repeated(messageOf(() => KeyValueSchema))),
])

/** The Compare field that the oneof `target_union` holds for each target. */
const TARGET_PROP: Record<Compare['target'], keyof Compare> = {
  VERSION: 'version', CREATE: 'createRevision', MOD: 'modRevision', VALUE: 'value', LEASE: 'lease',
}

/**
 * A compare whose target or result etcd has no name for, as etcd judges it (applyCompare,
 * compareKV): an unknown result holds for every key in range, but a VALUE compare fails where no
 * key is; otherwise an unknown target compares equal, so only EQUAL holds. It becomes the known
 * compare that does the same (create revisions are 0 for no key and positive for a key):
 * `CREATE > -1` always holds, `CREATE > 0` holds where a key is, `CREATE < 0` never holds.
 */
function constantCompare(raw: Raw): Compare {
  const least = typeof raw['result'] === 'number' ? (raw['target'] === 'VALUE' ? 0 : -1) : raw['result'] === 'EQUAL' ? -1 : null
  return {
    key: raw['key'] as Uint8Array,
    rangeEnd: raw['rangeEnd'] as Uint8Array,
    target: 'CREATE',
    result: least === null ? 'LESS' : 'GREATER',
    version: 0,
    createRevision: least ?? 0,
    modRevision: 0,
    value: new Uint8Array(0),
    lease: 0n,
  }
}

/**
 * Compare's `target_union` is a oneof; the typed Compare is flat. Decoding keeps only the member
 * that was given (the others are zero); encoding sends the member matching `target`, even if zero.
 */
export const CompareSchema = message<Compare>(
  'etcdserverpb.Compare',
  [
    field(1, 'result', enumOf(CompareResult)),
    field(2, 'target', enumOf(CompareTarget)),
    field(3, 'key', K.bytes),
    oneofField('targetUnion', 4, 'version', K.int64),
    oneofField('targetUnion', 5, 'create_revision', K.int64),
    oneofField('targetUnion', 6, 'mod_revision', K.int64),
    oneofField('targetUnion', 7, 'value', K.bytes),
    oneofField('targetUnion', 8, 'lease', K.int64n),
    field(64, 'range_end', K.bytes),
  ],
  {
    fromRaw: (raw) => {
      if (typeof raw['target'] === 'number' || typeof raw['result'] === 'number') return constantCompare(raw)
      const union = raw['targetUnion'] as OneofChoice | null
      const compare = {
        key: raw['key'],
        rangeEnd: raw['rangeEnd'],
        target: raw['target'],
        result: raw['result'],
        version: 0,
        createRevision: 0,
        modRevision: 0,
        value: new Uint8Array(0),
        lease: 0n,
      }
      return (union === null ? compare : { ...compare, [union.prop]: union.value }) as Compare
    },
    toRaw: (c) => {
      const prop = TARGET_PROP[c.target]
      return { ...c, targetUnion: { prop, value: c[prop] } }
    },
  },
)

/** A RequestOp as decoded: nested txns still in wire form. */
export type WireRequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'delete-range'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: WireTxnRequest }

/** A TxnRequest as decoded; `null` stands for an empty RequestOp. */
export interface WireTxnRequest {
  readonly compare: readonly Compare[]
  readonly success: readonly (WireRequestOp | null)[]
  readonly failure: readonly (WireRequestOp | null)[]
}

function opFromRaw(raw: Raw, group: string): { type: string; value: unknown } | null {
  const choice = raw[group] as OneofChoice | null
  return choice === null ? null : { type: choice.prop, value: choice.value }
}

export const RequestOpSchema: MessageSchema<WireRequestOp | null> = message(
  'etcdserverpb.RequestOp',
  [
    oneofField('request', 1, 'request_range', messageOf(() => RangeRequestSchema), 'range'),
    oneofField('request', 2, 'request_put', messageOf(() => PutRequestSchema), 'put'),
    oneofField('request', 3, 'request_delete_range', messageOf(() => DeleteRangeRequestSchema), 'delete-range'),
    oneofField('request', 4, 'request_txn', messageOf(() => TxnRequestSchema), 'txn'),
  ],
  {
    fromRaw: (raw) => {
      const op = opFromRaw(raw, 'request')
      return op === null ? null : ({ type: op.type, request: op.value } as WireRequestOp)
    },
    toRaw: (op) => ({ request: op === null ? null : { prop: op.type, value: op.request } }),
  },
)

export const TxnRequestSchema: MessageSchema<WireTxnRequest> = message('etcdserverpb.TxnRequest', [
  field(1, 'compare', repeated(messageOf(() => CompareSchema))),
  field(2, 'success', repeated(messageOf(() => RequestOpSchema))),
  field(3, 'failure', repeated(messageOf(() => RequestOpSchema))),
])

/**
 * Responses inside a txn carry only `{"revision":…}`; a nested txn's header is `{}`, whatever
 * the typed responses say.
 */
export const ResponseOpSchema: MessageSchema<ResponseOp> = message(
  'etcdserverpb.ResponseOp',
  [
    oneofField('response', 1, 'response_range', messageOf(() => RangeResponseSchema), 'range'),
    oneofField('response', 2, 'response_put', messageOf(() => PutResponseSchema), 'put'),
    oneofField('response', 3, 'response_delete_range', messageOf(() => DeleteRangeResponseSchema), 'delete-range'),
    oneofField('response', 4, 'response_txn', messageOf(() => TxnResponseSchema), 'txn'),
  ],
  {
    fromRaw: (raw) => {
      const op = opFromRaw(raw, 'response')
      if (op === null) throw ApiErrors.badJson('ResponseOp without a response')
      return { type: op.type, response: op.value } as ResponseOp
    },
    toRaw: (op) => {
      const revision = op.type === 'txn' ? 0 : op.response.header.revision
      return { response: { prop: op.type, value: { ...op.response, header: { revision } } } }
    },
  },
)

export const TxnResponseSchema: MessageSchema<TxnResponse> = message('etcdserverpb.TxnResponse', [
  headerField,
  field(2, 'succeeded', K.bool),
  field(3, 'responses', repeated(messageOf(() => ResponseOpSchema))),
])

export const CompactionRequestSchema = message<CompactionRequest>('etcdserverpb.CompactionRequest', [
  field(1, 'revision', K.int64),
  field(2, 'physical', K.bool),
])

export const CompactionResponseSchema = message<CompactionResponse>('etcdserverpb.CompactionResponse', [headerField])
