/**
 * Majority quorums as pure functions over a voter set: the highest index a majority has
 * acknowledged, the outcome of an election, and whether a majority satisfies a predicate.
 * Nothing here knows about terms, logs or roles.
 *
 * An empty voter set has no majority: it commits nothing, wins no election and is never
 * active. (etcd's joint-consensus code treats an empty half as "always yes"; we only have
 * simple majorities, so the conservative answer is the safe one.)
 *
 * @module
 */
import type { NodeId } from '../types.ts'

export type VoteResult = 'won' | 'lost' | 'pending'

/** The number of voters that make a majority of `n`. */
export function majoritySize(n: number): number {
  return Math.floor(n / 2) + 1
}

/**
 * The largest index that at least a majority of `voters` has acknowledged, given each voter's
 * acknowledged index (`matchOf`). 0 when `voters` is empty.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0
  const matches = voters.map(matchOf).sort((a, b) => b - a)
  // Invariant: matches is sorted descending, so the majoritySize-th largest is held by a majority.
  return matches[majoritySize(voters.length) - 1] as number
}

/**
 * The election outcome given the votes received so far (true = granted, false = rejected, missing
 * = not yet answered). Votes from non-voters are ignored.
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'lost'
  let granted = 0
  let missing = 0
  for (const id of voters) {
    const v = votes.get(id)
    if (v === undefined) missing++
    else if (v) granted++
  }
  const need = majoritySize(voters.length)
  if (granted >= need) return 'won'
  if (granted + missing >= need) return 'pending'
  return 'lost'
}

/** Whether a majority of `voters` satisfies `pred`. */
export function hasMajority(voters: readonly NodeId[], pred: (id: NodeId) => boolean): boolean {
  if (voters.length === 0) return false
  let yes = 0
  for (const id of voters) if (pred(id)) yes++
  return yes >= majoritySize(voters.length)
}
