/**
 * The Maintenance service: status, hash, hashkv, alarm, defragment, snapshot (a response
 * stream) and transfer-leadership. Alarm, defragment, snapshot and transfer-leadership answers
 * have no header (etcd 3.4 answers a leader transfer with `{}`).
 *
 * etcd 3.4 serves Hash at `/v3/maintenance/hash` (taking any `revision` and answering without
 * compact_revision) and has no `/v3/maintenance/hashkv`; 3.5 serves HashKV there. Both are here.
 *
 * @module
 */

import type { AlarmMember, AlarmRequest, AlarmResponse, HashKvResponse, ResponseHeader } from '../mvcc/kv.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField } from './header.ts'
import { emptyMessage, enumOf, field, K, message, messageOf, repeated, type EmptyRequest } from './schema.ts'

export interface StatusResponse {
  readonly header: ResponseHeader
  readonly version: string
  readonly dbSize: number
  /** The leader's member ID; 0n when there is none. */
  readonly leader: bigint
  readonly raftIndex: number
  readonly raftTerm: number
  readonly raftAppliedIndex: number
  readonly errors: readonly string[]
  readonly dbSizeInUse: number
  readonly isLearner: boolean
}

export interface HashResponse {
  readonly header: ResponseHeader
  /** uint32, printed as a JSON number. */
  readonly hash: number
}

export interface HashKvRequest {
  /** 0: the current revision. */
  readonly revision: number
}

export interface SnapshotResponse {
  /** 0 (left out) on the last chunks. */
  readonly remainingBytes: number
  readonly blob: Uint8Array
}

export interface MoveLeaderRequest {
  readonly targetId: bigint
}

const AlarmTypeDef = { goName: 'etcdserverpb.AlarmType', names: ['NONE', 'NOSPACE', 'CORRUPT'] }
const AlarmActionDef = { goName: 'etcdserverpb.AlarmRequest_AlarmAction', names: ['GET', 'ACTIVATE', 'DEACTIVATE'] }

export const AlarmMemberSchema = message<AlarmMember>('etcdserverpb.AlarmMember', [
  field(1, 'memberID', K.uint64n, 'memberId'),
  field(2, 'alarm', enumOf(AlarmTypeDef)),
])

/**
 * An alarm in protobuf's text format, as etcd writes one into a status's `errors` and etcdctl
 * prints one (`%+v`): `memberID:1 alarm:NOSPACE `, a zero field left out.
 */
export function alarmText(a: AlarmMember): string {
  return `${a.memberId === 0n ? '' : `memberID:${a.memberId} `}${a.alarm === 'NONE' ? '' : `alarm:${a.alarm} `}`
}

export const maintenanceStatus: Endpoint<EmptyRequest, StatusResponse> = endpoint({
  name: 'maintenance.status',
  path: '/v3/maintenance/status',
  request: emptyMessage('etcdserverpb.StatusRequest'),
  response: message<StatusResponse>('etcdserverpb.StatusResponse', [
    headerField,
    field(2, 'version', K.string),
    field(3, 'dbSize', K.int64),
    field(4, 'leader', K.uint64n),
    field(5, 'raftIndex', K.uint64),
    field(6, 'raftTerm', K.uint64),
    field(7, 'raftAppliedIndex', K.uint64),
    field(8, 'errors', repeated(K.string)),
    field(9, 'dbSizeInUse', K.int64),
    field(10, 'isLearner', K.bool),
  ]),
})

export const maintenanceHash: Endpoint<EmptyRequest, HashResponse> = endpoint({
  name: 'maintenance.hash',
  path: '/v3/maintenance/hash',
  request: emptyMessage('etcdserverpb.HashRequest'),
  response: message<HashResponse>('etcdserverpb.HashResponse', [headerField, field(2, 'hash', K.uint32)]),
})

/** [3.5] */
export const maintenanceHashKv: Endpoint<HashKvRequest, HashKvResponse> = endpoint({
  name: 'maintenance.hashkv',
  path: '/v3/maintenance/hashkv',
  request: message<HashKvRequest>('etcdserverpb.HashKVRequest', [field(1, 'revision', K.int64)]),
  response: message<HashKvResponse>('etcdserverpb.HashKVResponse', [
    headerField,
    field(2, 'hash', K.uint32),
    field(3, 'compact_revision', K.int64),
    field(4, 'hash_revision', K.int64),
  ]),
})

export const maintenanceAlarm: Endpoint<AlarmRequest, AlarmResponse> = endpoint({
  name: 'maintenance.alarm',
  path: '/v3/maintenance/alarm',
  header: 'none',
  request: message<AlarmRequest>('etcdserverpb.AlarmRequest', [
    field(1, 'action', enumOf(AlarmActionDef)),
    field(2, 'memberID', K.uint64n, 'memberId'),
    field(3, 'alarm', enumOf(AlarmTypeDef)),
  ]),
  response: message<AlarmResponse>('etcdserverpb.AlarmResponse', [
    field(2, 'alarms', repeated(messageOf(() => AlarmMemberSchema))),
  ]),
})

export const maintenanceDefragment: Endpoint<EmptyRequest, EmptyRequest> = endpoint({
  name: 'maintenance.defragment',
  path: '/v3/maintenance/defragment',
  header: 'none',
  request: emptyMessage('etcdserverpb.DefragmentRequest'),
  response: emptyMessage('etcdserverpb.DefragmentResponse'),
})

export const maintenanceSnapshot: Endpoint<EmptyRequest, SnapshotResponse> = endpoint({
  name: 'maintenance.snapshot',
  path: '/v3/maintenance/snapshot',
  header: 'none',
  stream: 'server',
  request: emptyMessage('etcdserverpb.SnapshotRequest'),
  response: message<SnapshotResponse>('etcdserverpb.SnapshotResponse', [
    field(2, 'remaining_bytes', K.uint64),
    field(3, 'blob', K.bytes),
  ]),
})

export const maintenanceTransferLeadership: Endpoint<MoveLeaderRequest, EmptyRequest> = endpoint({
  name: 'maintenance.transfer-leadership',
  path: '/v3/maintenance/transfer-leadership',
  header: 'none',
  request: message<MoveLeaderRequest>('etcdserverpb.MoveLeaderRequest', [field(1, 'targetID', K.uint64n, 'targetId')]),
  response: emptyMessage('etcdserverpb.MoveLeaderResponse'),
})
