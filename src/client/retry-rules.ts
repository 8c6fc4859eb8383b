/**
 * Which etcd error answers prove the request was refused before it was proposed, and so may be
 * sent again even when it is a write; and the error for a request whose outcome is unknown.
 * Shared by the client's failover and the gateway's retries.
 *
 * @module
 */
import { EtcdError, GrpcCode } from '../mvcc/errors.ts'

const LEARNER_REFUSAL = 'etcdserver: rpc not supported for learner'

/**
 * 503 messages given before a proposal that another try may get past: no leader to propose to
 * yet, the cluster not ready, a learner asked. Not `unhealthy cluster`: the leader refusing a
 * membership change would refuse it again (etcd's client does not retry it either), and the
 * gateway retried it until its deadline.
 */
const NOT_PROPOSED: ReadonlySet<string> = new Set([
  'etcdserver: no leader',
  'etcdserver: not leader',
  'etcdserver: not capable',
  LEARNER_REFUSAL,
])

/** A learner refused the call (it answers only status and serializable ranges): another member will not. */
export function refusedByLearner(error: EtcdError): boolean {
  return error.code === GrpcCode.Unavailable && error.message === LEARNER_REFUSAL
}

/** True when `message` (of a 503 answer) says nothing was proposed. */
export function notProposed(message: string): boolean {
  return NOT_PROPOSED.has(message)
}

/**
 * Whether an error answer may be retried elsewhere: not-proposed answers always; any other
 * Unavailable answer only for a request that is safe to repeat.
 */
export function retryable(error: EtcdError, idempotent: boolean): boolean {
  if (error.code !== GrpcCode.Unavailable) return false
  return idempotent || notProposed(error.message)
}

/** The connection broke after the request may have reached a server: its outcome is unknown. */
export function connectionLost(): EtcdError {
  return new EtcdError(GrpcCode.Unavailable, 'etcdserver: request timed out, possibly due to connection lost')
}
