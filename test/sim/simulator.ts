/**
 * One scenario, start to finish, as a function of (seed, driver, unsafe knob):
 *
 * 1. Draw the options from the seed; fork the PRNG into named streams (options, cluster,
 *    network, disk, workload, faults) so each part draws independently.
 * 2. Build the driver's {@link Harness}: the cluster of its nodes and its clients (raft-harness.ts:
 *    bare RawNodes; member-harness.ts: the production member).
 * 3. Safety phase (`safetyMs` of virtual time): clients send requests, the nemesis injects
 *    faults, and the checker verifies every fact as it happens (see checker.ts).
 * 4. Liveness phase: stop the faults and clients, heal the network, restart every crashed
 *    member; within `livenessMs` the harness's convergence condition must hold (one leader, and
 *    every member of its configuration applied everything acknowledged; for members also equal
 *    MVCC state). Otherwise: a `liveness` violation.
 *
 * A throw from the code under test ends the run as an `exception` violation. The run stops at
 * the first violation. Nothing here reads a clock: same seed + same code = same run.
 *
 * Promises: the member's code is asynchronous (storage, reads, proposals). After each event the
 * loop waits for `setImmediate`, which runs only once the microtask queue is empty: every promise
 * continuation that the event set off has run before the next event. Nothing else runs in the
 * process meanwhile, so the interleaving is a function of the event order, i.e. of the seed.
 *
 * @module
 */
import { Checker, type Violation } from './checker.ts'
import type { Cluster } from './cluster.ts'
import { Faults } from './faults.ts'
import type { Harness, HarnessContext } from './harness.ts'
import { hashString, hex32, mix } from './hash.ts'
import { livenessBoundMs } from './liveness-bound.ts'
import { memberHarness } from './member-harness.ts'
import type { NodeMedium, NodeObserver, SimNode } from './node-port.ts'
import { drawOptions, type Driver, type ScenarioOptions, type UnsafeKnob } from './options.ts'
import { Prng } from './prng.ts'
import { raftHarness } from './raft-harness.ts'
import { Scheduler } from './scheduler.ts'

export interface RunOptions {
  /** Receives every trace line (time-stamped); tracing costs time, so it is off by default. */
  readonly trace?: (line: string) => void
  readonly unsafe?: UnsafeKnob | null
  /** Default: raft. */
  readonly driver?: Driver
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
  /** The liveness bound it had to converge within (liveness-bound.ts), or null without a liveness phase. */
  readonly livenessBoundMs: number | null
  /** Digest of the final state of every node and of every count: equal runs, equal digests. */
  readonly digest: string
}

/** The options scenario `seed` runs with (what vopr.ts prints before running it). */
export function scenarioOptions(
  seed: number,
  unsafe: UnsafeKnob | null = null,
  driver: Driver = 'raft',
): ScenarioOptions {
  return drawOptions(seed, new Prng(seed).fork('options'), unsafe, driver)
}

export async function runScenario(seed: number, run: RunOptions = {}): Promise<ScenarioResult> {
  const root = new Prng(seed)
  const options = scenarioOptions(seed, run.unsafe ?? null, run.driver ?? 'raft')
  const scheduler = new Scheduler()
  const checker = new Checker(seed, () => scheduler.now)
  const trace = run.trace

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
    applied: (id, entry, hash) => checker.applied(id, entry, hash),
    installed: (id, index, hash) => checker.installed(id, index, hash),
    confChanged: (id, cc) => {
      if (trace) trace(`t=${scheduler.now} n${id} applies ${cc.type} n${cc.nodeId}`)
    },
    readState: (id, rs) => checker.readState(id, rs),
    trace: trace ? (line) => trace(`t=${scheduler.now} ${line()}`) : () => {},
  }
  const context: HarnessContext = { root, options, scheduler, checker, observer }
  const harness = options.driver === 'member' ? await memberHarness(context) : raftHarness(context)
  const { cluster, settle } = harness
  const faults = new Faults(root.fork('faults'), options.faults, cluster)
  /** Runs events due by `limit` until `done()` or a violation. */
  const runUntil = async (limit: number, done: () => boolean): Promise<void> => {
    if (settle !== null) await settle()
    while (!done() && checker.violations.length === 0 && scheduler.step(limit) !== null)
      if (settle !== null) await settle()
  }

  let convergedAfterMs: number | null = null
  let bound: number | null = null
  try {
    cluster.start()
    harness.startClients(options.safetyMs)
    faults.run(scheduler, options.safetyMs)
    await runUntil(options.safetyMs, () => false)

    if (checker.violations.length === 0) {
      trace?.(`t=${scheduler.now} liveness phase: heal, restart, no more faults`)
      const start = scheduler.now
      harness.calm()
      cluster.network.calm()
      cluster.network.heal()
      for (const id of cluster.downIds()) cluster.restart(id)
      bound = livenessBoundMs(options, cluster.statuses())
      const deadline = start + bound
      const required = harness.required()
      const poll = (): void => {
        if (harness.converged(required)) convergedAfterMs = scheduler.now - start
        else scheduler.after(options.cluster.tickMs, 'liveness', poll)
      }
      scheduler.after(options.cluster.tickMs, 'liveness', poll)
      await runUntil(deadline, () => convergedAfterMs !== null)
      if (convergedAfterMs === null && checker.violations.length === 0)
        checker.report('liveness', cluster.upIds(), `not converged ${bound} ms after healing: ${
          harness.describe(required)}`)
    }
  } catch (e) {
    checker.report('exception', [], e instanceof Error ? (e.stack ?? e.message) : String(e))
  }

  const counts = flatCounts(cluster, faults, harness)
  const digest = digestOf(cluster, counts, checker.violations)
  harness.dispose()
  return {
    options,
    violations: checker.violations,
    counts,
    events: scheduler.ran,
    virtualMs: scheduler.now,
    convergedAfterMs,
    livenessBoundMs: bound,
    digest,
  }
}

function flatCounts(cluster: Cluster<SimNode, NodeMedium>, faults: Faults, harness: Harness): Record<string, number> {
  const out: Record<string, number> = {}
  const add = (group: string, rec: object): void => {
    for (const [k, v] of Object.entries(rec)) {
      if (typeof v === 'number') out[`${group}.${k}`] = v
      else add(`${group}.${k}`, v as object)
    }
  }
  const { disk, client, node } = harness.counts()
  add('net', cluster.network.counts)
  add('disk', disk)
  add('cluster', cluster.counts)
  add('faults', faults.counts)
  add('client', client)
  if (node !== undefined) add('node', node)
  return out
}

function digestOf(
  cluster: Cluster<SimNode, NodeMedium>,
  counts: Record<string, number>,
  violations: readonly Violation[],
): string {
  let h = 0
  for (const s of cluster.statuses()) for (const n of [s.id, s.term, s.commit, s.applied]) h = mix(h, n)
  for (const [k, v] of Object.entries(counts)) h = mix(hashString(k, h), v)
  for (const v of violations) h = hashString(`${v.rule}@${v.time}`, h)
  return hex32(h)
}
