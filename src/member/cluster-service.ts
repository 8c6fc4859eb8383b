/**
 * The cluster (membership) service: list, add, remove, update, promote. Changes go through Raft
 * one at a time; like etcd's strict reconfiguration check, a change that would leave the
 * cluster without a quorum of started members, or that is asked while voters are unreachable,
 * is refused before it is proposed.
 *
 * @module
 */
import type { Member, MemberAddRequest, MemberAddResponse, MemberIdRequest, MemberUpdateRequest, MembersResponse } from '../api/index.ts'
import { Errors } from '../mvcc/index.ts'
import { caughtUp } from '../raft/index.ts'
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

/** Learners a cluster may have at once (etcd 3.4's fixed limit). */
const MAX_LEARNERS = 1

function peerUrlInUse(m: MemberContext, urls: readonly string[], except: number): boolean {
  return m.actor.members().some((x) => x.id !== except && x.peerUrls.some((u) => urls.includes(u)))
}

/**
 * How recently the leader must have heard from a voter for it to count as connected (etcd's
 * HealthInterval). Raft's own `recentActive` is not used: CheckQuorum clears it for every
 * follower once per election timeout, so right after that every follower looked down.
 */
const HEALTH_INTERVAL_MS = 5_000

function connected(m: MemberContext, id: number): boolean {
  return id === m.identity.memberId || m.actor.heardFrom(id, HEALTH_INTERVAL_MS)
}

function voterInfos(m: MemberContext): MemberInfo[] {
  return m.actor.members().filter((x) => !x.isLearner)
}

/** Votes that make a majority of `n` voters. */
function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1
}

/**
 * The strict reconfiguration check, as etcd 3.4 makes it: whether a quorum of `voters` (plus
 * `extraMembers`, `extraStarted` of them started) are started. "Started" means the member has
 * published itself once (it has a name; founding members have theirs from `--initial-cluster`),
 * whether or not it is up now; whether it is up is the separate connectivity test (`connected`).
 */
function quorumStarted(voters: readonly MemberInfo[], extraMembers: number, extraStarted: number): boolean {
  return voters.filter((x) => x.name !== '').length + extraStarted >= quorumOf(voters.length + extraMembers)
}

/** Every voter connected: otherwise etcd refuses any member addition as an unhealthy cluster. */
function checkAllVotersConnected(m: MemberContext, voters: readonly MemberInfo[]): void {
  if (!voters.every((x) => connected(m, x.id))) throw Errors.unhealthy()
}

export async function add(m: MemberContext, req: MemberAddRequest): Promise<MemberAddResponse> {
  // etcd's order: the health checks before proposing, then (at apply) the URLs and the learners.
  const members = m.actor.members()
  const voters = voterInfos(m)
  // A voter may join a single started voter (etcd allows it, to grow or restore a one-member
  // cluster; the cluster has no quorum until the new member starts), else only if a quorum of
  // the voters after it would be started.
  const lone = voters.length === 1 && voters[0]?.name !== ''
  if (!req.isLearner && !lone && !quorumStarted(voters, 1, 0)) throw Errors.notEnoughStartedMembers()
  checkAllVotersConnected(m, voters)
  if (peerUrlInUse(m, req.peerUrls, 0)) throw Errors.peerUrlExists()
  if (req.isLearner && members.filter((x) => x.isLearner).length >= MAX_LEARNERS) throw Errors.tooManyLearners()
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
  if (!target.isLearner) {
    const rest = voterInfos(m).filter((x) => x.id !== target.id)
    if (!quorumStarted(rest, 0, 0)) throw Errors.notEnoughStartedMembers()
    // A voter that is down is safe to remove; otherwise the voters still connected after it goes
    // must make a quorum of the rest.
    if (connected(m, target.id)) {
      const up = rest.filter((x) => connected(m, x.id)).length
      if (up < quorumOf(rest.length)) throw Errors.unhealthy()
    }
  }
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
  // etcd's order: readiness first (a member behind the leader, a voter never started included, is
  // "not in sync"), then the started quorum, then (at apply there) whether it is a learner.
  const { id, progress } = m.actor.status()
  const match = (of: number): number => progress?.get(of)?.match ?? 0
  if (!caughtUp(match(target.id), match(id))) throw Errors.learnerNotReady()
  // The member promoted counts as a started voter (etcd's IsReadyToPromoteMember).
  if (!quorumStarted(voterInfos(m), 1, 1)) throw Errors.notEnoughStartedMembers()
  if (!target.isLearner) throw Errors.memberNotLearner()
  return response(await m.actor.proposeConfChange('add-voter', target.id, target.peerUrls))
}
