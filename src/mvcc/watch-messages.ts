/**
 * The watch stream's requests and responses, shaped like etcd's WatchCreateRequest and
 * WatchResponse (etcdserverpb), in JS types. The API layer turns a {@link WatchResponse} into
 * `{"result":{…}}`, omitting zero values: `watchId` 0, `headerRevision` 0 (a compaction cancel
 * has no header revision), `false`, `''`, and an empty `events` list.
 *
 * @module
 */
import type { Event } from './kv.ts'

export type WatchFilter = 'NOPUT' | 'NODELETE'

export interface WatchCreateRequest {
  readonly key: Uint8Array
  /** etcd range rules: empty = only `key`; [0] = every key ≥ `key`; else [key, rangeEnd). */
  readonly rangeEnd: Uint8Array
  /** ≤ 0: the hub's current revision + 1 (live events only). May be in the future. */
  readonly startRevision: number
  /** Ask for periodic empty responses carrying the current revision ({@link WatchHub.progress}). */
  readonly progressNotify: boolean
  readonly filters: readonly WatchFilter[]
  /** Keep `prevKv` in events; otherwise it is stripped. */
  readonly prevKv: boolean
  /** 0: the stream picks the lowest free ID ≥ its counter (etcd's AutoWatchID). */
  readonly watchId: number
}

export interface WatchResponse {
  /** -1 for a refused create and for a stream-wide progress response. */
  readonly watchId: number
  /**
   * The revision the response speaks for; 0 = absent (a compaction cancel). For events and
   * progress: the watcher has been sent every one of its events with revision ≤ this one.
   */
  readonly headerRevision: number
  readonly created: boolean
  readonly canceled: boolean
  /** Non-zero only on a compaction cancel: the store's compacted revision. */
  readonly compactRevision: number
  readonly cancelReason: string
  /** Whole revisions in revision order; a revision's events are never split across responses. */
  readonly events: readonly Event[]
}

/** Where a stream's responses go: synchronous, must not throw. It may call back into the stream. */
export type WatchSink = (response: WatchResponse) => void

export const DUPLICATE_WATCH_ID = 'mvcc: duplicate watch ID provided on the WatchStream'
export const EMPTY_WATCHER_RANGE = 'mvcc: watcher range is empty'

const NONE: readonly Event[] = []

/** A response with every field not given set to its zero value. */
export function watchResponse(
  fields: Partial<WatchResponse> & Pick<WatchResponse, 'watchId' | 'headerRevision'>,
): WatchResponse {
  return { created: false, canceled: false, compactRevision: 0, cancelReason: '', events: NONE, ...fields }
}
