/**
 * The membership as the leader (or a candidate) sees it: voters, learners, one Progress per
 * member, and the votes of the current election. Iteration is always in ascending ID order so
 * that the messages a node emits are deterministic.
 *
 * Invariant: voters and learners are disjoint; every member has exactly one Progress.
 *
 * @module
 */
import type { ConfState, NodeId } from '../types.ts'
import { committedIndex, hasMajority, voteResult, type VoteResult } from '../quorum/majority.ts'
import { Progress } from './progress.ts'

export class ProgressTracker {
  readonly #maxInflight: number
  #voters: readonly NodeId[] = []
  #learners: readonly NodeId[] = []
  #progress = new Map<NodeId, Progress>()
  #votes = new Map<NodeId, boolean>()

  constructor(maxInflight: number) {
    this.#maxInflight = maxInflight
  }

  get voters(): readonly NodeId[] {
    return this.#voters
  }

  confState(): ConfState {
    return { voters: [...this.#voters], learners: [...this.#learners] }
  }

  /**
   * Switches to `cs`. Members that stay keep their Progress (a promoted learner just stops being
   * a learner); new members start probing at `lastIndex`, so the first probe carries an entry and
   * goes out at once; removed members are forgotten.
   */
  setConfState(cs: ConfState, lastIndex: number): void {
    const voters = [...new Set(cs.voters)].sort((a, b) => a - b)
    const learners = [...new Set(cs.learners)].filter((id) => !voters.includes(id)).sort((a, b) => a - b)
    const progress = new Map<NodeId, Progress>()
    for (const id of [...voters, ...learners].sort((a, b) => a - b)) {
      const isLearner = learners.includes(id)
      const pr = this.#progress.get(id) ?? new Progress(0, Math.max(lastIndex, 1), this.#maxInflight, isLearner)
      pr.isLearner = isLearner
      progress.set(id, pr)
    }
    this.#voters = voters
    this.#learners = learners
    this.#progress = progress
  }

  /** Replaces every Progress with a fresh one (on a role change); `matchOf` gives the start match. */
  resetProgress(lastIndex: number, matchOf: (id: NodeId) => number): void {
    for (const id of [...this.#progress.keys()]) {
      const match = matchOf(id)
      this.#progress.set(id, new Progress(match, lastIndex + 1, this.#maxInflight, this.isLearner(id)))
    }
  }

  progress(id: NodeId): Progress | undefined {
    return this.#progress.get(id)
  }

  /** Every member's ID, ascending. */
  ids(): NodeId[] {
    return [...this.#progress.keys()]
  }

  isVoter(id: NodeId): boolean {
    return this.#voters.includes(id)
  }

  isLearner(id: NodeId): boolean {
    return this.#learners.includes(id)
  }

  /** The largest index a majority of voters has durably acknowledged. */
  committed(): number {
    return committedIndex(this.#voters, (id) => this.#progress.get(id)?.match ?? 0)
  }

  /** Whether a majority of voters has been heard from since the last reset of recentActive. */
  quorumActive(): boolean {
    return hasMajority(this.#voters, (id) => this.#progress.get(id)?.recentActive ?? false)
  }

  resetVotes(): void {
    this.#votes = new Map()
  }

  /** Records the first vote from `id` in this election; repeats are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.#votes.has(id)) this.#votes.set(id, granted)
  }

  tallyVotes(): VoteResult {
    return voteResult(this.#voters, this.#votes)
  }
}
