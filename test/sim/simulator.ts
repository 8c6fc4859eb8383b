/**
 * One scenario, start to finish, as a function of (seed, unsafe knob):
 *
 * 1. Draw the options from the seed; fork the PRNG into named streams (options, cluster,
 *    network, disk, workload, faults) so each part draws independently.
 * 2. Safety phase (`safetyMs` of virtual time): clients send requests, the nemesis injects
 *    faults, and the checker verifies every fact as it happens (see checker.ts).
 * 3. Liveness phase: stop the faults and clients, heal the network, restart every crashed
 *    member; within `livenessMs` there must be exactly one leader and every member of its
 *    configuration must have applied every acknowledged proposal. Otherwise: a `liveness`
 *    violation.
 *
 * A throw from the code under test ends the run as an `exception` violation. The run stops at
 * the first violation. Nothing here reads a clock: same seed + same code = same run.
 *
 * @module
 */
import type { NodeId } from '../../src/raft/types.ts'
import { Checker, type Violation } from './checker.ts'
import { Cluster } from './cluster.ts'
import { Faults } from './faults.ts'
import { hashString, hex32, mix } from './hash.ts'
import type { NodeObserver } from './node-port.ts'
import { drawOptions, type ScenarioOptions, type UnsafeKnob } from './options.ts'
import { Prng } from './prng.ts'
import { RaftNode } from './raft-node.ts'
import { Scheduler } from './scheduler.ts'
import { Workload } from './workload.ts'

export interface RunOptions {
  /** Receives every trace line (time-stamped); tracing costs time, so it is off by default. */
  readonly trace?: (line: string) => void
  readonly unsafe?: UnsafeKnob | null
}

export interface ScenarioResult {
  readonly options: ScenarioOptions
  readonly violations: readonly Violation[]
  /** How often each fault and event kind occurred, flat `group.kind` keys. */
  readonly counts: Readonly<Record<string, number>>
  readonly events: number
  readonly virtualMs: number
  /** Virtual ms from the start of the liveness phase to convergence, or null. */
  readonly convergedAfterMs: number | null
  /** Digest of the final state of every node and of every count: equal runs, equal digests. */
  readonly digest: string
}

/** The options scenario `seed` runs with (what vopr.ts prints before running it). */
export function scenarioOptions(seed: number, unsafe: UnsafeKnob | null = null): ScenarioOptions {
  return drawOptions(seed, new Prng(seed).fork('options'), unsafe)
}

export function runScenario(seed: number, run: RunOptions = {}): ScenarioResult {
  const root = new Prng(seed)
  const options = scenarioOptions(seed, run.unsafe ?? null)
  const scheduler = new Scheduler()
  const checker = new Checker(seed, () => scheduler.now)
  const trace = run.trace
  let workload: Workload | null = null

  const observer: NodeObserver = {
    recovered: (id, image) => checker.recovered(id, image),
    logAppended: (id, entries) => checker.logAppended(id, entries),
    logSnapshot: (id, index, term) => checker.logSnapshot(id, index, term),
    logInSync: (id) => checker.logInSync(id),
    leader: (id, term) => {
      if (trace) trace(`t=${scheduler.now} n${id} leads term ${term}`)
      checker.leader(id, term)
    },
    committed: (id, commit) => checker.committed(id, commit),
    applied: (id, entry, hash) => {
      checker.applied(id, entry, hash)
      workload?.applied(id, entry)
    },
    installed: (id, index, hash) => checker.installed(id, index, hash),
    confChanged: (id, cc) => {
      if (trace) trace(`t=${scheduler.now} n${id} applies ${cc.type} n${cc.nodeId}`)
    },
    readState: (id, rs) => {
      checker.readState(id, rs)
      workload?.readState(id, rs)
    },
    trace: trace ? (line) => trace(`t=${scheduler.now} ${line()}`) : () => {},
  }

  const cluster = new Cluster(
    { cluster: root.fork('cluster'), network: root.fork('network'), disk: root.fork('disk') },
    options.cluster,
    scheduler,
    (host, disk, prng) =>
      new RaftNode(host, disk, prng, {
        tuning: options.tuning,
        preVote: options.preVote,
        checkQuorum: options.checkQuorum,
        electionTick: options.electionTick,
        compactEvery: options.compactEvery,
        passApplied: prng.ratio(options.passApplied),
        ...(options.unsafe ? { unsafe: { [options.unsafe]: true } } : {}),
      }),
    observer,
    (id) => workload?.crashed(id),
  )
  workload = new Workload(root.fork('workload'), options.workload, cluster, (key) => checker.readIssued(key))
  const faults = new Faults(root.fork('faults'), options.faults, cluster)

  let convergedAfterMs: number | null = null
  try {
    cluster.start()
    workload.run(scheduler, options.safetyMs)
    faults.run(scheduler, options.safetyMs)
    while (checker.violations.length === 0 && scheduler.step(options.safetyMs) !== null);

    if (checker.violations.length === 0) {
      trace?.(`t=${scheduler.now} liveness phase: heal, restart, no more faults`)
      const start = scheduler.now
      const deadline = start + options.livenessMs
      cluster.network.calm()
      cluster.network.heal()
      for (const id of cluster.downIds()) cluster.restart(id)
      const required = workload.ackedIndex
      const poll = (): void => {
        if (converged(cluster, required)) convergedAfterMs = scheduler.now - start
        else scheduler.after(options.cluster.tickMs, 'liveness', poll)
      }
      scheduler.after(options.cluster.tickMs, 'liveness', poll)
      while (convergedAfterMs === null && checker.violations.length === 0 && scheduler.step(deadline) !== null);
      if (convergedAfterMs === null && checker.violations.length === 0)
        checker.report('liveness', cluster.upIds(), `not converged ${options.livenessMs} ms after healing: ${
          stateOf(cluster, required)}`)
    }
  } catch (e) {
    checker.report('exception', [], e instanceof Error ? (e.stack ?? e.message) : String(e))
  }

  const counts = flatCounts(cluster, workload, faults)
  return {
    options,
    violations: checker.violations,
    counts,
    events: scheduler.ran,
    virtualMs: scheduler.now,
    convergedAfterMs,
    digest: digestOf(cluster, counts, checker.violations),
  }
}

/** One leader, and every member of its configuration up and applied through `required`. */
function converged(cluster: Cluster, required: number): boolean {
  const all = cluster.statuses()
  const leaders = all.filter((s) => s.role === 'leader')
  if (leaders.length !== 1) return false
  const leader = leaders[0] as (typeof all)[number]
  const members: NodeId[] = [...leader.confState.voters, ...leader.confState.learners]
  return members.every((id) => all.some((s) => s.id === id && s.applied >= required))
}

function stateOf(cluster: Cluster, required: number): string {
  const nodes = cluster.statuses().map((s) => {
    const conf = `v[${s.confState.voters}]/l[${s.confState.learners}]`
    return `n${s.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/${conf}`
  })
  return `required applied ${required}; down [${cluster.downIds()}]; ${nodes.join(' ')}`
}

function flatCounts(cluster: Cluster, workload: Workload, faults: Faults): Record<string, number> {
  const out: Record<string, number> = {}
  const add = (group: string, rec: object): void => {
    for (const [k, v] of Object.entries(rec)) {
      if (typeof v === 'number') out[`${group}.${k}`] = v
      else add(`${group}.${k}`, v as object)
    }
  }
  add('net', cluster.network.counts)
  add('disk', cluster.diskCounts)
  add('cluster', cluster.counts)
  add('faults', faults.counts)
  add('client', workload.counts)
  return out
}

function digestOf(cluster: Cluster, counts: Record<string, number>, violations: readonly Violation[]): string {
  let h = 0
  for (const s of cluster.statuses()) for (const n of [s.id, s.term, s.commit, s.applied]) h = mix(h, n)
  for (const [k, v] of Object.entries(counts)) h = mix(hashString(k, h), v)
  for (const v of violations) h = hashString(`${v.rule}@${v.time}`, h)
  return hex32(h)
}
