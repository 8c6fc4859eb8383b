/**
 * What a request handler of the member's HTTP API can reach: the actor, who this member is, the
 * request limits, and the header context every response carries.
 *
 * @module
 */
import type { HeaderContext, Limits } from '../api/index.ts'
import type { MemberActor } from './actor.ts'
import type { Identity } from './identity-file.ts'

export interface MemberContext {
  readonly actor: MemberActor
  readonly identity: Identity
  readonly limits: Limits
  /** The cluster token, mixed into the IDs of members added later. */
  readonly clusterToken: string
  /** The etcd server version this member answers as (for clients that check it). */
  readonly version: string
}

export function headerContext(m: MemberContext): HeaderContext {
  return {
    clusterId: BigInt(m.identity.clusterId),
    memberId: BigInt(m.identity.memberId),
    raftTerm: m.actor.status().term,
  }
}
