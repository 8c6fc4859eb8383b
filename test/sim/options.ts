/**
 * Swarm options: everything a scenario does is drawn from its seed here (VOPR's
 * `options_swarm`), and printed by vopr.ts before the run. Each fault kind is switched off
 * entirely in about a quarter of the scenarios and otherwise gets drawn odds, so that the swarm
 * covers both "everything at once" and "one fault alone".
 *
 * Profiles: a quarter of the scenarios (and every `--unsafe` run) are storms: 3 nodes, a fault
 * roll every 20 ms with high crash, restart and partition odds, mostly isolating the leader, a
 * slow disk (fsync 5–30 ms) under a fast client (a request every 2–6 ms), no membership changes,
 * 10 s of safety phase. That keeps many uncommitted entries of old terms around, which is where
 * subtle commit bugs (Figure 8 of the Raft paper) show up: about one storm seed in 30.
 *
 * Units: all durations and latencies are virtual milliseconds; odds are integer ratios.
 *
 * @module
 */
import type { UnsafeKnobs } from '../../src/raft/types.ts'
import type { ClusterOptions } from './cluster.ts'
import type { FaultOptions } from './faults.ts'
import { PARTITION_MODES } from './network.ts'
import type { RaftTuning } from './raft-node.ts'
import { formatRatio, formatSeed, type Prng, type Ratio } from './prng.ts'
import type { WorkloadOptions } from './workload.ts'

export type UnsafeKnob = keyof UnsafeKnobs

export const UNSAFE_KNOBS: readonly UnsafeKnob[] = ['commitPreviousTermByCount', 'skipUpToDateCheck']

export type Profile = 'swarm' | 'storm'

export interface ScenarioOptions {
  readonly seed: number
  readonly profile: Profile
  readonly cluster: ClusterOptions
  readonly preVote: boolean
  readonly checkQuorum: boolean
  /** Raft election timeout in ticks (randomized in [e, 2e) by Raft). */
  readonly electionTick: number
  readonly tuning: RaftTuning
  /** Applied entries between two checkpoints (log compactions). */
  readonly compactEvery: number
  /** Odds that a (re)started node is told its durable applied index rather than 0. */
  readonly passApplied: Ratio
  readonly faults: FaultOptions
  readonly workload: WorkloadOptions
  /** Length of the safety phase (faults on), ms. */
  readonly safetyMs: number
  /** Bound on convergence after healing, ms: 20 election timeouts. */
  readonly livenessMs: number
  readonly unsafe: UnsafeKnob | null
}

const NEVER: Ratio = { num: 0, den: 1 }

/** Odds num/den with num drawn in [lo, hi], or never in about a quarter of the scenarios. */
function odds(p: Prng, lo: number, hi: number, den: number): Ratio {
  return p.chance(1, 4) ? NEVER : { num: p.range(lo, hi), den }
}

export function drawOptions(seed: number, p: Prng, unsafe: UnsafeKnob | null): ScenarioOptions {
  const storm = p.chance(1, 4) || unsafe !== null
  const o = drawSwarm(seed, p, unsafe)
  if (!storm) return o
  return {
    ...o,
    profile: 'storm',
    cluster: { ...o.cluster, nodeCount: 3, disk: { ...o.cluster.disk, fsyncMin: 5, fsyncMax: 30 } },
    faults: {
      ...o.faults,
      intervalMs: 20,
      partition: { num: 20, den: 100 },
      partitionMode: p.chance(2, 3) ? 'isolate-leader' : o.faults.partitionMode,
      heal: { num: 30, den: 100 },
      crash: { num: 20, den: 100 },
      restart: { num: 50, den: 100 },
      addLearner: NEVER,
      removeVoter: NEVER,
    },
    workload: { ...o.workload, intervalMin: 2, intervalMax: 6 },
    safetyMs: 10000,
  }
}

function drawSwarm(seed: number, p: Prng, unsafe: UnsafeKnob | null): ScenarioOptions {
  const tickMs = 10
  const electionTick = 10
  const delayMin = p.range(1, 5)
  const fsyncMin = p.range(1, 4)
  const intervalMin = p.range(2, 10)
  return {
    seed,
    profile: 'swarm',
    cluster: {
      nodeCount: p.range(3, 5),
      tickMs,
      network: {
        delayMin,
        delayMean: delayMin + p.range(0, 15),
        drop: odds(p, 1, 15, 100),
        delaySpike: odds(p, 1, 5, 100),
        duplicate: odds(p, 1, 5, 100),
        reorder: odds(p, 1, 20, 100),
      },
      disk: { fsyncMin, fsyncMax: fsyncMin + p.range(0, 20), torn: odds(p, 1, 2, 2) },
    },
    preVote: p.chance(3, 4),
    checkQuorum: p.chance(3, 4),
    electionTick,
    tuning: {
      maxSizePerMsg: p.pick([1, 16, 1024 * 1024]),
      maxInflightMsgs: p.pick([1, 4, 256]),
      maxCommittedSizePerReady: p.pick([1, 64, 16 * 1024 * 1024]),
    },
    compactEvery: p.range(5, 60),
    passApplied: { num: p.range(0, 2), den: 2 },
    faults: {
      intervalMs: p.range(20, 100),
      partition: odds(p, 1, 25, 100),
      partitionMode: p.pick(PARTITION_MODES),
      symmetric: { num: p.range(0, 2), den: 2 },
      heal: { num: p.range(5, 40), den: 100 },
      crash: odds(p, 1, 20, 100),
      restart: { num: p.range(5, 50), den: 100 },
      addLearner: odds(p, 1, 5, 100),
      promote: { num: p.range(5, 50), den: 100 },
      removeVoter: odds(p, 1, 5, 100),
      transfer: odds(p, 1, 5, 100),
      maxSpawned: 4,
    },
    workload: {
      intervalMin,
      intervalMax: intervalMin + p.range(0, 40),
      read: { num: p.range(0, 4), den: 10 },
      anyNode: { num: p.range(0, 5), den: 10 },
    },
    safetyMs: p.range(2000, 8000),
    livenessMs: 20 * electionTick * tickMs,
    unsafe,
  }
}

/** One `name=value` per drawn option, in a fixed order (vopr.ts prints them). */
export function describeOptions(o: ScenarioOptions): string[] {
  const c = o.cluster
  const n = c.network
  const f = o.faults
  const w = o.workload
  const r = formatRatio
  return [
    `seed=${formatSeed(o.seed)} profile=${o.profile}`,
    `nodes=${c.nodeCount} tick_ms=${c.tickMs} election_tick=${o.electionTick}` +
      ` pre_vote=${o.preVote} check_quorum=${o.checkQuorum}`,
    `max_size_per_msg=${o.tuning.maxSizePerMsg} max_inflight_msgs=${o.tuning.maxInflightMsgs}` +
      ` max_committed_size_per_ready=${o.tuning.maxCommittedSizePerReady}`,
    `compact_every=${o.compactEvery} pass_applied=${r(o.passApplied)}`,
    `net_delay_min_ms=${n.delayMin} net_delay_mean_ms=${n.delayMean} drop=${r(n.drop)}` +
      ` delay_spike=${r(n.delaySpike)} duplicate=${r(n.duplicate)} reorder=${r(n.reorder)}`,
    `fsync_ms=${c.disk.fsyncMin}..${c.disk.fsyncMax} torn_on_crash=${r(c.disk.torn)}`,
    `fault_interval_ms=${f.intervalMs} partition=${r(f.partition)} partition_mode=${f.partitionMode}` +
      ` symmetric=${r(f.symmetric)} heal=${r(f.heal)}`,
    `crash=${r(f.crash)} restart=${r(f.restart)} add_learner=${r(f.addLearner)} promote=${r(f.promote)}` +
      ` remove_voter=${r(f.removeVoter)} transfer=${r(f.transfer)} max_spawned=${f.maxSpawned}`,
    `client_interval_ms=${w.intervalMin}..${w.intervalMax} read=${r(w.read)} any_node=${r(w.anyNode)}`,
    `safety_ms=${o.safetyMs} liveness_bound_ms=${o.livenessMs} unsafe=${o.unsafe ?? 'none'}`,
  ]
}
