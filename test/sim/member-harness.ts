/**
 * The member driver's harness: the production member (member-node.ts) in every slot, each on a
 * MemberHome (member-home.ts: its config and its MemoryDisk), and MVCC clients
 * (member-workload.ts). The code under test is asynchronous, so after each event the scenario
 * settles its promises (`setImmediate`: the microtask queue is empty by then).
 *
 * Configuration drawn per scenario: founding members n1..nN bootstrap a new cluster; members
 * added by the nemesis join an existing one (`initial-cluster-state existing`, their ID from a
 * running member's list). heartbeat = tick_ms, election timeout = election_tick ticks,
 * snapshot-count = compact_every, plus the member options (retain entries, auto-compaction,
 * auto-promote, request timeout, storage fault odds).
 *
 * Converged: exactly one leader; every member of its configuration is open and has applied the
 * same index, at least the highest index known committed when the liveness phase began. Then,
 * once, on that state:
 * - mvcc-hash: store.hash(), hashKv(current revision) and hashKv(compacted revision) are equal on
 *   all of them;
 * - acked-write-lost: MemberWorkload.verify on one of them (they are equal).
 *
 * @module
 */
import initSqlJs, { type SqlJsStatic } from 'sql.js'
import type { MemberConfig } from '../../src/member/index.ts'
import type { MvccStore } from '../../src/mvcc/index.ts'
import type { NodeId } from '../../src/raft/types.ts'
import { Cluster } from './cluster.ts'
import { describeCluster, leaderConfiguration, type Harness, type HarnessContext } from './harness.ts'
import { hex32 } from './hash.ts'
import { MemberHome, newMemberDiskCounts } from './member-home.ts'
import { MemberIds, MemberNode, SIM_TOKEN, clientUrl, newMemberNodeCounts, peerUrl } from './member-node.ts'
import { MemberWorkload } from './member-workload.ts'
import type { NodeDriver } from './node-port.ts'
import type { MemberOptions, ScenarioOptions } from './options.ts'

let sql: Promise<SqlJsStatic> | null = null

/** sql.js, loaded once per process (the only real I/O, done before any scenario runs). */
function loadSql(): Promise<SqlJsStatic> {
  sql ??= initSqlJs()
  return sql
}

/** The command line of slot `id`; `known` are the slots whose peer URLs it is started with. */
function memberConfig(
  id: NodeId,
  known: readonly NodeId[],
  founding: boolean,
  o: ScenarioOptions,
  m: MemberOptions,
): MemberConfig {
  return {
    name: `n${id}`,
    dataDir: `/data/n${id}`,
    listenClientUrls: [clientUrl(id)],
    listenPeerUrls: [peerUrl(id)],
    listenMetricsUrls: [],
    advertiseClientUrls: [clientUrl(id)],
    initialAdvertisePeerUrls: [peerUrl(id)],
    initialCluster: new Map(known.map((k) => [`n${k}`, [peerUrl(k)]])),
    initialClusterState: founding ? 'new' : 'existing',
    initialClusterToken: SIM_TOKEN,
    heartbeatInterval: o.cluster.tickMs,
    electionTimeout: o.electionTick * o.cluster.tickMs,
    snapshotCount: o.compactEvery,
    quotaBackendBytes: 2 * 1024 ** 3,
    maxRequestBytes: 1.5 * 1024 ** 2,
    maxTxnOps: 128,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: m.autoCompactionMs,
    autoPromote: m.autoPromote,
    logLevel: 'debug',
    logOutputs: ['stdout'],
    watchProgressNotifyMs: 10 * 60_000,
    bcryptCost: 4,
    ineffectiveFlags: [],
  }
}

/** What members at one applied index must agree on: the store hash, and hashKv at `revisions`. */
function stateDigest(store: MvccStore, revisions: readonly number[]): string {
  const kv = (r: number): string => {
    try {
      return hex32(store.hashKv(r).hash)
    } catch (err) {
      return (err as Error).message
    }
  }
  return [`hash=${hex32(store.hash())}`, ...revisions.map((r) => `hashKv(${r})=${kv(r)}`)].join(' ')
}

export async function memberHarness(context: HarnessContext): Promise<Harness> {
  const { root, options, scheduler, checker, observer } = context
  const m = options.member
  if (m === null) throw new Error('member harness without member options')
  const sqlJs = await loadSql()
  const ids = new MemberIds()
  const homes: MemberHome[] = []
  const diskCounts = newMemberDiskCounts()
  const nodeCounts = newMemberNodeCounts()
  const net = options.cluster.network
  let cluster: Cluster<MemberNode, MemberHome> | null = null
  const driver: NodeDriver<MemberNode, MemberHome> = {
    provision: (id, founders, prng) => {
      ids.member(id)
      const known = founders ?? Array.from({ length: id }, (_, i) => i + 1)
      const config = memberConfig(id, known, founders !== null, options, m)
      const home = new MemberHome(
        id,
        config,
        prng,
        {
          disk: options.disk,
          writeError: m.writeError,
          fsyncError: m.fsyncError,
          ackBeforeFsync: options.unsafe === 'ackBeforeFsync',
        },
        scheduler,
        diskCounts,
      )
      homes.push(home)
      return home
    },
    start: (host, home, prng) =>
      new MemberNode(host, home, prng, {
        sql: sqlJs,
        ids,
        tuning: { storage: { retainEntries: m.retainEntries }, requestTimeoutMs: m.requestTimeoutMs },
        peer: (id) => cluster?.node(id) ?? null,
        fetchMs: [2 * net.delayMin, 2 * net.delayMean],
        report: (rule, detail) => checker.report(rule, [host.id], detail),
        counts: nodeCounts,
      }),
  }
  const members = new Cluster(
    { cluster: root.fork('cluster'), network: root.fork('network'), disk: root.fork('disk') },
    options.cluster,
    scheduler,
    driver,
    observer,
    () => undefined,
  )
  cluster = members
  const workload = new MemberWorkload(
    root.fork('workload'),
    options.workload,
    m.mix,
    members,
    (rule, nodes, detail) => checker.report(rule, nodes, detail),
    observer.trace,
  )

  const converged = (required: number): boolean => {
    const conf = leaderConfiguration(members)
    if (conf === null) return false
    const actors = conf.map((id) => members.node(id)?.actor ?? null)
    if (actors.some((a) => a === null)) return false
    const stores = actors.map((a) => (a as NonNullable<typeof a>).store)
    const applied = stores.map((s) => s.appliedIndex())
    if (applied.some((a) => a < required || a !== applied[0])) return false
    const ref = stores[0] as MvccStore
    const compacted = ref.compactRevision()
    const revisions = compacted > 0 ? [ref.currentRevision(), compacted] : [ref.currentRevision()]
    const digests = stores.map((s) => stateDigest(s, revisions))
    if (digests.some((d) => d !== digests[0])) {
      const detail = conf.map((id, i) => `n${id}: ${digests[i]}`).join('; ')
      checker.report('mvcc-hash', conf, `different MVCC state at applied index ${applied[0]}: ${detail}`)
    }
    workload.verify(ref, conf)
    return true
  }

  return {
    cluster: members,
    startClients: (until) => workload.run(scheduler, until),
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    calm: () => {
      for (const h of homes) h.calm()
    },
    required: () => checker.maxCommitted,
    converged,
    describe: (required) => describeCluster(members, required),
    dispose: () => {
      for (const id of members.upIds()) members.node(id)?.stop()
    },
    counts: () => ({ disk: diskCounts, client: workload.counts, node: nodeCounts }),
  }
}
