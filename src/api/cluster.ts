/**
 * The Cluster service: `/v3/cluster/member/{add,remove,update,list,promote}`. Its headers have
 * no revision. Only member add checks its request here (the peer URLs); etcd 3.4 does not
 * check the URLs of an update, and unknown IDs are the cluster's to refuse.
 *
 * @module
 */

import { Errors } from '../mvcc/errors.ts'
import type { ResponseHeader } from '../mvcc/kv.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField } from './header.ts'
import { validPeerUrls } from './member-urls.ts'
import {
  emptyMessage, field, K, message, messageOf, repeated, type EmptyRequest, type FieldDef, type MessageSchema,
} from './schema.ts'

export interface Member {
  readonly id: bigint
  /** Empty until the member has started. */
  readonly name: string
  readonly peerUrls: readonly string[]
  /** Empty until the member has started. */
  readonly clientUrls: readonly string[]
  readonly isLearner: boolean
}

export interface MemberAddRequest {
  readonly peerUrls: readonly string[]
  readonly isLearner: boolean
}

export interface MemberIdRequest {
  readonly id: bigint
}

export interface MemberUpdateRequest {
  readonly id: bigint
  readonly peerUrls: readonly string[]
}

/** Member responses print no revision, whatever `header.revision` says. */
export interface MembersResponse {
  readonly header: ResponseHeader
  readonly members: readonly Member[]
}

export interface MemberAddResponse extends MembersResponse {
  readonly member: Member | null
}

const MemberSchema = message<Member>('etcdserverpb.Member', [
  field(1, 'ID', K.uint64n, 'id'),
  field(2, 'name', K.string),
  field(3, 'peerURLs', repeated(K.string), 'peerUrls'),
  field(4, 'clientURLs', repeated(K.string), 'clientUrls'),
  field(5, 'isLearner', K.bool),
])

const members = (num: number): FieldDef => field(num, 'members', repeated(messageOf(() => MemberSchema)))

function membersResponse(name: string): MessageSchema<MembersResponse> {
  return message<MembersResponse>(name, [headerField, members(2)])
}

const memberIdRequest = (name: string): MessageSchema<MemberIdRequest> =>
  message<MemberIdRequest>(name, [field(1, 'ID', K.uint64n, 'id')])

export const memberAdd: Endpoint<MemberAddRequest, MemberAddResponse> = endpoint({
  name: 'cluster.member.add',
  path: '/v3/cluster/member/add',
  header: 'cluster',
  request: message<MemberAddRequest>('etcdserverpb.MemberAddRequest', [
    field(1, 'peerURLs', repeated(K.string), 'peerUrls'),
    field(2, 'isLearner', K.bool),
  ]),
  response: message<MemberAddResponse>('etcdserverpb.MemberAddResponse', [
    headerField,
    field(2, 'member', messageOf(() => MemberSchema)),
    members(3),
  ]),
  check: (r: MemberAddRequest) => {
    if (!validPeerUrls(r.peerUrls)) throw Errors.invalidMemberUrls()
    return r
  },
})

export const memberRemove: Endpoint<MemberIdRequest, MembersResponse> = endpoint({
  name: 'cluster.member.remove',
  path: '/v3/cluster/member/remove',
  header: 'cluster',
  request: memberIdRequest('etcdserverpb.MemberRemoveRequest'),
  response: membersResponse('etcdserverpb.MemberRemoveResponse'),
})

export const memberUpdate: Endpoint<MemberUpdateRequest, MembersResponse> = endpoint({
  name: 'cluster.member.update',
  path: '/v3/cluster/member/update',
  header: 'cluster',
  request: message<MemberUpdateRequest>('etcdserverpb.MemberUpdateRequest', [
    field(1, 'ID', K.uint64n, 'id'),
    field(2, 'peerURLs', repeated(K.string), 'peerUrls'),
  ]),
  response: membersResponse('etcdserverpb.MemberUpdateResponse'),
})

/** 3.5's `linearizable` is not decoded: 3.4 ignores it as an unknown field. */
export const memberList: Endpoint<EmptyRequest, MembersResponse> = endpoint({
  name: 'cluster.member.list',
  path: '/v3/cluster/member/list',
  header: 'cluster',
  request: emptyMessage('etcdserverpb.MemberListRequest'),
  response: membersResponse('etcdserverpb.MemberListResponse'),
})

export const memberPromote: Endpoint<MemberIdRequest, MembersResponse> = endpoint({
  name: 'cluster.member.promote',
  path: '/v3/cluster/member/promote',
  header: 'cluster',
  request: memberIdRequest('etcdserverpb.MemberPromoteRequest'),
  response: membersResponse('etcdserverpb.MemberPromoteResponse'),
})
