/**
 * The leader's view of one follower's log: how far it is known to match (`match`), what to send
 * next (`next`), and how to send it.
 *
 *                        rejection, unreachable
 *           +------------------------------------------------+
 *           v                                                |
 *     +-----------+   an append is acknowledged     +-------------+
 *     |   probe   | ------------------------------> |  replicate  |
 *     +-----------+                                 +-------------+
 *       |     ^                                            |
 *       |     | reportSnapshot / caught up     needs an    |
 *       v     |                                 entry that |
 *     +-----------+ <------------------------------------- +
 *     | snapshot  |        compaction removed
 *     +-----------+
 *
 * - probe: one MsgApp at a time, then wait (for its answer or a heartbeat answer) before the next.
 * - replicate: stream optimistically, `next` runs ahead of `match`, bounded by the inflight window.
 * - snapshot: a MsgSnap is on its way; send nothing until it is reported or acknowledged.
 *
 * Invariant: 0 <= match < next.
 *
 * @module
 */
import type { ProgressState, ProgressStatus } from '../types.ts'
import { Inflights } from './inflights.ts'

/**
 * A MsgSnap neither acknowledged nor reported within this many election timeouts is presumed lost
 * (the transport should report, but a lost report must not stall the follower forever).
 */
export const SNAPSHOT_TIMEOUT_ELECTIONS = 5

export class Progress {
  #match: number
  #next: number
  #state: ProgressState = 'probe'
  /** Index of the snapshot in flight (snapshot state only), else 0. */
  #pendingSnapshot = 0
  /**
   * Index of a snapshot reported delivered that the follower has not acknowledged yet (probe state
   * only), else 0. Installing it can take long; meanwhile the leader must keep the entries after
   * it, or the follower comes out of the snapshot needing another one (see compactionFloor).
   */
  #snapshotDelivered = 0
  /** Election timeouts spent waiting in snapshot state, or for a delivered snapshot's answer. */
  #snapshotWait = 0
  /** Probe state: a MsgApp was sent and we wait for an answer or a heartbeat response. */
  #probeSent = false
  readonly inflights: Inflights
  /** Heard from since the last CheckQuorum round. The leader's own entry is always true. */
  recentActive = false
  isLearner: boolean

  constructor(match: number, next: number, maxInflight: number, isLearner: boolean) {
    this.#match = match
    this.#next = Math.max(next, match + 1)
    this.inflights = new Inflights(maxInflight)
    this.isLearner = isLearner
  }

  get match(): number {
    return this.#match
  }
  get next(): number {
    return this.#next
  }
  get state(): ProgressState {
    return this.#state
  }
  get pendingSnapshot(): number {
    return this.#pendingSnapshot
  }

  becomeProbe(): void {
    // After a snapshot, resume after it (it is likely on the follower) unless match is further.
    this.#next =
      this.#state === 'snapshot' ? Math.max(this.#match + 1, this.#pendingSnapshot + 1) : this.#match + 1
    this.#enter('probe')
  }

  becomeReplicate(): void {
    this.#next = this.#match + 1
    this.#enter('replicate')
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#enter('snapshot')
    this.#pendingSnapshot = snapshotIndex
  }

  #enter(state: ProgressState): void {
    this.#state = state
    this.#pendingSnapshot = 0
    this.#snapshotDelivered = 0
    this.#snapshotWait = 0
    this.#probeSent = false
    this.inflights.reset()
  }

  /** The follower acknowledged entries up to `n`. Returns whether `match` moved. */
  maybeUpdate(n: number): boolean {
    let updated = false
    if (this.#match < n) {
      this.#match = n
      this.#probeSent = false
      updated = true
    }
    if (n >= this.#snapshotDelivered) this.#snapshotDelivered = 0
    this.#next = Math.max(this.#next, n + 1)
    return updated
  }

  /**
   * The follower rejected a MsgApp whose previous index was `rejected`; `matchHint` is the highest
   * index that may still match. Returns false when the rejection is stale (answers an older
   * message) and should be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.#state === 'replicate') {
      if (rejected <= this.#match) return false
      this.#next = this.#match + 1
      return true
    }
    // Probe and snapshot states send one message at a time: only its answer is current.
    if (this.#next - 1 !== rejected) return false
    this.#next = Math.max(Math.min(rejected, matchHint + 1), this.#match + 1)
    this.#probeSent = false
    return true
  }

  /** A MsgApp carrying `count` entries ending at `lastIndex` was sent. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.#state === 'replicate') {
      if (count > 0) {
        this.#next = lastIndex + 1
        this.inflights.add(lastIndex)
      }
    } else if (this.#state === 'probe') {
      this.#probeSent = true
    } else {
      throw new Error('raft: sending entries in snapshot state')
    }
  }

  /**
   * The transport reported the MsgSnap in flight delivered (`ok`) or lost. Resume probing after the
   * snapshot, or from match on failure; either way wait for the follower's next answer (or its
   * heartbeat answer) before sending again.
   */
  snapshotReported(ok: boolean): void {
    if (this.#state !== 'snapshot') return
    const delivered = ok ? this.#pendingSnapshot : 0
    if (!ok) this.#pendingSnapshot = 0
    this.becomeProbe()
    this.#probeSent = true
    if (delivered > this.#match) this.#snapshotDelivered = delivered
  }

  /**
   * An election timeout passed on the leader; gives up on a snapshot that has waited too long,
   * in flight or for the follower's answer once delivered.
   */
  electionTimeoutElapsed(): void {
    if (this.#state === 'snapshot') {
      if (++this.#snapshotWait >= SNAPSHOT_TIMEOUT_ELECTIONS) this.snapshotReported(false)
    } else if (this.#snapshotDelivered > 0 && ++this.#snapshotWait >= SNAPSHOT_TIMEOUT_ELECTIONS) {
      this.#snapshotDelivered = 0
    }
  }

  /**
   * The lowest index whose successors the leader's log must keep for this follower, or 0: the
   * snapshot in flight, or the one delivered and not yet acknowledged. Both end with an answer, a
   * failure report or the snapshot timeout, so a dead follower never holds compaction for long.
   */
  get compactionFloor(): number {
    return this.#state === 'snapshot' ? this.#pendingSnapshot : this.#snapshotDelivered
  }

  /** The follower answered a heartbeat: it is alive, so a paused flow may resume. */
  heartbeatAnswered(): void {
    this.#probeSent = false
    // Acks may have been lost; free one slot so replication cannot stall on a full window.
    if (this.#state === 'replicate' && this.inflights.full()) this.inflights.freeFirstOne()
  }

  /** Acknowledgement up to `index` in replicate state frees the window. */
  freeInflightsLE(index: number): void {
    this.inflights.freeLE(index)
  }

  isPaused(): boolean {
    switch (this.#state) {
      case 'probe':
        return this.#probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }

  status(): ProgressStatus {
    return {
      match: this.#match,
      next: this.#next,
      state: this.#state,
      recentActive: this.recentActive,
      isLearner: this.isLearner,
    }
  }
}
