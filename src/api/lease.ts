/**
 * The Lease service: grant, revoke, keepalive (a bidirectional stream), timetolive, leases.
 * etcd 3.4 also serves revoke, timetolive and leases under `/v3/kv/lease/…`.
 *
 * @module
 */

import type {
  LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
  LeaseStatus, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, ResponseHeader,
} from '../mvcc/kv.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField, headerOnly } from './header.ts'
import { emptyMessage, field, K, message, messageOf, repeated, type EmptyRequest } from './schema.ts'

export interface LeaseKeepAliveRequest {
  readonly id: bigint
}

/** `ttl` 0 (left out) when the lease does not exist. */
export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader
  readonly id: bigint
  readonly ttl: number
}

const LeaseStatusSchema = message<LeaseStatus>('etcdserverpb.LeaseStatus', [field(1, 'ID', K.int64n, 'id')])

export const leaseGrant: Endpoint<LeaseGrantRequest, LeaseGrantResponse> = endpoint({
  name: 'lease.grant',
  path: '/v3/lease/grant',
  request: message<LeaseGrantRequest>('etcdserverpb.LeaseGrantRequest', [
    field(1, 'TTL', K.int64, 'ttl'),
    field(2, 'ID', K.int64n, 'id'),
  ]),
  response: message<LeaseGrantResponse>('etcdserverpb.LeaseGrantResponse', [
    headerField,
    field(2, 'ID', K.int64n, 'id'),
    field(3, 'TTL', K.int64, 'ttl'),
  ]),
  // A TTL above the maximum fails when the grant is applied (kvstore.ts), after the auth check,
  // as in etcd: a bad token is reported first.
})

export const leaseRevoke: Endpoint<LeaseRevokeRequest, LeaseRevokeResponse> = endpoint({
  name: 'lease.revoke',
  path: '/v3/lease/revoke',
  aliases: ['/v3/kv/lease/revoke'],
  request: message<LeaseRevokeRequest>('etcdserverpb.LeaseRevokeRequest', [field(1, 'ID', K.int64n, 'id')]),
  response: headerOnly('etcdserverpb.LeaseRevokeResponse'),
})

export const leaseKeepAlive: Endpoint<LeaseKeepAliveRequest, LeaseKeepAliveResponse> = endpoint({
  name: 'lease.keepalive',
  path: '/v3/lease/keepalive',
  stream: 'bidi',
  request: message<LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest', [field(1, 'ID', K.int64n, 'id')]),
  response: message<LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse', [
    headerField,
    field(2, 'ID', K.int64n, 'id'),
    field(3, 'TTL', K.int64, 'ttl'),
  ]),
})

export const leaseTimeToLive: Endpoint<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse> = endpoint({
  name: 'lease.timetolive',
  path: '/v3/lease/timetolive',
  aliases: ['/v3/kv/lease/timetolive'],
  request: message<LeaseTimeToLiveRequest>('etcdserverpb.LeaseTimeToLiveRequest', [
    field(1, 'ID', K.int64n, 'id'),
    field(2, 'keys', K.bool),
  ]),
  response: message<LeaseTimeToLiveResponse>('etcdserverpb.LeaseTimeToLiveResponse', [
    headerField,
    field(2, 'ID', K.int64n, 'id'),
    field(3, 'TTL', K.int64, 'ttl'),
    field(4, 'grantedTTL', K.int64, 'grantedTtl'),
    field(5, 'keys', repeated(K.bytes)),
  ]),
})

export const leaseLeases: Endpoint<EmptyRequest, LeaseLeasesResponse> = endpoint({
  name: 'lease.leases',
  path: '/v3/lease/leases',
  aliases: ['/v3/kv/lease/leases'],
  request: emptyMessage('etcdserverpb.LeaseLeasesRequest'),
  response: message<LeaseLeasesResponse>('etcdserverpb.LeaseLeasesResponse', [
    headerField,
    field(2, 'leases', repeated(messageOf(() => LeaseStatusSchema))),
  ]),
})
