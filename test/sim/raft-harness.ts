/**
 * The raft driver's harness: RaftNodes over SimDisks (raft-node.ts) and the Raft clients
 * (workload.ts), which propose opaque payloads and ask for ReadIndex. Everything is synchronous,
 * so the loop needs no settling. Converged: one leader, and every member of its configuration has
 * applied every acknowledged proposal.
 *
 * @module
 */
import { Cluster } from './cluster.ts'
import { describeCluster, leaderConfiguration, type Harness, type HarnessContext } from './harness.ts'
import { isRaftKnob } from './options.ts'
import { raftDriver } from './raft-node.ts'
import { newDiskCounts } from './sim-disk.ts'
import { Workload } from './workload.ts'

export function raftHarness(context: HarnessContext): Harness {
  const { root, options, scheduler, checker, observer } = context
  const diskCounts = newDiskCounts()
  const knob = options.unsafe !== null && isRaftKnob(options.unsafe) ? options.unsafe : null
  let workload: Workload | null = null
  const cluster = new Cluster(
    { cluster: root.fork('cluster'), network: root.fork('network'), disk: root.fork('disk') },
    options.cluster,
    scheduler,
    raftDriver(options.disk, scheduler, diskCounts, (prng) => ({
      tuning: options.tuning,
      preVote: options.preVote,
      checkQuorum: options.checkQuorum,
      electionTick: options.electionTick,
      compactEvery: options.compactEvery,
      passApplied: prng.ratio(options.passApplied),
      ...(knob ? { unsafe: { [knob]: true } } : {}),
    })),
    {
      ...observer,
      applied: (id, entry, hash) => {
        observer.applied(id, entry, hash)
        workload?.applied(id, entry)
      },
      readState: (id, rs) => {
        observer.readState(id, rs)
        workload?.readState(id, rs)
      },
    },
    (id) => workload?.crashed(id),
  )
  const readIssued = (key: string): void => checker.readIssued(key)
  const clients = new Workload(root.fork('workload'), options.workload, cluster, readIssued)
  workload = clients
  return {
    cluster,
    startClients: (until) => clients.run(scheduler, until),
    settle: null,
    calm: () => undefined,
    required: () => clients.ackedIndex,
    converged: (required) => {
      const members = leaderConfiguration(cluster)
      const all = cluster.statuses()
      return members !== null && members.every((id) => all.some((s) => s.id === id && s.applied >= required))
    },
    describe: (required) => describeCluster(cluster, required),
    dispose: () => undefined,
    counts: () => ({ disk: diskCounts, client: clients.counts }),
  }
}
