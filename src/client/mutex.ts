/**
 * Locks over the v3lock API: `LockClient` makes the two calls, `Mutex` holds one lock under a
 * {@link Session}, as etcd's concurrency.Mutex.
 *
 * ```ts
 * const session = await Session.create(client, { ttl: 10 })
 * const mutex = new Mutex(session, 'jobs/nightly')
 * const { revision } = await mutex.lock()      // blocks while another session holds it
 * await storage.write(data, { fencingToken: revision })
 * await mutex.unlock()
 * ```
 *
 * The lock lives as long as the session's lease: if this process dies or loses the cluster for
 * a whole TTL, the lease expires and the next waiter gets the lock, possibly while this process
 * still believes it holds it. `revision` is the fencing token that lets the protected resource
 * tell (docs/coordination.md).
 *
 * @module
 */
import { lockLock, lockUnlock, type HeaderResponse, type LockResponse } from '../api/index.ts'
import { toBytes, type Bytes } from './keys.ts'
import type { Session } from './session.ts'
import type { Answer, Transport } from './transport.ts'

/** Options of a call that may wait. */
export interface WaitOptions {
  /** Gives up: the call ends, and the server takes the caller out of line. */
  readonly signal?: AbortSignal
}

export class LockClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Blocks until the lock `name` is held with the key `<name>/<lease hex>` (lease 0n: the server
   * grants a 60 s lease it never renews). Aborting the signal gives the place in line up.
   */
  lock(name: Bytes, lease: bigint, options: WaitOptions = {}): Promise<Answer<LockResponse>> {
    const call = { idempotent: false, blocking: true, signal: options.signal }
    return this.#transport.call(lockLock, { name: toBytes(name), lease }, call)
  }

  /** Releases the lock held with `key` (a key that is gone is fine). */
  unlock(key: Bytes): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(lockUnlock, { key: toBytes(key) }, { idempotent: false })
  }
}

/** A lock as held: its key and its fencing token. */
export interface HeldLock {
  readonly key: Uint8Array
  /**
   * The revision the lock was taken at; greater than every earlier holder's. Pass it to the
   * resource the lock protects, which refuses tokens lower than the highest it has seen.
   */
  readonly revision: number
}

export class Mutex {
  readonly #session: Session
  readonly #name: Uint8Array
  #held: HeldLock | null = null

  constructor(session: Session, name: Bytes) {
    this.#session = session
    this.#name = toBytes(name)
  }

  /** The lock as last taken by this mutex, until `unlock()`; null when not taken. */
  get held(): HeldLock | null {
    return this.#held
  }

  /** Blocks until the lock is held; gives up when `signal` aborts or the session ends. */
  async lock(options: WaitOptions = {}): Promise<HeldLock> {
    const signal = this.#session.until(options.signal)
    const res = await this.#session.client.lock.lock(this.#name, this.#session.lease, { signal })
    this.#held = { key: res.key, revision: res.header.revision }
    return this.#held
  }

  /** Releases the lock; nothing to do when it is not held. */
  async unlock(): Promise<void> {
    const held = this.#held
    if (held === null) return
    await this.#session.client.lock.unlock(held.key)
    this.#held = null
  }
}
