/**
 * The cluster (membership) service: list, add, remove, update, promote. Changes go through Raft
 * one at a time; like etcd's strict reconfiguration check, a change that would leave the
 * cluster without a quorum of started members is refused before it is proposed.
 *
 * @module
 */
import type { Member, MemberAddRequest, MemberAddResponse, MemberIdRequest, MemberUpdateRequest, MembersResponse } from '../api/index.ts'
import { Errors } from '../mvcc/index.ts'
import type { MemberInfo } from './cluster-table.ts'
import { memberIdFor } from './identity.ts'
import type { MemberContext } from './member-context.ts'

function toApi(m: MemberInfo): Member {
  return { id: BigInt(m.id), name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, isLearner: m.isLearner }
}

function response(members: readonly MemberInfo[]): MembersResponse {
  return { header: { revision: 0 }, members: members.map(toApi) }
}

export function list(m: MemberContext): MembersResponse {
  return response(m.actor.members())
}

function findMember(m: MemberContext, id: bigint): MemberInfo {
  const found = m.actor.members().find((x) => BigInt(x.id) === id)
  if (found === undefined) throw Errors.memberNotFound()
  return found
}

function peerUrlInUse(m: MemberContext, urls: readonly string[], except: number): boolean {
  return m.actor.members().some((x) => x.id !== except && x.peerUrls.some((u) => urls.includes(u)))
}

/**
 * Voters this member (the leader) heard from within the last two election timeouts, itself
 * included. (It used Raft's `recentActive`, which CheckQuorum clears for every follower once per
 * election timeout: a change arriving before the next heartbeat answers was refused with "not
 * enough started members" although every member was up; seen under load in test/e2e.)
 */
function startedVoters(m: MemberContext): Set<number> {
  const { actor } = m
  const window = 2 * actor.config.tickMs * actor.config.electionTicks
  const started = new Set<number>()
  for (const id of actor.status().confState.voters)
    if (id === m.identity.memberId || actor.heardFrom(id, window)) started.add(id)
  return started
}

/** Refuses a change after which fewer than a quorum of voters would be started. */
function checkQuorumAfter(m: MemberContext, voters: readonly number[], started: Set<number>): void {
  const up = voters.filter((v) => started.has(v)).length
  if (up < Math.floor(voters.length / 2) + 1) throw Errors.notEnoughStartedMembers()
}

export async function add(m: MemberContext, req: MemberAddRequest): Promise<MemberAddResponse> {
  if (peerUrlInUse(m, req.peerUrls, 0)) throw Errors.peerUrlExists()
  const members = m.actor.members()
  const voters = m.actor.status().confState.voters
  if (!req.isLearner) checkQuorumAfter(m, [...voters, -1], startedVoters(m))
  // A fresh ID: peer URLs, token and time, skipping any ID ever used (IDs are never reused).
  let id = 0
  for (let salt = m.actor.clock.now(); id === 0 || members.some((x) => x.id === id) || m.actor.isRemovedId(id); salt++)
    id = memberIdFor(req.peerUrls, `${m.clusterToken}:${salt}`)
  const after = await m.actor.proposeConfChange(req.isLearner ? 'add-learner' : 'add-voter', id, req.peerUrls)
  const added = after.find((x) => x.id === id)
  return { ...response(after), member: added === undefined ? null : toApi(added) }
}

export async function remove(m: MemberContext, req: MemberIdRequest): Promise<MembersResponse> {
  const target = findMember(m, req.id)
  const voters = m.actor.status().confState.voters
  if (!target.isLearner) checkQuorumAfter(m, voters.filter((v) => v !== target.id), startedVoters(m))
  return response(await m.actor.proposeConfChange('remove', target.id, target.peerUrls))
}

export async function update(m: MemberContext, req: MemberUpdateRequest): Promise<MembersResponse> {
  const target = findMember(m, req.id)
  if (peerUrlInUse(m, req.peerUrls, target.id)) throw Errors.peerUrlExists()
  const applied = await m.actor.updateMember(target.id, req.peerUrls)
  if (applied.error !== null) throw applied.error
  return response(m.actor.members())
}

export async function promote(m: MemberContext, req: MemberIdRequest): Promise<MembersResponse> {
  const target = findMember(m, req.id)
  if (!target.isLearner) throw Errors.memberNotLearner()
  return response(await m.actor.proposeConfChange('add-voter', target.id, target.peerUrls))
}
