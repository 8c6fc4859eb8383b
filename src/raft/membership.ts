/**
 * The rules of single-step membership changes, as pure functions over a ConfState: whether a
 * proposed change is acceptable, and the membership after applying one.
 *
 * A change is proposed against the leader's applied membership and applied (on every member) when
 * its entry is applied. Applying is total and idempotent: it never fails on a committed entry.
 *
 * @module
 */
import type { ConfChange, ConfState, NodeId, ProposalError } from './types.ts'

/** A learner may be promoted once it holds this fraction of the leader's log. */
const PROMOTE_CATCH_UP = 0.9

/** Whether a member that replicated up to `match` holds enough of a leader's log ending at `lastIndex` to be promoted. */
export function caughtUp(match: number, lastIndex: number): boolean {
  return match > 0 && match >= PROMOTE_CATCH_UP * lastIndex
}

/**
 * Why `cc` may not be proposed now, or null if it may. `matchOf` gives a member's replicated
 * index as the leader sees it, `lastIndex` the leader's last index.
 */
export function checkConfChange(
  cs: ConfState,
  cc: ConfChange,
  matchOf: (id: NodeId) => number,
  lastIndex: number,
): ProposalError | null {
  const isVoter = cs.voters.includes(cc.nodeId)
  const isLearner = cs.learners.includes(cc.nodeId)
  switch (cc.type) {
    case 'add-voter': {
      if (isVoter) return 'invalid-conf-change'
      if (!isLearner) return null
      return caughtUp(matchOf(cc.nodeId), lastIndex) ? null : 'learner-not-caught-up'
    }
    case 'add-learner':
      return isVoter || isLearner ? 'invalid-conf-change' : null
    case 'remove':
      if (!isVoter && !isLearner) return 'invalid-conf-change'
      // Removing the last voter would leave a cluster that can never elect a leader again.
      return isVoter && cs.voters.length === 1 ? 'invalid-conf-change' : null
  }
}

/** The membership after `cc`. Sorted, voters and learners disjoint; a no-op if already in effect. */
export function applyToConfState(cs: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(cs.voters)
  const learners = new Set(cs.learners)
  switch (cc.type) {
    case 'add-voter':
      learners.delete(cc.nodeId)
      voters.add(cc.nodeId)
      break
    case 'add-learner':
      // Demoting a voter is not supported; an add-learner of a voter is refused when proposed.
      if (!voters.has(cc.nodeId)) learners.add(cc.nodeId)
      break
    case 'remove':
      voters.delete(cc.nodeId)
      learners.delete(cc.nodeId)
      break
  }
  const sorted = (s: Set<NodeId>): NodeId[] => [...s].sort((a, b) => a - b)
  return { voters: sorted(voters), learners: sorted(learners) }
}
