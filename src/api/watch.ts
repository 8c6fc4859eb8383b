/**
 * The Watch service: `/v3/watch`, a bidirectional stream. Each request message holds one of
 * create_request, cancel_request or progress_request; a message with none of them is ignored by
 * etcd (decoded here as `null`). The decoder does no key checks: etcd accepts a watch on an
 * empty key (it watches "\0").
 *
 * @module
 */

import type { Event, ResponseHeader } from '../mvcc/kv.ts'
import type { WatchCreateRequest as HubCreateRequest, WatchFilter } from '../mvcc/watch-messages.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField } from './header.ts'
import { EventSchema } from './kv-schemas.ts'
import {
  enumOf, field, K, message, messageOf, oneofField, repeated, type MessageSchema, type OneofChoice, type Raw,
} from './schema.ts'

export type { WatchFilter }

/** The watch hub's create request, plus etcd's `fragment` flag (split large responses). */
export interface WatchCreateRequest extends HubCreateRequest {
  readonly fragment: boolean
}

export type WatchRequest =
  | { readonly type: 'create'; readonly request: WatchCreateRequest }
  | { readonly type: 'cancel'; readonly watchId: number }
  | { readonly type: 'progress' }

export interface WatchResponse {
  /** revision 0 (left out) on a compaction cancel. */
  readonly header: ResponseHeader
  /** -1 for a progress response and a refused create. */
  readonly watchId: number
  readonly created: boolean
  readonly canceled: boolean
  readonly compactRevision: number
  readonly cancelReason: string
  readonly fragment: boolean
  readonly events: readonly Event[]
}

const FilterType = { goName: 'etcdserverpb.WatchCreateRequest_FilterType', names: ['NOPUT', 'NODELETE'], open: true }

const WatchCreateRequestSchema = message<WatchCreateRequest>('etcdserverpb.WatchCreateRequest', [
  field(1, 'key', K.bytes),
  field(2, 'range_end', K.bytes),
  field(3, 'start_revision', K.int64),
  field(4, 'progress_notify', K.bool),
  field(5, 'filters', repeated(enumOf(FilterType))),
  field(6, 'prev_kv', K.bool),
  field(7, 'watch_id', K.int64),
  field(8, 'fragment', K.bool),
], {
  // etcd ignores a filter it has no name for.
  fromRaw: (raw) => ({ ...raw, filters: (raw['filters'] as ReadonlyArray<string | number>).filter((f) => typeof f === 'string') }) as unknown as WatchCreateRequest,
  toRaw: (r) => r as unknown as Raw,
})

const WatchCancelRequestSchema = message<{ readonly watchId: number }>('etcdserverpb.WatchCancelRequest', [
  field(1, 'watch_id', K.int64),
])

const WatchProgressRequestSchema = message<Record<string, never>>('etcdserverpb.WatchProgressRequest', [])

export const WatchRequestSchema: MessageSchema<WatchRequest | null> = message(
  'etcdserverpb.WatchRequest',
  [
    oneofField('requestUnion', 1, 'create_request', messageOf(() => WatchCreateRequestSchema), 'create'),
    oneofField('requestUnion', 2, 'cancel_request', messageOf(() => WatchCancelRequestSchema), 'cancel'),
    oneofField('requestUnion', 3, 'progress_request', messageOf(() => WatchProgressRequestSchema), 'progress'),
  ],
  {
    fromRaw: (raw) => {
      const choice = raw['requestUnion'] as OneofChoice | null
      if (choice === null) return null
      const value = choice.value as WatchCreateRequest & { readonly watchId: number }
      if (choice.prop === 'create') return { type: 'create', request: value }
      return choice.prop === 'cancel' ? { type: 'cancel', watchId: value.watchId } : { type: 'progress' }
    },
    toRaw: (req) => {
      if (req === null) return { requestUnion: null }
      const value = req.type === 'create' ? req.request : req.type === 'cancel' ? { watchId: req.watchId } : {}
      return { requestUnion: { prop: req.type, value } }
    },
  },
)

export const WatchResponseSchema = message<WatchResponse>('etcdserverpb.WatchResponse', [
  headerField,
  field(2, 'watch_id', K.int64),
  field(3, 'created', K.bool),
  field(4, 'canceled', K.bool),
  field(5, 'compact_revision', K.int64),
  field(6, 'cancel_reason', K.string),
  field(7, 'fragment', K.bool),
  field(11, 'events', repeated(messageOf(() => EventSchema))),
])

/** `null` requests are messages etcd ignores. */
export const watch: Endpoint<WatchRequest | null, WatchResponse> = endpoint({
  name: 'watch',
  path: '/v3/watch',
  stream: 'bidi',
  request: WatchRequestSchema,
  response: WatchResponseSchema,
})
