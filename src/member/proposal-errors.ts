/**
 * Raft's reasons for refusing a proposal, and why a removed member refuses everything, as the etcd
 * errors a client sees.
 *
 * @module
 */
import { Errors, EtcdError, GrpcCode } from '../mvcc/index.ts'
import type { ProposalError } from '../raft/index.ts'

/**
 * Why a member removed from its cluster stops (onFatal) and refuses calls: for good, as etcd's,
 * which exits 0 then, so that no supervisor starts it again on the same data directory.
 */
export class MemberRemovedError extends EtcdError {
  constructor() {
    super(GrpcCode.Unknown, 'etcdserver: the member has been permanently removed from the cluster')
  }
}

export function proposalError(reason: ProposalError): EtcdError {
  switch (reason) {
    case 'no-leader':
      return Errors.noLeader()
    case 'transferring':
      return Errors.leaderChanged()
    case 'conf-change-pending':
    case 'not-leader-term-committed':
      return new EtcdError(GrpcCode.FailedPrecondition, 'etcdserver: unhealthy cluster')
    case 'invalid-conf-change':
      return Errors.memberNotFound()
    case 'learner-not-caught-up':
      return Errors.learnerNotReady()
    case 'removed':
      return new MemberRemovedError()
  }
}
