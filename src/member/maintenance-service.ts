/**
 * The maintenance service: status, hash, hashkv, alarms, defragment and leadership transfer.
 * (The snapshot stream lives in snapshot-http.ts.)
 *
 * @module
 */
import { setImmediate } from 'node:timers/promises'
import { alarmText, type HashKvRequest, type HashResponse, type MoveLeaderRequest, type StatusResponse } from '../api/index.ts'
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
    errors: actor.store.alarms().map(alarmText),
    dbSizeInUse: actor.store.spaceUsed(),
    isLearner: self?.isLearner ?? false,
  }
}

export function hash(m: MemberContext): HashResponse {
  return { header: { revision: m.actor.store.currentRevision() }, hash: m.actor.store.hash() }
}

/** History rows hashed between two yields to the event loop. */
const HASH_PAGE_ROWS = 5000

/**
 * etcd's HashKV, a page of rows at a time with a yield between pages, so a large history does not
 * hold the event loop (a leader's heartbeats) for the whole walk. A compaction, or a leader's
 * snapshot replacing the store, between pages starts the walk again (or refuses a revision now
 * compacted), so the hash is always of one state.
 */
export function hashKv(m: MemberContext, req: HashKvRequest): Promise<HashKvResponse> {
  return hashKvInPages(m, req, HASH_PAGE_ROWS)
}

/** {@link hashKv} with `pageRows` rows per page. */
export async function hashKvInPages(m: MemberContext, req: HashKvRequest, pageRows: number): Promise<HashKvResponse> {
  for (;;) {
    const store = m.actor.store
    const walk = store.hashKvWalk(req.revision)
    let hash = walk.walk.next(pageRows)
    while (hash === null) {
      await setImmediate()
      if (m.actor.store !== store || store.compactMainRevision() !== walk.compactMain) break
      hash = walk.walk.next(pageRows)
    }
    if (hash !== null) return store.hashKvAnswer(walk, hash)
  }
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
