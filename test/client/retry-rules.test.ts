/** Which refusals the client and the gateway send again (src/client/retry-rules.ts). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { retryable } from '../../src/client/retry-rules.ts'
import { EtcdError, GrpcCode } from '../../src/mvcc/errors.ts'

const unavailable = (message: string): EtcdError => new EtcdError(GrpcCode.Unavailable, message)

test('a write is sent again only after a refusal that proves it was not proposed and may pass next time', () => {
  for (const message of ['etcdserver: no leader', 'etcdserver: not capable', 'etcdserver: rpc not supported for learner'])
    assert.equal(retryable(unavailable(message), false), true, message)
  // The leader's membership health check says the same again: answered at once, not retried to the deadline.
  assert.equal(retryable(unavailable('etcdserver: unhealthy cluster'), false), false)
  assert.equal(retryable(unavailable('etcdserver: request timed out'), false), false)
  assert.equal(retryable(new EtcdError(GrpcCode.FailedPrecondition, 'etcdserver: no leader'), false), false)
})

test('a request safe to repeat is sent again after any Unavailable answer', () => {
  assert.equal(retryable(unavailable('etcdserver: request timed out'), true), true)
  assert.equal(retryable(unavailable('etcdserver: unhealthy cluster'), true), true)
  assert.equal(retryable(new EtcdError(GrpcCode.InvalidArgument, 'etcdserver: key is not provided'), true), false)
})
