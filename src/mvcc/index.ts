/**
 * The MVCC package's public surface: the store, its commands, the lessor, and the data model.
 * (The watch hub adds its own exports here.)
 *
 * @module
 */
export * from './kv.ts'
export { EtcdError, Errors, GrpcCode } from './errors.ts'
export { PagedRange } from './reader.ts'
export { MvccStore, MAX_LEASE_TTL, DEFAULT_QUOTA_BYTES, type ApplyEntry, type ApplyResult, type StoreConfig } from './kvstore.ts'
export { encodeCommand, decodeCommand, type Command, type CommandResponse } from './command.ts'
export { txnReadOnly } from './corrupt-guard.ts'
export { Lessor, NotPrimaryError, type LessorConfig } from './lessor.ts'
export { WatchHub, type WatchHubOptions, type WatchHubCounts } from './watch-hub.ts'
export { WatchStream } from './watch-stream.ts'
export {
  DUPLICATE_WATCH_ID,
  EMPTY_WATCHER_RANGE,
  type WatchCreateRequest,
  type WatchFilter,
  type WatchResponse,
  type WatchSink,
} from './watch-messages.ts'
export type { HistoryRow, RowPosition, StoreSummary } from './store-contents.ts'
export type { Lease } from './lease-table.ts'
