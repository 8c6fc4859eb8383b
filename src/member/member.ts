/**
 * Composes one member from its configuration and ports: resolves its identity, opens (and on a
 * new cluster bootstraps) its storage, builds the actor and its duties, and ticks them. The Node
 * entry point and the simulator both build members through {@link openMember}; only the ports
 * differ.
 *
 * Bootstrap of a new cluster: every founding member writes the same founding membership as a
 * snapshot at index 1 (term 1, committed) and checkpoints it, so the founding members agree from
 * the start and a member added later receives the membership with its first snapshot.
 *
 * @module
 */
import type { SqlJsStatic } from 'sql.js'
import { type ConfState, type RandomInt } from '../raft/index.ts'
import { MvccStore, type StoreConfig } from '../mvcc/index.ts'
import { MemberStorage, type Disk, type StorageOptions } from '../storage/index.ts'
import type { Mesh } from '../mesh/index.ts'
import { MemberActor, type ActorEvents } from './actor.ts'
import { every, type Cancel, type Clock } from './clock.ts'
import { ClusterTable } from './cluster-table.ts'
import type { MemberConfig } from './config.ts'
import { Duties } from './duties.ts'
import { resolveIdentity, type FetchMembers, type Identity } from './identity-file.ts'
import { memberIdFor } from './identity.ts'
import type { Logger } from './logger.ts'

const EMPTY = new Uint8Array(0)

export interface MemberPorts {
  readonly clock: Clock
  readonly rand: RandomInt
  readonly disk: Disk
  readonly sql: SqlJsStatic
  readonly log: Logger
  /** Builds the mesh once the member knows its ID. */
  readonly mesh: (identity: Identity) => Mesh
  /** Asks running members for the member list (joining an existing cluster). */
  readonly fetchMembers: FetchMembers
}

export interface MemberTuning {
  readonly storage?: StorageOptions
  readonly store?: StoreConfig
  readonly requestTimeoutMs?: number
}

export class Member {
  readonly actor: MemberActor
  readonly duties: Duties
  readonly identity: Identity
  readonly mesh: Mesh
  readonly #storage: MemberStorage
  readonly #clock: Clock
  #ticker: Cancel | null = null

  constructor(actor: MemberActor, duties: Duties, identity: Identity, mesh: Mesh, storage: MemberStorage, clock: Clock) {
    this.actor = actor
    this.duties = duties
    this.identity = identity
    this.mesh = mesh
    this.#storage = storage
    this.#clock = clock
  }

  /** The member's storage, for reading only (the simulator inspects what recovery found). */
  get storage(): MemberStorage {
    return this.#storage
  }

  /** Starts ticking. */
  start(): void {
    this.#ticker ??= every(this.#clock, this.actor.config.tickMs, () => {
      this.actor.tick()
      this.duties.run()
    })
  }

  /** Stops ticking, fails pending requests, closes the mesh and releases the data dir. */
  async stop(): Promise<void> {
    this.#ticker?.()
    this.#ticker = null
    this.actor.stop()
    await this.mesh.close()
    await this.#storage.close()
  }
}

/** The founding members of a new cluster, from `--initial-cluster`. */
export function foundingMembers(config: MemberConfig): Array<{ id: number; name: string; peerUrls: readonly string[] }> {
  return [...config.initialCluster].map(([name, peerUrls]) => ({
    id: memberIdFor(peerUrls, config.initialClusterToken),
    name,
    peerUrls,
  }))
}

async function bootstrap(storage: MemberStorage, config: MemberConfig, store: StoreConfig): Promise<void> {
  const founders = foundingMembers(config)
  const confState: ConfState = { voters: founders.map((f) => f.id).sort((a, b) => a - b), learners: [] }
  const mvcc = new MvccStore(storage.db, store)
  mvcc.apply(1, EMPTY)
  mvcc.close()
  const cluster = new ClusterTable(storage.db)
  for (const f of founders) cluster.upsert({ id: f.id, name: f.name, peerUrls: f.peerUrls, isLearner: false })
  const log = storage.raftLog
  log.applySnapshot({ index: 1, term: 1, confState })
  log.setHardState({ term: 1, vote: 0, commit: 1 })
  await storage.checkpoint(1, confState)
}

/**
 * A member joining an existing cluster knows no peers until the leader's first snapshot brings the
 * replicated member list, yet its mesh only talks to (and accepts) members of its table: seed the
 * table with the running members' list. The snapshot then replaces it (it replaces the database).
 */
async function seedMembers(storage: MemberStorage, config: MemberConfig, fetchMembers: FetchMembers): Promise<void> {
  const others = [...config.initialCluster].filter(([name]) => name !== config.name).flatMap(([, urls]) => urls)
  const { members } = await fetchMembers(others)
  const cluster = new ClusterTable(storage.db)
  for (const m of members) cluster.upsert(m)
}

/**
 * How early this member's first checkpoint comes: the members of --initial-cluster, in name order,
 * spread evenly over one --snapshot-count period, so that no two of them export their database at
 * the same index (each export stalls its member; while one follower stalls, the other carries the
 * quorum).
 */
export function checkpointStagger(config: Pick<MemberConfig, 'name' | 'initialCluster' | 'snapshotCount'>): number {
  const names = [...config.initialCluster.keys()].sort()
  return Math.floor((Math.max(0, names.indexOf(config.name)) * config.snapshotCount) / names.length)
}

export async function openMember(
  config: MemberConfig,
  ports: MemberPorts,
  tuning: MemberTuning = {},
  events: ActorEvents = {},
): Promise<Member> {
  const identity = await resolveIdentity(ports.disk, config, ports.fetchMembers)
  const storage = await MemberStorage.open(
    ports.disk,
    config.dataDir,
    { clusterId: config.initialClusterToken, memberId: identity.memberId },
    ports.sql,
    {
      checkpointEntries: config.snapshotCount,
      checkpointStagger: checkpointStagger(config),
      ...tuning.storage,
    },
  )
  const store: StoreConfig = { quotaBytes: config.quotaBackendBytes, maxTxnOps: config.maxTxnOps, ...tuning.store }
  const fresh = storage.checkpointIndex === 0 && storage.raftLog.lastIndex() === 0
  if (fresh && config.initialClusterState === 'new') await bootstrap(storage, config, store)
  else if (fresh) await seedMembers(storage, config, ports.fetchMembers)
  ports.log.info(
    { memberId: identity.memberId, clusterId: identity.clusterId, recovery: storage.recovery, fresh },
    fresh ? 'starting a new member' : 'recovered member state',
  )
  const mesh = ports.mesh(identity)
  const electionTicks = Math.round(config.electionTimeout / config.heartbeatInterval)
  const actor = new MemberActor(
    {
      id: identity.memberId,
      clusterId: identity.clusterId,
      name: config.name,
      clientUrls: config.advertiseClientUrls,
      tickMs: config.heartbeatInterval,
      electionTicks,
      requestTimeoutMs: tuning.requestTimeoutMs ?? 5000 + 2 * config.electionTimeout,
      store,
      watchSyncEvents: 1000,
    },
    { clock: ports.clock, rand: ports.rand, storage, mesh, log: ports.log },
    events,
  )
  const duties = new Duties(actor, {
    autoCompactionMode: config.autoCompactionMode,
    autoCompactionRetention: config.autoCompactionRetention,
    autoPromote: config.autoPromote,
    progressNotifyMs: config.watchProgressNotifyMs,
    maxRevokesPerTick: 100,
    fetchMembers: ports.fetchMembers,
  })
  return new Member(actor, duties, identity, mesh, storage, ports.clock)
}
