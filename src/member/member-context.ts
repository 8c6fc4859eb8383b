/**
 * What a request handler of the member's HTTP API can reach: the actor, who this member is, the
 * request limits, and the header context every response carries.
 *
 * @module
 */
import type { HeaderContext, Limits } from '../api/index.ts'
import type { MemberActor } from './actor.ts'
import type { AuthGate } from './auth-gate.ts'
import type { Identity } from './identity-file.ts'

/** The versions a member reports (/version, status, the etcd_*_version metrics). */
export interface ReportedVersions {
  /** etcd's server version, e.g. 3.4.23. */
  readonly server: string
  /** The cluster version, e.g. 3.4.0 (the metric carries major.minor, as etcd's does). */
  readonly cluster: string
}

export interface MemberContext {
  readonly actor: MemberActor
  readonly identity: Identity
  readonly limits: Limits
  /** The cluster token, mixed into the IDs of members added later. */
  readonly clusterToken: string
  /** The etcd versions this member answers as (for clients that check them). */
  readonly versions: ReportedVersions
  /** Auth tokens and login limits (auth-gate.ts); absent: the defaults (simple tokens, 300 s). */
  readonly auth?: AuthGate
  /** Calls other members (forwarding to the leader); absent: the global fetch. With TLS: tls.ts. */
  readonly fetch?: typeof fetch
  /** Per-stream caps (--max-watchers-per-stream, --max-leases-per-stream); absent: DEFAULT_STREAM_LIMITS. */
  readonly streams?: StreamLimits
  /** The bcrypt cost of new password hashes (--bcrypt-cost); absent: etcd's 10. */
  readonly bcryptCost?: number
}

export interface StreamLimits {
  /** Watchers one watch stream may hold at once. */
  readonly maxWatchers: number
  /** Distinct leases one keepalive stream may renew. */
  readonly maxLeases: number
}

/**
 * etcd caps neither, and a client puts all its watches (or leases) on one stream: the caps only
 * bound what one stream can make a member hold, far above what applications use.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxWatchers: 100_000, maxLeases: 100_000 }

export function headerContext(m: MemberContext): HeaderContext {
  return {
    clusterId: BigInt(m.identity.clusterId),
    memberId: BigInt(m.identity.memberId),
    raftTerm: m.actor.term,
  }
}
