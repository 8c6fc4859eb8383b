/**
 * The v3election service, as etcd's v3election server (a concurrency.Election per call). An
 * election `<name>` is the set of keys `<name>/<lease hex>`; the one with the smallest create
 * revision is the leader, and its value is what the leader proclaims.
 *
 * - `campaign` queues the caller's key (value = the campaign value) and blocks until it is first
 *   in line, then confirms the key and its lease are alive. Its answer's header and leader `rev`
 *   are those of the put that created the key (etcd's). On failure or disconnect the key is
 *   deleted again. Runs on the leader (lease clock).
 * - `proclaim` rewrites the leader's value if `leader` still holds (same key, same create
 *   revision); otherwise `election: not leader`. A leader with lease 0 keeps the key's lease
 *   (etcd would attach a fresh 60 s lease); with lease 0 and rev 0, an absent key is created
 *   under a fresh 60 s lease, as etcd does.
 * - `leader`: the first key in line, or `election: no leader`.
 * - `resign` deletes the leader's key if it still holds; idempotent.
 * - `observe` is the streaming observe-http.ts.
 *
 * Every error is etcd's concurrency error (500 / 2).
 *
 * @module
 */
import {
  ApiErrors,
  type CampaignRequest,
  type CampaignResponse,
  type HeaderResponse,
  type LeaderKey,
  type LeaderRequest,
  type LeaderResponse,
  type ProclaimRequest,
  type ResignRequest,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import {
  concurrencyCall, confirm, createdAt, enqueue, firstCreated, prefixOf, release, sessionLease, txn, waitDeletes,
  waiterKey,
} from './concurrency.ts'
import type { MemberContext } from './member-context.ts'

/** etcd's concurrency.ErrSessionExpired (election): the key or its lease went while it waited. */
function sessionExpired(): EtcdError {
  return new EtcdError(GrpcCode.Unknown, 'election: session expired')
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function campaign(m: MemberContext, req: CampaignRequest, signal: AbortSignal): Promise<CampaignResponse> {
  return concurrencyCall(async () => {
    const lease = await sessionLease(m, req.lease)
    const prefix = prefixOf(req.name)
    const key = waiterKey(prefix, lease)
    const line = await enqueue(m, prefix, key, req.value, lease)
    const leader: LeaderKey = { name: req.name, key, rev: line.rev, lease }
    try {
      if (!sameBytes(line.value, req.value)) await proclaimAs(m, leader, req.value)
      if (line.firstRev !== line.rev) {
        await waitDeletes(m, prefix, line.rev - 1, signal)
        await confirm(m, key, line.rev, lease, sessionExpired)
      }
      return { header: line.header, leader }
    } catch (err) {
      await release(m, key, line.rev).catch(() => undefined)
      throw err
    }
  })
}

async function proclaimAs(m: MemberContext, leader: LeaderKey, value: Uint8Array): Promise<HeaderResponse> {
  // etcd proclaims through a session, which for lease 0 is a fresh 60 s lease. Only an absent key
  // passes the compare at rev 0: etcd then creates it under that lease, and so does this. A key
  // that exists keeps its own lease here (etcd would move it to the fresh one).
  const lease = leader.lease === 0n && leader.rev === 0 ? await sessionLease(m, 0n) : leader.lease
  const put = { key: leader.key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: lease === 0n }
  const r = await txn(m, [createdAt(leader.key, leader.rev)], [{ type: 'put', request: put }])
  if (!r.succeeded) throw ApiErrors.electionNotLeader()
  return { header: r.header }
}

export function proclaim(m: MemberContext, req: ProclaimRequest): Promise<HeaderResponse> {
  return concurrencyCall(() => proclaimAs(m, req.leader, req.value))
}

export function leader(m: MemberContext, req: LeaderRequest): Promise<LeaderResponse> {
  return concurrencyCall(async () => {
    await m.actor.linearizableRead()
    const r = m.actor.store.range(firstCreated(prefixOf(req.name)))
    const kv = r.kvs[0]
    if (kv === undefined) throw ApiErrors.electionNoLeader()
    return { header: r.header, kv }
  })
}

export function resign(m: MemberContext, req: ResignRequest): Promise<HeaderResponse> {
  return concurrencyCall(async () => {
    const { header } = await release(m, req.leader.key, req.leader.rev)
    return { header }
  })
}
