/**
 * How long a follower waits before campaigning once its leader's connections closed (actor.ts,
 * #leaderMayBeGone): a random number of milliseconds under half an election timeout.
 *
 * The wait lets the other followers notice too, so that they grant the pre-vote, and keeps two of
 * them from campaigning at the same moment: two that do both win their pre-votes, split the vote
 * and wait out a whole election timeout. So the draw is in milliseconds, not in ticks: with whole
 * ticks (5 values under half of 10) two followers drew the same delay one time in five, and a
 * failover took 1.6 s instead of 0.1-0.4 s.
 *
 * @module
 */
import type { RandomInt } from '../raft/index.ts'

export function campaignDelayMs(rand: RandomInt, electionTicks: number, tickMs: number): number {
  return rand(Math.max(1, (electionTicks * tickMs) >> 1))
}
