/**
 * The v3lock service, as etcd's v3lock server (a concurrency.Mutex per call):
 *
 * - `lock` puts `<name>/<lease hex>` under the caller's lease (or a 60 s lease granted here and
 *   never renewed), waits until every key created before it under `<name>/` is gone, confirms the
 *   key and the lease are still alive, and answers with the key. On any failure, or when the
 *   client disconnects while it waits, its key is deleted again.
 * - `unlock` deletes the key (a missing key is fine).
 *
 * Fencing token: the lock answer's `header.revision` is the revision the lock was taken at: the
 * key's create revision when nobody held the lock, otherwise the revision at which the last
 * earlier key was found gone (≥ that key's delete). Each holder's token is greater than every
 * earlier holder's, so a resource that remembers the largest token it has seen can refuse a
 * stale holder.
 *
 * Lock needs the leader's lease clock; the HTTP layer sends it to the leader. Every error is
 * etcd's concurrency error (500 / 2).
 *
 * @module
 */
import type { HeaderResponse, LockRequest, LockResponse, UnlockRequest } from '../api/index.ts'
import { EtcdError, Errors, GrpcCode } from '../mvcc/index.ts'
import {
  concurrencyCall, confirm, enqueue, prefixOf, release, sessionLease, waitDeletes, waiterKey,
} from './concurrency.ts'
import { deleteRange } from './kv-service.ts'
import type { MemberContext } from './member-context.ts'

const EMPTY = new Uint8Array(0)

/** etcd's concurrency.ErrSessionExpired (mutex): the key or its lease went while it waited. */
function sessionExpired(): EtcdError {
  return new EtcdError(GrpcCode.Unknown, 'mutex: session is expired')
}

export function lock(m: MemberContext, req: LockRequest, signal: AbortSignal): Promise<LockResponse> {
  return concurrencyCall(async () => {
    const lease = await sessionLease(m, req.lease)
    const prefix = prefixOf(req.name)
    const key = waiterKey(prefix, lease)
    const line = await enqueue(m, prefix, key, EMPTY, lease)
    if (line.firstRev === line.rev) return { header: line.header, key }
    try {
      await waitDeletes(m, prefix, line.rev - 1, signal)
      return { header: await confirm(m, key, line.rev, lease, sessionExpired), key }
    } catch (err) {
      await release(m, key, line.rev).catch(() => undefined)
      throw err
    }
  })
}

export function unlock(m: MemberContext, req: UnlockRequest): Promise<HeaderResponse> {
  return concurrencyCall(async () => {
    if (req.key.length === 0) throw Errors.keyNotProvided()
    const { header } = await deleteRange(m, { key: req.key, rangeEnd: EMPTY, prevKv: false })
    return { header }
  })
}
