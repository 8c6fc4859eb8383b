/**
 * How long the liveness phase waits for convergence after healing.
 *
 * The base is the scenario's `livenessMs` (20 election timeouts; 50 under the member driver).
 * When the drawn flow control makes every MsgApp carry a single entry (max_size_per_msg below an
 * entry's size, as etcd's raft still sends one entry per message), catching a follower up takes
 * one append per missing entry, at most max_inflight_msgs of them in flight, each a network round
 * trip and an fsync on the follower, however healthy Raft is: a storm that left hundreds of
 * uncommitted entries of old terms needs seconds for that alone (seed 0x11068, one in flight,
 * converges 4.2 s after healing).
 *
 * So the bound grows by (mean round trip + mean fsync) / max_inflight_msgs per entry of the
 * backlog: from the highest last index down to the lowest commit index, but no lower than what a
 * snapshot covers (the nodes compact their logs every `compactEvery` applied entries, and a node
 * behind that gets a snapshot instead of entries). Larger messages get no allowance.
 *
 * Without PreVote (a raft-driver option; members always run with it) elections are only
 * probabilistically live: a node whose log is too short to win still times out and forces a new
 * term on the others, so the one node that can win must time out first, ahead of it by more than
 * a message delay (Raft thesis §9.6, the disruptive server): with a stale voter among few live
 * ones that can take tens of terms. The base bound is then five times longer.
 *
 * @module
 */
import type { NodeStatus } from './node-port.ts'
import type { ScenarioOptions } from './options.ts'

/** max_size_per_msg values below this carry one entry per message (the draws are 1, 16, 1 MiB). */
const ONE_ENTRY_PER_MESSAGE_BELOW = 1024

/** How many times the base bound an election may take without PreVote (see the module comment). */
const WITHOUT_PRE_VOTE = 5

/** Entries that may have to be sent one by one after healing (see the module comment). */
export function backlogEntries(o: ScenarioOptions, statuses: readonly NodeStatus[]): number {
  if (statuses.length === 0) return 0
  const last = Math.max(...statuses.map((s) => s.lastIndex))
  const snapshotCovers = Math.max(...statuses.map((s) => s.applied)) - o.compactEvery
  return Math.max(0, last - Math.max(Math.min(...statuses.map((s) => s.commit)), snapshotCovers))
}

/** The liveness bound, ms, for a cluster whose nodes stood at `statuses` when it was healed. */
export function livenessBoundMs(o: ScenarioOptions, statuses: readonly NodeStatus[]): number {
  if (o.driver !== 'raft') return o.livenessMs
  const base = o.preVote ? o.livenessMs : WITHOUT_PRE_VOTE * o.livenessMs
  if (o.tuning.maxSizePerMsg >= ONE_ENTRY_PER_MESSAGE_BELOW) return base
  const roundTrip = 2 * o.cluster.network.delayMean
  const fsync = (o.disk.fsyncMin + o.disk.fsyncMax) / 2
  return Math.ceil(base + (backlogEntries(o, statuses) * (roundTrip + fsync)) / o.tuning.maxInflightMsgs)
}
