/**
 * The MVCC data model and request/response shapes, as etcd's etcdserverpb/mvccpb protos define
 * them, in JS types: bytes are `Uint8Array`, revisions/counts/versions/TTLs are `number` (safe
 * integers), lease IDs are `bigint` (int64: clients may choose any non-zero value, even negative).
 * Interfaces only; the store that implements them lives in kvstore.ts.
 *
 * Response headers carry only `revision` here; the member layer adds cluster_id, member_id and
 * raft_term when it encodes a response.
 *
 * @module
 */

export interface KeyValue {
  readonly key: Uint8Array
  readonly createRevision: number
  readonly modRevision: number
  /** 1 for a key's first put in a generation; 0 only in a DELETE event's kv. */
  readonly version: number
  readonly value: Uint8Array
  /** 0n when the key has no lease. */
  readonly lease: bigint
}

export type EventType = 'PUT' | 'DELETE'

/**
 * One change to one key. A DELETE event's `kv` carries only `key` and `modRevision` (= the
 * delete's revision); the other fields are zero/empty.
 */
export interface Event {
  readonly type: EventType
  readonly kv: KeyValue
  /** The key's previous version, when it had one. Filled only when a watcher asked for it. */
  readonly prevKv: KeyValue | null
}

export interface ResponseHeader {
  readonly revision: number
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND'
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'

/**
 * Key ranges, as etcd: `rangeEnd` empty = exactly `key`; `rangeEnd` = [0] ("\0") with any key =
 * every key ≥ `key`; otherwise [key, rangeEnd). A rangeEnd ≤ key selects nothing.
 */
export interface RangeRequest {
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
  /** ≤ 0: no limit. */
  readonly limit: number
  /** ≤ 0: the current revision. */
  readonly revision: number
  readonly sortOrder: SortOrder
  readonly sortTarget: SortTarget
  readonly serializable: boolean
  readonly keysOnly: boolean
  readonly countOnly: boolean
  /** 0 = no bound; bounds are inclusive; they filter kvs but never reduce `count`. */
  readonly minModRevision: number
  readonly maxModRevision: number
  readonly minCreateRevision: number
  readonly maxCreateRevision: number
}

export interface RangeResponse {
  readonly header: ResponseHeader
  readonly kvs: readonly KeyValue[]
  readonly more: boolean
  /** Total keys in the range at that revision, whatever limit and filters say. */
  readonly count: number
}

export interface PutRequest {
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly lease: bigint
  readonly prevKv: boolean
  readonly ignoreValue: boolean
  readonly ignoreLease: boolean
}

export interface PutResponse {
  readonly header: ResponseHeader
  readonly prevKv: KeyValue | null
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
  readonly prevKv: boolean
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader
  readonly deleted: number
  readonly prevKvs: readonly KeyValue[]
}

export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE'
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'

/** Only the field matching `target` is read. */
export interface Compare {
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
  readonly target: CompareTarget
  readonly result: CompareResult
  readonly version: number
  readonly createRevision: number
  readonly modRevision: number
  readonly value: Uint8Array
  readonly lease: bigint
}

export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'delete-range'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }

export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'delete-range'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse }

export interface TxnRequest {
  readonly compare: readonly Compare[]
  readonly success: readonly RequestOp[]
  readonly failure: readonly RequestOp[]
}

export interface TxnResponse {
  readonly header: ResponseHeader
  readonly succeeded: boolean
  readonly responses: readonly ResponseOp[]
}

export interface CompactionRequest {
  readonly revision: number
  readonly physical: boolean
}

export interface CompactionResponse {
  readonly header: ResponseHeader
}

export interface LeaseGrantRequest {
  /** Seconds; below the minimum becomes the minimum. */
  readonly ttl: number
  /** 0n: the store picks one. */
  readonly id: bigint
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader
  readonly id: bigint
  readonly ttl: number
}

export interface LeaseRevokeRequest {
  readonly id: bigint
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader
}

export interface LeaseTimeToLiveRequest {
  readonly id: bigint
  readonly keys: boolean
}

export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader
  readonly id: bigint
  /** Remaining whole seconds; -1 when the lease does not exist (not an error). */
  readonly ttl: number
  readonly grantedTtl: number
  readonly keys: readonly Uint8Array[]
}

export interface LeaseStatus {
  readonly id: bigint
}

export interface LeaseLeasesResponse {
  readonly header: ResponseHeader
  readonly leases: readonly LeaseStatus[]
}

export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT'

export interface AlarmMember {
  readonly memberId: bigint
  readonly alarm: AlarmType
}

/**
 * What the watch hub needs from the store to replay history. Implemented by the kv store; the
 * hub never touches tables itself.
 */
export interface HistorySource {
  currentRevision(): number
  /** Revisions below this have been compacted away (0 = never compacted). */
  compactRevision(): number
  /**
   * etcd's compacted main revision: -1 before any compaction, else the revision last compacted at
   * (0 included, which compactRevision() cannot tell from never). A negative watch start revision
   * is compared with it.
   */
  compactMainRevision(): number
  /**
   * Events of keys in [key, rangeEnd) (etcd range rules) with revision in [from, to], ordered by
   * (revision, sub-revision), each with `prevKv` filled when the key had a previous version
   * (unless `withPrevKv` is false: then null, and one lookup per event saved). Stops after the
   * first revision at which at least `maxEvents` events have been collected, so a revision's
   * events are never split. Throws the compacted error when from < compactRevision().
   */
  eventsBetween(
    from: number,
    to: number,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    maxEvents: number,
    withPrevKv?: boolean,
  ): Event[]
}

export type AlarmAction = 'GET' | 'ACTIVATE' | 'DEACTIVATE'

export interface AlarmRequest {
  readonly action: AlarmAction
  readonly memberId: bigint
  readonly alarm: AlarmType
}

/** etcd answers alarm requests without a header. */
export interface AlarmResponse {
  readonly alarms: readonly AlarmMember[]
}

/** A lease's remaining time as the leader saw it, replicated so a new leader resumes from it. */
export interface LeaseCheckpoint {
  readonly id: bigint
  readonly remainingMs: number
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[]
}

export interface LeaseCheckpointResponse {
  readonly header: ResponseHeader
}

/** etcd's HashKV: a CRC over the key-value history in [compactRevision, hashRevision]. */
export interface HashKvResponse {
  readonly header: ResponseHeader
  /** uint32 */
  readonly hash: number
  readonly compactRevision: number
  readonly hashRevision: number
}
