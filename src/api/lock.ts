/**
 * The v3lock service: `/v3/lock/lock` (blocks until the lock is held) and `/v3/lock/unlock`.
 * Nothing is checked here; every error the lock server meets reaches the client as 500 / 2
 * (see `concurrencyError`).
 *
 * @module
 */

import type { ResponseHeader } from '../mvcc/kv.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField, headerOnly, type HeaderResponse } from './header.ts'
import { field, K, message } from './schema.ts'

export interface LockRequest {
  readonly name: Uint8Array
  /** 0n: the server grants (and never renews) a 60 s lease of its own. */
  readonly lease: bigint
}

export interface LockResponse {
  readonly header: ResponseHeader
  /** `name` + "/" + the lease ID in lowercase hex. */
  readonly key: Uint8Array
}

export interface UnlockRequest {
  readonly key: Uint8Array
}

export const lockLock: Endpoint<LockRequest, LockResponse> = endpoint({
  name: 'lock.lock',
  path: '/v3/lock/lock',
  request: message<LockRequest>('v3lockpb.LockRequest', [field(1, 'name', K.bytes), field(2, 'lease', K.int64n)]),
  response: message<LockResponse>('v3lockpb.LockResponse', [headerField, field(2, 'key', K.bytes)]),
})

export const lockUnlock: Endpoint<UnlockRequest, HeaderResponse> = endpoint({
  name: 'lock.unlock',
  path: '/v3/lock/unlock',
  request: message<UnlockRequest>('v3lockpb.UnlockRequest', [field(1, 'key', K.bytes)]),
  response: headerOnly('v3lockpb.UnlockResponse'),
})
