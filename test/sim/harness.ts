/**
 * The seam between the scenario (simulator.ts) and a node driver: a {@link Harness} is the cluster
 * of the driver's nodes and its clients, with what "converged" means for them. Two exist:
 * raft-harness.ts and member-harness.ts.
 *
 * @module
 */
import type { NodeId } from '../../src/raft/types.ts'
import type { Checker } from './checker.ts'
import type { Cluster } from './cluster.ts'
import type { NodeMedium, NodeObserver, SimNode } from './node-port.ts'
import type { ScenarioOptions } from './options.ts'
import type { Prng } from './prng.ts'
import type { Scheduler } from './scheduler.ts'

/** What a harness is built from. */
export interface HarnessContext {
  readonly root: Prng
  readonly options: ScenarioOptions
  readonly scheduler: Scheduler
  readonly checker: Checker
  /** The checker's taps (and tracing); a harness may add its clients' taps to them. */
  readonly observer: NodeObserver
}

/** What differs between the node drivers; the scenario around it is the same. */
export interface Harness {
  readonly cluster: Cluster<SimNode, NodeMedium>
  /** Starts the clients, which send requests until virtual time `until`. */
  startClients(until: number): void
  /** Runs the promise continuations an event set off; null when the nodes have none. */
  readonly settle: (() => Promise<void>) | null
  /** The liveness phase begins: no more injected faults inside the nodes. */
  calm(): void
  /** The applied index every member must reach for the liveness phase to end. */
  required(): number
  /** Polled each tick of the liveness phase; may report violations on the converged state. */
  converged(required: number): boolean
  /** The cluster's state, for a liveness violation. */
  describe(required: number): string
  /** The scenario is over: release what the nodes hold (the members' databases). */
  dispose(): void
  /** Counts beyond the cluster's and the nemesis's: the disks', the clients', the nodes' own. */
  counts(): { readonly disk: object; readonly client: object; readonly node?: object }
}

/** `n<id>:<role>/t<term>/c<commit>/a<applied>/<conf>` for every up node, and the down ones. */
export function describeCluster(cluster: Cluster<SimNode, NodeMedium>, required: number): string {
  const nodes = cluster.statuses().map((s) => {
    const conf = `v[${s.confState.voters}]/l[${s.confState.learners}]`
    return `n${s.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/${conf}`
  })
  return `required applied ${required}; down [${cluster.downIds()}]; ${nodes.join(' ')}`
}

/** The members of the configuration of the one leader; null unless exactly one node leads. */
export function leaderConfiguration(cluster: Cluster<SimNode, NodeMedium>): NodeId[] | null {
  const leaders = cluster.statuses().filter((s) => s.role === 'leader')
  if (leaders.length !== 1) return null
  const { voters, learners } = (leaders[0] as (typeof leaders)[number]).confState
  return [...voters, ...learners]
}
