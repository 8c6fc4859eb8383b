/**
 * Which cluster and member a data dir belongs to. Recorded in every journal segment's header and
 * in the checkpoint's raft_state, and checked on open so that a member never replays another
 * cluster's (or another member's) log.
 *
 * @module
 */
import { WrongClusterError } from './errors.ts'

export interface MemberIdentity {
  /** The cluster's id or token, as the member was configured with it. */
  readonly clusterId: string
  readonly memberId: number
}

export function describeIdentity(id: MemberIdentity): string {
  return `cluster '${id.clusterId}' member ${id.memberId}`
}

/** Throws {@link WrongClusterError} unless `found` is `expected`. `where` names the file. */
export function checkIdentity(where: string, found: MemberIdentity, expected: MemberIdentity): void {
  if (found.clusterId !== expected.clusterId || found.memberId !== expected.memberId)
    throw new WrongClusterError(where, describeIdentity(found), describeIdentity(expected))
}
