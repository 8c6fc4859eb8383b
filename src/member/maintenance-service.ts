/**
 * The maintenance service: status, hash, hashkv, alarms, defragment and leadership transfer.
 * (The snapshot stream lives in snapshot-http.ts.)
 *
 * @module
 */
import type { HashKvRequest, HashResponse, MoveLeaderRequest, StatusResponse } from '../api/index.ts'
import { Errors, type AlarmRequest, type AlarmResponse, type HashKvResponse } from '../mvcc/index.ts'
import type { Caller } from './auth-gate.ts'
import { proposeFor } from './kv-service.ts'
import type { MemberContext } from './member-context.ts'

export function status(m: MemberContext): StatusResponse {
  const { actor } = m
  const s = actor.status()
  const self = actor.member(m.identity.memberId)
  return {
    header: { revision: actor.store.currentRevision() },
    version: m.versions.server,
    dbSize: actor.store.fileSize(),
    leader: BigInt(s.lead),
    raftIndex: s.commit,
    raftTerm: s.term,
    raftAppliedIndex: actor.store.appliedIndex(),
    errors: actor.store.alarms().map((a) => `memberID:${a.memberId} alarm:${a.alarm} `),
    dbSizeInUse: actor.store.spaceUsed(),
    isLearner: self?.isLearner ?? false,
  }
}

export function hash(m: MemberContext): HashResponse {
  return { header: { revision: m.actor.store.currentRevision() }, hash: m.actor.store.hash() }
}

export async function hashKv(m: MemberContext, req: HashKvRequest): Promise<HashKvResponse> {
  return m.actor.store.hashKv(req.revision)
}

export async function alarm(
  m: MemberContext,
  request: AlarmRequest,
  _signal?: AbortSignal,
  caller?: Caller,
): Promise<AlarmResponse> {
  if (request.action === 'GET') return { alarms: m.actor.store.alarms(request.alarm) }
  return proposeFor(m, { type: 'alarm', request }, caller)
}

/** Rewrites the database without free pages (member-local, like etcd's defragment). */
export function defragment(m: MemberContext): Record<string, never> {
  m.actor.db.exec('VACUUM')
  return {}
}

export async function moveLeader(m: MemberContext, req: MoveLeaderRequest): Promise<Record<string, never>> {
  const target = Number(req.targetId)
  if (!m.actor.status().confState.voters.includes(target) || target === m.identity.memberId && !m.actor.isLeader)
    throw Errors.badLeaderTransferee()
  if (target !== m.actor.leader) await m.actor.transferLeader(target)
  return {}
}
