/**
 * The lease service. Grant and revoke are proposed through Raft. Keepalive and time-to-live need
 * the leader's clock (it alone tracks deadlines), so the HTTP layer sends them to the leader; here
 * they run on the leader.
 *
 * @module
 */
import type { LeaseKeepAliveResponse } from '../api/index.ts'
import {
  Errors,
  EtcdError,
  GrpcCode,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../mvcc/index.ts'
import type { Caller } from './auth-gate.ts'
import { proposeFor } from './kv-service.ts'
import type { MemberContext } from './member-context.ts'

export function grant(m: MemberContext, request: LeaseGrantRequest): Promise<LeaseGrantResponse> {
  return proposeFor(m, { type: 'lease-grant', request })
}

export function revoke(
  m: MemberContext,
  request: LeaseRevokeRequest,
  _signal?: AbortSignal,
  caller?: Caller,
): Promise<LeaseRevokeResponse> {
  return proposeFor(m, { type: 'lease-revoke', request }, caller)
}

export async function timeToLive(m: MemberContext, req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
  await m.actor.linearizableRead()
  return m.actor.store.leaseTimeToLive(req, m.actor.clock.now())
}

export async function leases(m: MemberContext): Promise<LeaseLeasesResponse> {
  await m.actor.linearizableRead()
  return m.actor.store.leaseLeases()
}

/**
 * One keepalive: the refreshed TTL, or TTL 0 for a lease that does not exist (not an error).
 * Refused with "leader changed" unless this leader heard from a quorum within half an election
 * timeout (MemberActor.heardFromQuorum): a renewal must not outlive a successor's extension.
 */
export function keepAlive(m: MemberContext, id: bigint): LeaseKeepAliveResponse {
  const { store, clock, config } = m.actor
  if (!m.actor.heardFromQuorum((config.tickMs * config.electionTicks) / 2)) throw Errors.leaderChanged()
  const header = { revision: store.currentRevision() }
  try {
    return { header, id, ttl: store.lessor.renew(id, clock.now()) }
  } catch (err) {
    if (err instanceof EtcdError && err.code === GrpcCode.NotFound) return { header, id, ttl: 0 }
    throw err
  }
}
