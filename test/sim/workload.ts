/**
 * The clients. At drawn intervals a client sends either a proposal of a unique payload (`p<n>`)
 * or a ReadIndex request (ctx `r<n>`), to the current leader or, with odds `anyNode`, to a random
 * live node (followers forward). A proposal is ACKNOWLEDGED when the node it was sent to applies
 * it: that is the answer a client would get. A crash of that node loses the answer (the outcome
 * is unknown to the client), never the ack of an answered one.
 *
 * Read requests are registered with the checker when issued, so it can require the ReadState's
 * index to cover everything committed before.
 *
 * @module
 */
import type { Entry, NodeId, ProposalResult, ReadState } from '../../src/raft/types.ts'
import type { Prng, Ratio } from './prng.ts'
import type { Scheduler } from './scheduler.ts'

export interface WorkloadOptions {
  /** Bounds of the pause between two requests, in ms (inclusive). */
  readonly intervalMin: number
  readonly intervalMax: number
  /** Odds that a request is a ReadIndex rather than a proposal. */
  readonly read: Ratio
  /** Odds that a request goes to a random live node instead of the leader. */
  readonly anyNode: Ratio
}

export interface WorkloadCounts {
  proposed: number
  rejected: number
  acked: number
  reads: number
  readsAnswered: number
}

/** The client side of a Raft node (raft-node.ts). */
export interface RaftClientPort {
  propose(data: Uint8Array): ProposalResult
  readIndex(ctx: Uint8Array): ProposalResult
}

/** What the workload needs from the cluster. */
export interface WorkloadTarget {
  leaderId(): NodeId | null
  upIds(): NodeId[]
  node(id: NodeId): RaftClientPort | null
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class Workload {
  readonly counts: WorkloadCounts = { proposed: 0, rejected: 0, acked: 0, reads: 0, readsAnswered: 0 }
  readonly #prng: Prng
  readonly #options: WorkloadOptions
  readonly #target: WorkloadTarget
  readonly #readIssued: (key: string) => void
  #next = 0
  /** payload → node it was proposed on, until that node applies it or crashes. */
  readonly #pending = new Map<string, NodeId>()
  readonly #reads = new Set<string>()
  /** payload → index it was applied at, for every acknowledged proposal. */
  readonly acked = new Map<string, number>()

  constructor(prng: Prng, options: WorkloadOptions, target: WorkloadTarget, readIssued: (key: string) => void) {
    this.#prng = prng
    this.#options = options
    this.#target = target
    this.#readIssued = readIssued
  }

  /** Sends requests until virtual time `until`. */
  run(scheduler: Scheduler, until: number): void {
    const loop = (): void => {
      if (scheduler.now >= until) return
      this.request()
      scheduler.after(this.#prng.range(this.#options.intervalMin, this.#options.intervalMax), 'client', loop)
    }
    scheduler.after(this.#prng.range(this.#options.intervalMin, this.#options.intervalMax), 'client', loop)
  }

  /** Sends one request now. */
  request(): void {
    const up = this.#target.upIds()
    if (up.length === 0) return
    const leader = this.#target.leaderId()
    const id = leader === null || this.#prng.ratio(this.#options.anyNode) ? this.#prng.pick(up) : leader
    const node = this.#target.node(id)
    if (node === null) return
    const n = this.#next++
    if (this.#prng.ratio(this.#options.read)) {
      const key = `r${n}`
      this.counts.reads++
      this.#readIssued(key)
      if (node.readIndex(encoder.encode(key)).ok) this.#reads.add(key)
      return
    }
    const payload = `p${n}`
    this.counts.proposed++
    this.#pending.set(payload, id)
    if (!node.propose(encoder.encode(payload)).ok) {
      this.#pending.delete(payload)
      this.counts.rejected++
    }
  }

  /** Highest index of an acknowledged proposal (0 if none). */
  get ackedIndex(): number {
    let max = 0
    for (const i of this.acked.values()) max = Math.max(max, i)
    return max
  }

  applied(id: NodeId, e: Entry): void {
    if (e.type !== 'normal' || e.data.length === 0 || this.#pending.size === 0) return
    const payload = decoder.decode(e.data)
    if (this.#pending.get(payload) !== id) return
    this.#pending.delete(payload)
    this.acked.set(payload, e.index)
    this.counts.acked++
  }

  readState(_id: NodeId, rs: ReadState): void {
    const key = decoder.decode(rs.ctx)
    if (this.#reads.delete(key)) this.counts.readsAnswered++
  }

  /** The node's process died: answers it owed are lost. */
  crashed(id: NodeId): void {
    for (const [payload, on] of this.#pending) if (on === id) this.#pending.delete(payload)
  }
}
