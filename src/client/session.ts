/**
 * A session, as etcd's concurrency.Session: one lease, kept alive in the background for as long
 * as this process runs and the session is open. Mutexes, elections and service registrations
 * hold their keys under it, so those keys vanish within the TTL once the process dies (nobody
 * renews the lease), or soon after `close()` (which revokes it).
 *
 * ```
 *   Session.create(client, { ttl })   grant ─▶ keepalive every TTL/3 ─▶ …
 *     done = 'closed'   close() was called (the lease is revoked)
 *     done = 'lost'     the cluster says the lease is gone, or no keepalive got through for a
 *                       whole TTL (measured here, from the last answer): assume it expired
 * ```
 *
 * `signal` aborts when the session ends, so work done under a lock can stop with it. Loss is
 * judged on this process's clock: a paused process may find out late (see docs/coordination.md).
 *
 * @module
 */
import { EtcdError, Errors, GrpcCode } from '../mvcc/errors.ts'
import type { Client } from './client.ts'
import type { KeepAlive } from './lease.ts'

export interface SessionOptions {
  /** Seconds the lease lives without a keepalive; default 60 (etcd's). Ignored with `lease`. */
  readonly ttl?: number
  /** Keep this existing lease alive instead of granting a new one. */
  readonly lease?: bigint
}

export type SessionEnd = 'closed' | 'lost'

export class Session {
  readonly client: Client
  readonly lease: bigint
  /** The lease's TTL in seconds, as granted. */
  readonly ttl: number
  /** Resolves when the session ends: closed by `close()`, or lost. */
  readonly done: Promise<SessionEnd>
  readonly #abort = new AbortController()
  readonly #keepAlive: KeepAlive
  #end: (end: SessionEnd) => void = () => undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  /** Grants a lease (or adopts `options.lease`) and starts keeping it alive. */
  static async create(client: Client, options: SessionOptions = {}): Promise<Session> {
    const since = Date.now()
    if (options.lease !== undefined) {
      const { ttl, grantedTtl } = await client.lease.timeToLive(options.lease)
      if (ttl <= 0) throw Errors.leaseNotFound()
      // Only `ttl` seconds were left: the last renewal counts as that much earlier.
      return new Session(client, options.lease, grantedTtl, since - (grantedTtl - ttl) * 1000)
    }
    const granted = await client.lease.grant(options.ttl ?? 60)
    return new Session(client, granted.id, granted.ttl, since)
  }

  private constructor(client: Client, lease: bigint, ttl: number, renewedAt: number) {
    this.client = client
    this.lease = lease
    this.ttl = ttl
    this.done = new Promise((resolve) => (this.#end = resolve))
    this.#keepAlive = client.lease.keepAlive(lease, { signal: this.#abort.signal })
    this.#arm(renewedAt)
    void this.#renewals()
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /** A signal that aborts when the session ends or when `signal` (if any) aborts. */
  until(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, signal])
  }

  /** Stops the keepalive and revokes the lease (a lease already gone is fine). */
  async close(): Promise<void> {
    this.#finish('closed')
    await this.client.lease.revoke(this.lease).catch((err: unknown) => {
      if (!(err instanceof EtcdError && err.code === GrpcCode.NotFound)) throw err
    })
  }

  async #renewals(): Promise<void> {
    try {
      for await (const _ of this.#keepAlive) this.#arm(Date.now())
      await this.#keepAlive.done
    } catch {
      // an error answer: the lease cannot be kept
    }
    this.#finish('lost')
  }

  /** The lease may have expired once a whole TTL passed since `from` without a renewal. */
  #arm(from: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#finish('lost'), from + this.ttl * 1000 - Date.now())
  }

  #finish(end: SessionEnd): void {
    if (this.#abort.signal.aborted) return
    clearTimeout(this.#timer)
    this.#abort.abort()
    this.#end(end)
  }
}
