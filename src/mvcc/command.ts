/**
 * The replicated commands of the MVCC state machine and their msgpack codec. A command is what
 * the leader proposes and every member applies at the same raft index.
 *
 * Wire form: a msgpack array `[tag, ...fields]` with fields by position (no names), bytes as bin,
 * lease and member IDs as int64 (bigint-exact). Tags 1–63 belong to this file; 64 and up are kept
 * for member-level commands (membership, auth), which the member layer encodes and applies itself
 * (it hands the store an empty entry for those indexes).
 *
 * ```
 * 1 put            [1, key, value, lease, flags(prevKv|ignoreValue<<1|ignoreLease<<2)]
 * 2 delete-range   [2, key, rangeEnd, prevKv]
 * 3 txn            [3, compares, success, failure]      op = [opTag, ...request fields]
 * 4 compaction     [4, revision, physical]
 * 5 lease-grant    [5, ttl, id]
 * 6 lease-revoke   [6, id]
 * 7 lease-checkpoint [7, [[id, remainingMs], …]]
 * 8 alarm          [8, action, memberId, alarm]
 * ```
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import type {
  AlarmAction,
  AlarmRequest,
  AlarmResponse,
  AlarmType,
  Compare,
  CompareResult,
  CompareTarget,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseCheckpointRequest,
  LeaseCheckpointResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from './kv.ts'

export type Command =
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'delete-range'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compaction'; readonly request: CompactionRequest }
  | { readonly type: 'lease-grant'; readonly request: LeaseGrantRequest }
  | { readonly type: 'lease-revoke'; readonly request: LeaseRevokeRequest }
  | { readonly type: 'lease-checkpoint'; readonly request: LeaseCheckpointRequest }
  | { readonly type: 'alarm'; readonly request: AlarmRequest }

export type CommandResponse =
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'delete-range'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse }
  | { readonly type: 'compaction'; readonly response: CompactionResponse }
  | { readonly type: 'lease-grant'; readonly response: LeaseGrantResponse }
  | { readonly type: 'lease-revoke'; readonly response: LeaseRevokeResponse }
  | { readonly type: 'lease-checkpoint'; readonly response: LeaseCheckpointResponse }
  | { readonly type: 'alarm'; readonly response: AlarmResponse }

const TAG = {
  put: 1,
  'delete-range': 2,
  txn: 3,
  compaction: 4,
  'lease-grant': 5,
  'lease-revoke': 6,
  'lease-checkpoint': 7,
  alarm: 8,
} as const

const OP_TAG = { range: 1, put: 2, 'delete-range': 3, txn: 4 } as const

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND']
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']
const COMPARE_TARGETS: readonly CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']
const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']
const ALARM_ACTIONS: readonly AlarmAction[] = ['GET', 'ACTIVATE', 'DEACTIVATE']
const ALARM_TYPES: readonly AlarmType[] = ['NONE', 'NOSPACE', 'CORRUPT']

type Wire = unknown[]

const encoder = new Encoder({ useBigInt64: true })
const decoder = new Decoder({ useBigInt64: true })

function index<T>(values: readonly T[], value: T): number {
  return values.indexOf(value)
}

function pick<T>(values: readonly T[], i: unknown, what: string): T {
  const v = values[Number(i)]
  if (v === undefined) throw new Error(`command codec: bad ${what} ${String(i)}`)
  return v
}

function num(v: unknown): number {
  return Number(v as number | bigint)
}

function big(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number)
}

/** A private copy: decoded bins are views into the entry, which the caller may reuse. */
function bytes(v: unknown): Uint8Array {
  return (v as Uint8Array).slice()
}

function encodeRange(r: RangeRequest): Wire {
  const flags = (r.serializable ? 1 : 0) | (r.keysOnly ? 2 : 0) | (r.countOnly ? 4 : 0)
  return [
    r.key,
    r.rangeEnd,
    r.limit,
    r.revision,
    index(SORT_ORDERS, r.sortOrder),
    index(SORT_TARGETS, r.sortTarget),
    flags,
    r.minModRevision,
    r.maxModRevision,
    r.minCreateRevision,
    r.maxCreateRevision,
  ]
}

function decodeRange(w: Wire): RangeRequest {
  const flags = num(w[6])
  return {
    key: bytes(w[0]),
    rangeEnd: bytes(w[1]),
    limit: num(w[2]),
    revision: num(w[3]),
    sortOrder: pick(SORT_ORDERS, w[4], 'sort order'),
    sortTarget: pick(SORT_TARGETS, w[5], 'sort target'),
    serializable: (flags & 1) !== 0,
    keysOnly: (flags & 2) !== 0,
    countOnly: (flags & 4) !== 0,
    minModRevision: num(w[7]),
    maxModRevision: num(w[8]),
    minCreateRevision: num(w[9]),
    maxCreateRevision: num(w[10]),
  }
}

function encodePut(r: PutRequest): Wire {
  const flags = (r.prevKv ? 1 : 0) | (r.ignoreValue ? 2 : 0) | (r.ignoreLease ? 4 : 0)
  return [r.key, r.value, r.lease, flags]
}

function decodePut(w: Wire): PutRequest {
  const flags = num(w[3])
  return {
    key: bytes(w[0]),
    value: bytes(w[1]),
    lease: big(w[2]),
    prevKv: (flags & 1) !== 0,
    ignoreValue: (flags & 2) !== 0,
    ignoreLease: (flags & 4) !== 0,
  }
}

function encodeDelete(r: DeleteRangeRequest): Wire {
  return [r.key, r.rangeEnd, r.prevKv]
}

function decodeDelete(w: Wire): DeleteRangeRequest {
  return { key: bytes(w[0]), rangeEnd: bytes(w[1]), prevKv: w[2] === true }
}

function operand(c: Compare): unknown {
  switch (c.target) {
    case 'VERSION':
      return c.version
    case 'CREATE':
      return c.createRevision
    case 'MOD':
      return c.modRevision
    case 'VALUE':
      return c.value
    case 'LEASE':
      return c.lease
  }
}

function encodeCompare(c: Compare): Wire {
  return [c.key, c.rangeEnd, index(COMPARE_TARGETS, c.target), index(COMPARE_RESULTS, c.result), operand(c)]
}

function decodeCompare(w: Wire): Compare {
  const target = pick(COMPARE_TARGETS, w[2], 'compare target')
  const v = w[4]
  return {
    key: bytes(w[0]),
    rangeEnd: bytes(w[1]),
    target,
    result: pick(COMPARE_RESULTS, w[3], 'compare result'),
    version: target === 'VERSION' ? num(v) : 0,
    createRevision: target === 'CREATE' ? num(v) : 0,
    modRevision: target === 'MOD' ? num(v) : 0,
    value: target === 'VALUE' ? bytes(v) : new Uint8Array(0),
    lease: target === 'LEASE' ? big(v) : 0n,
  }
}

function encodeOp(op: RequestOp): Wire {
  switch (op.type) {
    case 'range':
      return [OP_TAG.range, ...encodeRange(op.request)]
    case 'put':
      return [OP_TAG.put, ...encodePut(op.request)]
    case 'delete-range':
      return [OP_TAG['delete-range'], ...encodeDelete(op.request)]
    case 'txn':
      return [OP_TAG.txn, ...encodeTxn(op.request)]
  }
}

function decodeOp(w: Wire): RequestOp {
  const rest = w.slice(1)
  switch (num(w[0])) {
    case OP_TAG.range:
      return { type: 'range', request: decodeRange(rest) }
    case OP_TAG.put:
      return { type: 'put', request: decodePut(rest) }
    case OP_TAG['delete-range']:
      return { type: 'delete-range', request: decodeDelete(rest) }
    case OP_TAG.txn:
      return { type: 'txn', request: decodeTxn(rest) }
    default:
      throw new Error(`command codec: bad request op ${String(w[0])}`)
  }
}

function encodeTxn(r: TxnRequest): Wire {
  return [r.compare.map(encodeCompare), r.success.map(encodeOp), r.failure.map(encodeOp)]
}

function decodeTxn(w: Wire): TxnRequest {
  return {
    compare: (w[0] as Wire[]).map(decodeCompare),
    success: (w[1] as Wire[]).map(decodeOp),
    failure: (w[2] as Wire[]).map(decodeOp),
  }
}

function fields(c: Command): Wire {
  switch (c.type) {
    case 'put':
      return encodePut(c.request)
    case 'delete-range':
      return encodeDelete(c.request)
    case 'txn':
      return encodeTxn(c.request)
    case 'compaction':
      return [c.request.revision, c.request.physical]
    case 'lease-grant':
      return [c.request.ttl, c.request.id]
    case 'lease-revoke':
      return [c.request.id]
    case 'lease-checkpoint':
      return [c.request.checkpoints.map((cp) => [cp.id, cp.remainingMs])]
    case 'alarm':
      return [index(ALARM_ACTIONS, c.request.action), c.request.memberId, index(ALARM_TYPES, c.request.alarm)]
  }
}

export function encodeCommand(c: Command): Uint8Array {
  return encoder.encode([TAG[c.type], ...fields(c)])
}

/** Throws a plain Error on bytes that are not a command of this codec (a bug, not a user error). */
export function decodeCommand(data: Uint8Array): Command {
  const w = decoder.decode(data) as Wire
  if (!Array.isArray(w)) throw new Error('command codec: not an array')
  const f = w.slice(1)
  switch (num(w[0])) {
    case TAG.put:
      return { type: 'put', request: decodePut(f) }
    case TAG['delete-range']:
      return { type: 'delete-range', request: decodeDelete(f) }
    case TAG.txn:
      return { type: 'txn', request: decodeTxn(f) }
    case TAG.compaction:
      return { type: 'compaction', request: { revision: num(f[0]), physical: f[1] === true } }
    case TAG['lease-grant']:
      return { type: 'lease-grant', request: { ttl: num(f[0]), id: big(f[1]) } }
    case TAG['lease-revoke']:
      return { type: 'lease-revoke', request: { id: big(f[0]) } }
    case TAG['lease-checkpoint']: {
      const checkpoints = (f[0] as Wire[]).map((cp) => ({ id: big(cp[0]), remainingMs: num(cp[1]) }))
      return { type: 'lease-checkpoint', request: { checkpoints } }
    }
    case TAG.alarm:
      return {
        type: 'alarm',
        request: {
          action: pick(ALARM_ACTIONS, f[0], 'alarm action'),
          memberId: big(f[1]),
          alarm: pick(ALARM_TYPES, f[2], 'alarm type'),
        },
      }
    default:
      throw new Error(`command codec: unknown command tag ${String(w[0])}`)
  }
}
