/**
 * The v3election service: `/v3/election/{campaign,proclaim,leader,observe,resign}`; observe is a
 * response stream. The only check here is etcd's: proclaim and resign need a `leader`
 * (`"leader" field must be provided`, 500 / 2). Every other error is the election server's,
 * passed through as 500 / 2 (see `concurrencyError`).
 *
 * @module
 */

import type { KeyValue, ResponseHeader } from '../mvcc/kv.ts'
import { ApiErrors } from './api-errors.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField, headerOnly, type HeaderResponse } from './header.ts'
import { KeyValueSchema } from './kv-schemas.ts'
import { field, K, message, messageOf, type FieldDef } from './schema.ts'

/** Who leads an election: the leader's key (`name` + "/" + lease hex) at revision `rev`. */
export interface LeaderKey {
  readonly name: Uint8Array
  readonly key: Uint8Array
  readonly rev: number
  readonly lease: bigint
}

export interface CampaignRequest {
  readonly name: Uint8Array
  /** 0n: the server grants (and never renews) a 60 s lease of its own. */
  readonly lease: bigint
  readonly value: Uint8Array
}

export interface CampaignResponse {
  readonly header: ResponseHeader
  readonly leader: LeaderKey | null
}

export interface ProclaimRequest {
  readonly leader: LeaderKey
  readonly value: Uint8Array
}

/** leader and observe. */
export interface LeaderRequest {
  readonly name: Uint8Array
}

export interface LeaderResponse {
  readonly header: ResponseHeader
  readonly kv: KeyValue | null
}

export interface ResignRequest {
  readonly leader: LeaderKey
}

interface WireLeader {
  readonly leader: LeaderKey | null
}

interface WireProclaim extends WireLeader {
  readonly value: Uint8Array
}

function requireLeader<T extends WireLeader>(r: T): T & { readonly leader: LeaderKey } {
  if (r.leader === null) throw ApiErrors.leaderNotProvided()
  return r as T & { readonly leader: LeaderKey }
}

const LeaderKeySchema = message<LeaderKey>('v3electionpb.LeaderKey', [
  field(1, 'name', K.bytes),
  field(2, 'key', K.bytes),
  field(3, 'rev', K.int64),
  field(4, 'lease', K.int64n),
])

const leaderField = (num: number): FieldDef => field(num, 'leader', messageOf(() => LeaderKeySchema))

const LeaderRequestSchema = message<LeaderRequest>('v3electionpb.LeaderRequest', [field(1, 'name', K.bytes)])

const LeaderResponseSchema = message<LeaderResponse>('v3electionpb.LeaderResponse', [
  headerField,
  field(2, 'kv', messageOf(() => KeyValueSchema)),
])

export const electionCampaign: Endpoint<CampaignRequest, CampaignResponse> = endpoint({
  name: 'election.campaign',
  path: '/v3/election/campaign',
  request: message<CampaignRequest>('v3electionpb.CampaignRequest', [
    field(1, 'name', K.bytes),
    field(2, 'lease', K.int64n),
    field(3, 'value', K.bytes),
  ]),
  response: message<CampaignResponse>('v3electionpb.CampaignResponse', [headerField, leaderField(2)]),
})

export const electionProclaim: Endpoint<ProclaimRequest, HeaderResponse, WireProclaim> = endpoint({
  name: 'election.proclaim',
  path: '/v3/election/proclaim',
  request: message<WireProclaim>('v3electionpb.ProclaimRequest', [
    leaderField(1),
    field(2, 'value', K.bytes),
  ]),
  response: headerOnly('v3electionpb.ProclaimResponse'),
  check: requireLeader,
})

export const electionLeader: Endpoint<LeaderRequest, LeaderResponse> = endpoint({
  name: 'election.leader',
  path: '/v3/election/leader',
  request: LeaderRequestSchema,
  response: LeaderResponseSchema,
})

export const electionObserve: Endpoint<LeaderRequest, LeaderResponse> = endpoint({
  name: 'election.observe',
  path: '/v3/election/observe',
  stream: 'server',
  request: LeaderRequestSchema,
  response: LeaderResponseSchema,
})

export const electionResign: Endpoint<ResignRequest, HeaderResponse, WireLeader> = endpoint({
  name: 'election.resign',
  path: '/v3/election/resign',
  request: message<WireLeader>('v3electionpb.ResignRequest', [leaderField(1)]),
  response: headerOnly('v3electionpb.ResignResponse'),
  check: requireLeader,
})
