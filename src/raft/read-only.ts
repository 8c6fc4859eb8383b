/**
 * The leader's ReadIndex bookkeeping (§6.4). A read gets the commit index at its arrival, and is
 * released once a majority has answered a heartbeat round sent after it arrived, which proves
 * this node was still the leader at that moment.
 *
 *   arrival --(no round in flight)--> starts round r+1 --(majority acks r+1)--> released
 *   arrival --(round r in flight)---> queued ---------(r completes)----> starts round r+1 ...
 *
 * Rounds carry a fresh, increasing ID in the heartbeat context, echoed by followers. Only acks
 * of the round in flight count, so a late ack of an older round cannot release a newer read.
 * Invariant: at most one round is in flight; every queued read arrived after it started.
 *
 * @module
 */
import type { NodeId } from './types.ts'
import { hasMajority } from './quorum/majority.ts'

/** A read waiting for confirmation; `from` is the requesting member (the leader itself for local reads). */
export interface PendingRead {
  readonly ctx: Uint8Array
  readonly from: NodeId
  readonly index: number
}

interface Round {
  readonly id: number
  readonly reads: readonly PendingRead[]
  readonly acks: Set<NodeId>
}

const EMPTY = new Uint8Array(0)

/** Round IDs travel as ASCII decimal digits so traces stay readable. */
export function encodeRoundId(id: number): Uint8Array {
  return new TextEncoder().encode(String(id))
}

/** The round ID in a heartbeat (response) context, or 0 if it carries none. */
export function decodeRoundId(ctx: Uint8Array): number {
  if (ctx.length === 0 || ctx.length > 16) return 0
  let n = 0
  for (const b of ctx) {
    if (b < 0x30 || b > 0x39) return 0
    n = n * 10 + (b - 0x30)
  }
  return n
}

export class ReadOnly {
  /** Never reset, so IDs stay increasing across terms. */
  #lastRoundId = 0
  #inflight: Round | null = null
  #queued: PendingRead[] = []

  /** The heartbeat context for the round in flight (empty if none), for retransmission. */
  context(): Uint8Array {
    return this.#inflight ? encodeRoundId(this.#inflight.id) : EMPTY
  }

  /** Adds a read. Returns true if it started a new round (the caller must broadcast heartbeats). */
  add(read: PendingRead, self: NodeId): boolean {
    if (this.#inflight) {
      this.#queued.push(read)
      return false
    }
    this.#start([read], self)
    return true
  }

  #start(reads: readonly PendingRead[], self: NodeId): void {
    this.#lastRoundId++
    this.#inflight = { id: this.#lastRoundId, reads, acks: new Set([self]) }
  }

  /**
   * Records `from`'s ack of round `roundId` and, if the round in flight now has a majority of
   * `voters`, releases its reads. When queued reads then start the next round, `startedNext` is true.
   */
  ack(
    roundId: number,
    from: NodeId,
    voters: readonly NodeId[],
    self: NodeId,
  ): { released: readonly PendingRead[]; startedNext: boolean } {
    const round = this.#inflight
    if (round === null || round.id !== roundId) return { released: [], startedNext: false }
    round.acks.add(from)
    if (!hasMajority(voters, (id) => round.acks.has(id))) return { released: [], startedNext: false }
    this.#inflight = null
    const queued = this.#queued
    this.#queued = []
    if (queued.length > 0) this.#start(queued, self)
    return { released: round.reads, startedNext: queued.length > 0 }
  }

  /** Drops every pending read (the node stopped being leader; the callers will time out and retry). */
  reset(): void {
    this.#inflight = null
    this.#queued = []
  }
}
