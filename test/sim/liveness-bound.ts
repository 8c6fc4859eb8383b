/**
 * How long the liveness phase waits for convergence after healing.
 *
 * The base is the scenario's `livenessMs` (20 election timeouts; 50 under the member driver).
 * When the drawn flow control makes every MsgApp carry a single entry (max_size_per_msg below an
 * entry's size, as etcd's raft still sends one entry per message), catching a follower up costs
 * one append per missing entry, each a network round trip and an fsync on the follower, however
 * healthy Raft is; a storm that left hundreds of uncommitted entries of old terms needs seconds
 * for that alone (a leader 515 entries ahead of a follower, 5 ms mean latency and fsyncs of
 * 5–30 ms: about 10 ms per entry, 5 s in all). So the bound grows by the slowest round trip plus
 * the slowest fsync for each entry of the backlog: the highest last index minus the lowest
 * applied index among the nodes at healing. Larger messages get no allowance.
 *
 * @module
 */
import type { NodeStatus } from './node-port.ts'
import type { ScenarioOptions } from './options.ts'

/** max_size_per_msg values below this carry one entry per message (the draws are 1, 16, 1 MiB). */
const ONE_ENTRY_PER_MESSAGE_BELOW = 1024

/** The liveness bound, ms, for a cluster whose nodes stood at `statuses` when it was healed. */
export function livenessBoundMs(o: ScenarioOptions, statuses: readonly NodeStatus[]): number {
  if (o.driver !== 'raft' || o.tuning.maxSizePerMsg >= ONE_ENTRY_PER_MESSAGE_BELOW || statuses.length === 0) return o.livenessMs
  const backlog = Math.max(...statuses.map((s) => s.lastIndex)) - Math.min(...statuses.map((s) => s.applied))
  const n = o.cluster.network
  const slowestDelay = 2 * n.delayMean - n.delayMin
  return o.livenessMs + Math.max(0, backlog) * (2 * slowestDelay + o.disk.fsyncMax)
}
