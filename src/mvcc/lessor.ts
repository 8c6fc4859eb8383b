/**
 * Lease expiry, decided by the leader's clock and never by apply. The replicated state (which
 * leases exist, their TTLs, checkpointed remaining times) is in lease-table.ts; this object only
 * keeps the leader's in-memory deadlines. Every method that needs the time takes it as an
 * argument; nothing here reads a clock.
 *
 * ```
 *            promote(now)                         expired(now) → ids
 *  follower ─────────────▶ primary ──────────────────────────────────▶ leader proposes
 *     ▲   deadline = now + extend + remaining       (each id is held back     lease-revoke;
 *     │   (checkpointed, else the full TTL)          expiredRetryMs before      apply removes it
 *     │                                              being offered again)
 *     └────────────── demote() ◀── leadership lost: deadlines are dropped
 * ```
 * The leader also proposes lease-checkpoint commands built by checkpoints(now), as etcd does:
 * each lease's remaining time once per checkpointIntervalMs (5 minutes), and a renew clears its
 * lease's checkpoint (remaining 0: whole again) once, soon after. A new leader resumes a lease
 * from its checkpoint, else from its full TTL, plus `extendMs` (one election timeout): a leader
 * change extends a lease by at most its TTL or the interval, whichever is less, plus that, and
 * long leases still expire when leaders keep changing. An idle cluster of short leases (the
 * usual ones) writes nothing for them: checkpoints cost a log entry and a row write per lease on
 * every member.
 *
 * A lease granted while primary gets its deadline lazily, from the first call that passes a time
 * (catchUp, expired, checkpoints, renew, remainingMs); the member calls catchUp(now) right after
 * applying entries, so a lease's TTL runs from its grant as in etcd, and expired(now) every tick.
 *
 * @module
 */
import { DeadlineHeap } from './deadline-heap.ts'
import { Errors } from './errors.ts'
import type { LeaseCheckpoint } from './kv.ts'
import type { Lease, LeaseTable } from './lease-table.ts'

export interface LessorConfig {
  /** How often each lease's remaining time is checkpointed; default 5 minutes (etcd's). */
  readonly checkpointIntervalMs?: number
  /** How long an id returned by expired() is held back before it is offered again; default 3 s. */
  readonly expiredRetryMs?: number
}

/** Thrown by renew on a member that is not the leader: the member forwards the keepalive. */
export class NotPrimaryError extends Error {
  constructor() {
    super('lessor: not the primary lessor')
    this.name = 'NotPrimaryError'
  }
}

function fullMs(lease: Lease): number {
  return lease.remainingMs > 0 ? lease.remainingMs : lease.ttl * 1000
}

export class Lessor {
  readonly #leases: LeaseTable
  readonly #checkpointIntervalMs: number
  readonly #expiredRetryMs: number
  #primary = false
  /** Leader-only: lease id → deadline (ms on the leader's clock). */
  readonly #deadline = new Map<bigint, number>()
  readonly #expiry = new DeadlineHeap()
  /** Leader-only: lease id → when its next checkpoint is due. */
  readonly #checkpointAt = new Map<bigint, number>()
  readonly #checkpoints = new DeadlineHeap()
  /** Leader-only: leases renewed since their last checkpoint, whose next checkpoint clears it. */
  readonly #clearing = new Set<bigint>()
  /** Granted while primary, deadline not yet set (apply has no clock). */
  readonly #unscheduled = new Set<bigint>()
  /** Offered by expired(): its revoke is in flight, so it can no longer be renewed. */
  readonly #expiring = new Set<bigint>()

  constructor(leases: LeaseTable, config: LessorConfig = {}) {
    this.#leases = leases
    this.#checkpointIntervalMs = config.checkpointIntervalMs ?? 300_000
    this.#expiredRetryMs = config.expiredRetryMs ?? 3_000
  }

  get primary(): boolean {
    return this.#primary
  }

  /** Becomes the lessor that tracks expiry: every lease gets a deadline from `nowMs`. */
  promote(nowMs: number, extendMs = 0): void {
    this.demote()
    this.#primary = true
    for (const lease of this.#leases.all()) this.#schedule(lease, nowMs + extendMs + fullMs(lease), nowMs)
  }

  demote(): void {
    this.#primary = false
    this.#deadline.clear()
    this.#expiry.clear()
    this.#checkpointAt.clear()
    this.#checkpoints.clear()
    this.#clearing.clear()
    this.#unscheduled.clear()
    this.#expiring.clear()
  }

  /** Keepalive: resets the deadline to the full TTL and returns the TTL (seconds). */
  renew(id: bigint, nowMs: number): number {
    if (!this.#primary) throw new NotPrimaryError()
    this.catchUp(nowMs)
    const lease = this.#leases.get(id)
    const deadline = this.#deadline.get(id)
    // An expired lease is being revoked: renewing it would race the revoke.
    if (lease === undefined || deadline === undefined || deadline <= nowMs || this.#expiring.has(id))
      throw Errors.leaseNotFound()
    this.#setDeadline(id, nowMs + lease.ttl * 1000)
    // Its checkpointed remaining time is stale now: a new leader would cut the lease short.
    if (lease.remainingMs > 0) {
      this.#clearing.add(id)
      this.#setCheckpoint(id, nowMs)
    }
    return lease.ttl
  }

  /** Remaining milliseconds of a lease, or null when it does not exist. */
  remainingMs(id: bigint, nowMs: number): number | null {
    const lease = this.#leases.get(id)
    if (lease === undefined) return null
    if (!this.#primary) return fullMs(lease)
    this.catchUp(nowMs)
    // Offered for revoke: it has run out, whatever retry deadline it was given.
    if (this.#expiring.has(id)) return 0
    const deadline = this.#deadline.get(id)
    return deadline === undefined ? fullMs(lease) : Math.max(0, deadline - nowMs)
  }

  /**
   * Leases past their deadline, soonest first, at most `max`. Each is held back for
   * expiredRetryMs so a revoke still in flight is not proposed twice. Empty unless primary.
   */
  expired(nowMs: number, max = Number.MAX_SAFE_INTEGER): bigint[] {
    if (!this.#primary) return []
    this.catchUp(nowMs)
    const out: bigint[] = []
    for (let top = this.#expiry.peek(); top !== undefined && top.at <= nowMs && out.length < max; ) {
      this.#expiry.pop()
      if (this.#deadline.get(top.id) === top.at) {
        out.push(top.id)
        this.#expiring.add(top.id)
        this.#setDeadline(top.id, nowMs + this.#expiredRetryMs)
      }
      top = this.#expiry.peek()
    }
    return out
  }

  /**
   * Checkpoints that are due, at most `max`: the body of a lease-checkpoint command. A renewed
   * lease's is 0 (no checkpoint: the full TTL).
   */
  checkpoints(nowMs: number, max = 1000): LeaseCheckpoint[] {
    if (!this.#primary) return []
    this.catchUp(nowMs)
    const out: LeaseCheckpoint[] = []
    for (let top = this.#checkpoints.peek(); top !== undefined && top.at <= nowMs && out.length < max; ) {
      this.#checkpoints.pop()
      const deadline = this.#deadline.get(top.id)
      if (this.#checkpointAt.get(top.id) === top.at && deadline !== undefined) {
        out.push({ id: top.id, remainingMs: this.#clearing.delete(top.id) ? 0 : Math.max(1, Math.ceil(deadline - nowMs)) })
        this.#setCheckpoint(top.id, nowMs + this.#checkpointIntervalMs)
      }
      top = this.#checkpoints.peek()
    }
    return out
  }

  /** Apply hook: a lease was granted. */
  granted(id: bigint): void {
    if (this.#primary) this.#unscheduled.add(id)
  }

  /** Apply hook: a lease was revoked. Its heap entries die lazily. */
  revoked(id: bigint): void {
    this.#deadline.delete(id)
    this.#checkpointAt.delete(id)
    this.#clearing.delete(id)
    this.#unscheduled.delete(id)
    this.#expiring.delete(id)
  }

  /** After the lease table was reloaded: forget vanished leases, schedule unknown ones. */
  resync(): void {
    if (!this.#primary) return
    for (const id of [...this.#deadline.keys()]) if (!this.#leases.has(id)) this.revoked(id)
    for (const lease of this.#leases.all()) if (!this.#deadline.has(lease.id)) this.#unscheduled.add(lease.id)
  }

  /** Starts the deadlines of leases granted (or resumed) since the last call that passed a time. */
  catchUp(nowMs: number): void {
    if (!this.#primary || this.#unscheduled.size === 0) return
    for (const id of this.#unscheduled) {
      const lease = this.#leases.get(id)
      if (lease !== undefined) this.#schedule(lease, nowMs + fullMs(lease), nowMs)
    }
    this.#unscheduled.clear()
  }

  #schedule(lease: Lease, deadline: number, nowMs: number): void {
    this.#setDeadline(lease.id, deadline)
    this.#setCheckpoint(lease.id, nowMs + this.#checkpointIntervalMs)
  }

  #setDeadline(id: bigint, at: number): void {
    this.#deadline.set(id, at)
    this.#expiry.push({ at, id })
  }

  #setCheckpoint(id: bigint, at: number): void {
    this.#checkpointAt.set(id, at)
    this.#checkpoints.push({ at, id })
  }
}
