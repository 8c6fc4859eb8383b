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
 * Drivers: `raft` (bare RawNodes, the default) or `member` (the production member, see
 * member-node.ts). The member driver's own options ({@link MemberOptions}) are drawn from a
 * separate stream, so a seed draws the same common options under both drivers, except that the
 * member driver's network never duplicates (the Mesh port promises it); the Raft-only options
 * (pre_vote, check_quorum, flow control, pass_applied) do not apply to members, which run the
 * actor's Raft configuration.
 *
 * Units: all durations and latencies are virtual milliseconds; odds are integer ratios.
 *
 * @module
 */
import type { UnsafeKnobs } from '../../src/raft/types.ts'
import type { ClusterOptions } from './cluster.ts'
import type { FaultOptions } from './faults.ts'
import type { MemberWorkloadMix } from './member-workload.ts'
import { PARTITION_MODES } from './network.ts'
import type { RaftTuning } from './raft-node.ts'
import { Prng, formatRatio, formatSeed, type Ratio } from './prng.ts'
import type { DiskOptions } from './sim-disk.ts'
import type { WorkloadOptions } from './workload.ts'

export type Driver = 'raft' | 'member'

export const DRIVERS: readonly Driver[] = ['raft', 'member']

/** A deliberately broken Raft (raft driver). */
export type RaftUnsafeKnob = keyof UnsafeKnobs

/**
 * A deliberately broken member (member driver). `ackBeforeFsync`: the member's disk answers an
 * fsync at once and makes the data durable only after the drawn latency, so the member
 * acknowledges (votes, appends, answers clients) before its writes are durable.
 */
export type MemberUnsafeKnob = 'ackBeforeFsync'

export type UnsafeKnob = RaftUnsafeKnob | MemberUnsafeKnob

export const UNSAFE_KNOBS: readonly RaftUnsafeKnob[] = ['commitPreviousTermByCount', 'skipUpToDateCheck']

export const MEMBER_UNSAFE_KNOBS: readonly MemberUnsafeKnob[] = ['ackBeforeFsync']

export function isRaftKnob(knob: UnsafeKnob): knob is RaftUnsafeKnob {
  return (UNSAFE_KNOBS as readonly string[]).includes(knob)
}

/** The knobs `driver` understands. */
export function unsafeKnobs(driver: Driver): readonly UnsafeKnob[] {
  return driver === 'member' ? MEMBER_UNSAFE_KNOBS : UNSAFE_KNOBS
}

export type Profile = 'swarm' | 'storm'

/** What only the member driver uses. */
export interface MemberOptions {
  /** Odds that one append fails with ENOSPC (leaving a drawn prefix); the member must stop. */
  readonly writeError: Ratio
  /** Odds that one fsync or fsyncDir fails with EIO; the member must stop. */
  readonly fsyncError: Ratio
  /** Entries kept in the log behind a checkpoint; small values make leaders send snapshots. */
  readonly retainEntries: number
  /** Periodic auto-compaction retention (ms of history kept); 0 = off. */
  readonly autoCompactionMs: number
  readonly autoPromote: boolean
  /** How long a proposal or a read may wait before it times out. */
  readonly requestTimeoutMs: number
  readonly mix: MemberWorkloadMix
}

export interface ScenarioOptions {
  readonly seed: number
  readonly driver: Driver
  readonly profile: Profile
  readonly cluster: ClusterOptions
  readonly disk: DiskOptions
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
  /** Bound on convergence after healing, ms: 20 election timeouts (50 for members). */
  readonly livenessMs: number
  readonly unsafe: UnsafeKnob | null
  /** Null under the raft driver. */
  readonly member: MemberOptions | null
}

const NEVER: Ratio = { num: 0, den: 1 }

/** Odds num/den with num drawn in [lo, hi], or never in about a quarter of the scenarios. */
function odds(p: Prng, lo: number, hi: number, den: number): Ratio {
  return p.chance(1, 4) ? NEVER : { num: p.range(lo, hi), den }
}

/** The options of scenario `seed`: common ones from `p`, the member driver's from their own stream. */
export function drawOptions(seed: number, p: Prng, unsafe: UnsafeKnob | null, driver: Driver): ScenarioOptions {
  const o = drawCommon(seed, p, unsafe)
  if (driver === 'raft') return o
  return {
    ...o,
    driver,
    // The Mesh port promises no duplicates (a duplicated forwarded proposal is applied twice).
    cluster: { ...o.cluster, network: { ...o.cluster.network, duplicate: NEVER } },
    livenessMs: 50 * o.electionTick * o.cluster.tickMs,
    member: drawMember(new Prng(seed).fork('member-options')),
  }
}

function drawCommon(seed: number, p: Prng, unsafe: UnsafeKnob | null): ScenarioOptions {
  const storm = p.chance(1, 4) || unsafe !== null
  const o = drawSwarm(seed, p, unsafe)
  if (!storm) return o
  return {
    ...o,
    profile: 'storm',
    cluster: { ...o.cluster, nodeCount: 3 },
    disk: { ...o.disk, fsyncMin: 5, fsyncMax: 30 },
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
    driver: 'raft',
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
    },
    // Drawn right after the cluster's options: the order of draws is part of every seed's meaning.
    disk: { fsyncMin, fsyncMax: fsyncMin + p.range(0, 20), torn: odds(p, 1, 2, 2) },
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
    member: null,
  }
}

function drawMember(p: Prng): MemberOptions {
  // Storage faults in half of the scenarios; a member hit by one stops and is restarted.
  const faulty = p.chance(1, 2)
  return {
    writeError: faulty ? { num: p.range(0, 3), den: 2000 } : NEVER,
    fsyncError: faulty ? { num: p.range(1, 3), den: 2000 } : NEVER,
    retainEntries: p.pick([0, 5, 50, 5000]),
    autoCompactionMs: p.chance(1, 2) ? 0 : p.range(1000, 4000),
    autoPromote: p.chance(1, 4),
    requestTimeoutMs: p.range(300, 3000),
    mix: {
      put: p.range(2, 10),
      txn: p.range(0, 4),
      delete: p.range(0, 3),
      leaseGrant: p.range(0, 2),
      leasedPut: p.range(0, 3),
      leaseRevoke: p.range(0, 1),
      compaction: p.range(0, 1),
      read: p.range(0, 6),
    },
  }
}

/** One `name=value` per drawn option, in a fixed order (vopr.ts prints them). */
export function describeOptions(o: ScenarioOptions): string[] {
  const c = o.cluster
  const n = c.network
  const f = o.faults
  const w = o.workload
  const r = formatRatio
  const m = o.member
  const member =
    m === null
      ? []
      : [
          `member: write_error=${r(m.writeError)} fsync_error=${r(m.fsyncError)} retain_entries=${m.retainEntries}` +
            ` auto_compaction_ms=${m.autoCompactionMs} auto_promote=${m.autoPromote}` +
            ` request_timeout_ms=${m.requestTimeoutMs}`,
          `member_mix: ${Object.entries(m.mix).map(([k, v]) => `${k}=${v}`).join(' ')}`,
        ]
  return [
    `seed=${formatSeed(o.seed)} driver=${o.driver} profile=${o.profile}`,
    `nodes=${c.nodeCount} tick_ms=${c.tickMs} election_tick=${o.electionTick}` +
      ` pre_vote=${o.preVote} check_quorum=${o.checkQuorum}`,
    `max_size_per_msg=${o.tuning.maxSizePerMsg} max_inflight_msgs=${o.tuning.maxInflightMsgs}` +
      ` max_committed_size_per_ready=${o.tuning.maxCommittedSizePerReady}`,
    `compact_every=${o.compactEvery} pass_applied=${r(o.passApplied)}`,
    `net_delay_min_ms=${n.delayMin} net_delay_mean_ms=${n.delayMean} drop=${r(n.drop)}` +
      ` delay_spike=${r(n.delaySpike)} duplicate=${r(n.duplicate)} reorder=${r(n.reorder)}`,
    `fsync_ms=${o.disk.fsyncMin}..${o.disk.fsyncMax} torn_on_crash=${r(o.disk.torn)}`,
    `fault_interval_ms=${f.intervalMs} partition=${r(f.partition)} partition_mode=${f.partitionMode}` +
      ` symmetric=${r(f.symmetric)} heal=${r(f.heal)}`,
    `crash=${r(f.crash)} restart=${r(f.restart)} add_learner=${r(f.addLearner)} promote=${r(f.promote)}` +
      ` remove_voter=${r(f.removeVoter)} transfer=${r(f.transfer)} max_spawned=${f.maxSpawned}`,
    `client_interval_ms=${w.intervalMin}..${w.intervalMax} read=${r(w.read)} any_node=${r(w.anyNode)}`,
    `safety_ms=${o.safetyMs} liveness_base_ms=${o.livenessMs} unsafe=${o.unsafe ?? 'none'}`,
    ...member,
  ]
}
