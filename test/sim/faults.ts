/**
 * The nemesis: every `intervalMs` of the safety phase it rolls, from its own PRNG stream, each
 * fault it may inject. Partitions, heals, crashes and restarts go to the network and cluster;
 * membership changes and leader transfers go to the current leader like an operator's commands:
 *
 * - add a learner: spawn a node with a FRESH id and propose `add-learner` for it;
 * - promote a learner whose match has reached the leader's commit index (`add-voter`);
 * - remove a voter, never going below 3 voters;
 * - transfer leadership to a random other voter.
 *
 * Ids are never reused; at most `maxSpawned` nodes are ever added.
 *
 * @module
 */
import type { ConfChange, NodeId } from '../../src/raft/types.ts'
import type { Cluster } from './cluster.ts'
import type { PartitionMode } from './network.ts'
import type { NodeMedium, SimNode } from './node-port.ts'
import type { Prng, Ratio } from './prng.ts'
import type { Scheduler } from './scheduler.ts'

export interface FaultOptions {
  /** Virtual ms between two rolls. */
  readonly intervalMs: number
  readonly partition: Ratio
  readonly partitionMode: PartitionMode
  readonly symmetric: Ratio
  readonly heal: Ratio
  readonly crash: Ratio
  readonly restart: Ratio
  readonly addLearner: Ratio
  readonly promote: Ratio
  readonly removeVoter: Ratio
  readonly transfer: Ratio
  readonly maxSpawned: number
}

export interface FaultCounts {
  confChangesProposed: number
  confChangesRejected: number
  transfers: number
}

const NO_CONTEXT = new Uint8Array(0)

export class Faults {
  readonly counts: FaultCounts = { confChangesProposed: 0, confChangesRejected: 0, transfers: 0 }
  readonly #prng: Prng
  readonly #options: FaultOptions
  readonly #cluster: Cluster<SimNode, NodeMedium>

  constructor(prng: Prng, options: FaultOptions, cluster: Cluster<SimNode, NodeMedium>) {
    this.#prng = prng
    this.#options = options
    this.#cluster = cluster
  }

  /** Rolls faults until virtual time `until`. */
  run(scheduler: Scheduler, until: number): void {
    const loop = (): void => {
      if (scheduler.now >= until) return
      this.roll()
      scheduler.after(this.#options.intervalMs, 'faults', loop)
    }
    scheduler.after(this.#options.intervalMs, 'faults', loop)
  }

  roll(): void {
    const o = this.#options
    const p = this.#prng
    const c = this.#cluster
    if (c.network.partitioned) {
      if (p.ratio(o.heal)) c.network.heal()
    } else if (p.ratio(o.partition) && c.ids().length >= 2) {
      c.network.partition(o.partitionMode, p.ratio(o.symmetric), c.ids(), c.leaderId())
    }
    if (p.ratio(o.crash)) {
      const up = c.upIds()
      if (up.length > 0) c.crash(p.pick(up))
    }
    if (p.ratio(o.restart)) {
      const down = c.downIds()
      if (down.length > 0) c.restart(p.pick(down))
    }
    this.#membership()
  }

  #membership(): void {
    const o = this.#options
    const p = this.#prng
    const c = this.#cluster
    const leader = c.leader()
    if (leader === null) return
    const { voters, learners } = leader.confState
    if (p.ratio(o.addLearner) && c.counts.spawned < o.maxSpawned) {
      this.#propose(leader.id, { type: 'add-learner', nodeId: c.spawn(), context: NO_CONTEXT })
    }
    if (p.ratio(o.promote)) {
      const ready = learners.filter((id) => (leader.progress?.get(id)?.match ?? 0) >= leader.commit)
      if (ready.length > 0) {
        this.#propose(leader.id, { type: 'add-voter', nodeId: p.pick(ready), context: NO_CONTEXT })
      }
    }
    if (p.ratio(o.removeVoter) && voters.length > 3) {
      this.#propose(leader.id, { type: 'remove', nodeId: p.pick(voters), context: NO_CONTEXT })
    }
    if (p.ratio(o.transfer) && voters.length > 1) {
      const to = p.pick(voters.filter((id) => id !== leader.id))
      this.counts.transfers++
      c.node(leader.id)?.transferLeader(to)
    }
  }

  #propose(leader: NodeId, cc: ConfChange): void {
    this.counts.confChangesProposed++
    const r = this.#cluster.node(leader)?.proposeConfChange(cc)
    if (r !== undefined && !r.ok) this.counts.confChangesRejected++
  }
}
