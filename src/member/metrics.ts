/**
 * The member's Prometheus metrics (prom-client), named after etcd's where a counterpart exists so
 * existing dashboards and alerts mostly work: proposals committed / applied / failed / pending,
 * leader changes, has-leader / is-leader, WAL fsync and backend commit durations, db size (total,
 * in use, quota), keys, revisions, watchers, bytes, failed sends and round trip times to each
 * peer, server id and versions, request latency, etcd's gRPC server counters
 * (`grpc_server_started_total`, `grpc_server_handled_total`: every API call, over JSON or gRPC,
 * counts as its gRPC method, as etcd's JSON gateway calls its own gRPC server), and prom-client's
 * process and Node.js metrics (CPU, resident memory, open files, event-loop delay, GC), as etcd exports
 * Go's. Values read from the store are read at scrape time, never on a request's path.
 * (prom-client restarts its event-loop-delay histogram at every scrape, so `nodejs_eventloop_lag_*`
 * cover the time since the previous scrape by anyone, the dashboard's included.)
 *
 * @module
 */
import { collectDefaultMetrics, Counter, exponentialBuckets, Gauge, Histogram, Registry } from 'prom-client'
import { ENDPOINTS, GRPC_METHODS } from '../api/index.ts'
import { GrpcCode } from '../mvcc/index.ts'
import type { PeerStats } from '../mesh/index.ts'
import type { ActorEvents, MemberActor } from './actor.ts'
import type { Member } from './member.ts'
import type { ReportedVersions } from './member-context.ts'

export class MemberMetrics {
  readonly registry = new Registry()
  readonly #leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'Leader changes seen.', registers: [this.registry] })
  readonly #applied = new Counter({ name: 'etcd_server_proposals_applied_total', help: 'Entries applied.', registers: [this.registry] })
  readonly #failed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'Proposals that failed or timed out.', registers: [this.registry] })
  readonly fsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'Latency of the journal fsyncs.',
    buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024],
    registers: [this.registry],
  })
  /** etcd's buckets: 1 ms to 8.192 s, doubling. */
  readonly #backendCommit = new Histogram({
    name: 'etcd_disk_backend_commit_duration_seconds',
    help: 'Latency of the database transactions that apply committed entries.',
    buckets: exponentialBuckets(0.001, 2, 14),
    registers: [this.registry],
  })
  /** etcd's buckets: 0.1 ms to 3.2768 s, doubling. */
  readonly #peerRoundTrip = new Histogram({
    name: 'etcd_network_peer_round_trip_time_seconds',
    help: 'Round trip times to each peer (WebSocket pings on the peer connection).',
    labelNames: ['To'],
    buckets: exponentialBuckets(0.0001, 2, 16),
    registers: [this.registry],
  })
  readonly requests = new Histogram({
    name: 'edgecd_http_request_duration_seconds',
    help: 'Client request latency by endpoint.',
    labelNames: ['path', 'code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })

  readonly #started = new Counter({
    name: 'grpc_server_started_total',
    help: 'API calls started, by gRPC method.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
    registers: [this.registry],
  })
  readonly #handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'API calls finished, by gRPC method and status code.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
    registers: [this.registry],
  })
  /** The counters' children by endpoint path (and code): found once, not per call. */
  readonly #startedBy = new Map<string, Counter.Internal>()
  readonly #handledBy = new Map<string, Counter.Internal>()
  /** `requests` by path and status: prom-client hashes a label object on every observe, a child once. */
  readonly #requestsBy = new Map<string, Histogram.Internal<'path' | 'code'>>()

  /** Gauges read from the member (null until it has opened) at scrape time. */
  constructor(member: () => Member | null, versions: ReportedVersions) {
    const actor = (): MemberActor | null => member()?.actor ?? null
    collectDefaultMetrics({ register: this.registry })
    // As etcd's gRPC server: every method of its own services is listed from the start, at 0,
    // with each code, so that rate() sees a method's first call and its first failure.
    for (const [path, call] of CALLS) {
      if (!call.grpc_service.startsWith('etcdserverpb.')) continue
      this.#startedOf(path, call).inc(0)
      for (const code of Object.values(GrpcCode)) this.#handledOf(path, call, code).inc(0)
    }
    const constant = (name: string, help: string, label: string, value: string): void => {
      new Gauge({ name, help, labelNames: [label], registers: [this.registry] }).set({ [label]: value }, 1)
    }
    constant('etcd_server_version', 'The server version this member answers as.', 'server_version', versions.server)
    constant('etcd_cluster_version', 'The cluster version.', 'cluster_version', versions.cluster.split('.').slice(0, 2).join('.'))
    new Gauge({
      name: 'etcd_server_id',
      help: 'This member\'s ID (hex), as a label.',
      labelNames: ['server_id'],
      registers: [this.registry],
      collect() {
        const a = actor()
        this.reset()
        if (a !== null) this.set({ server_id: a.config.id.toString(16) }, 1)
      },
    })
    const gauge = (name: string, help: string, read: (a: MemberActor) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const a = actor()
          if (a !== null) this.set(read(a))
        },
      })
    }
    // Per peer, from the mesh's counters (etcd labels them with the peer's hex ID).
    const perPeer = (name: string, help: string, label: 'To' | 'From', read: (p: Readonly<PeerStats>) => number): void => {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [this.registry],
        collect() {
          const m = member()
          this.reset()
          if (m !== null) for (const [id, p] of m.mesh.stats().peers) this.inc({ [label]: id.toString(16) }, read(p))
        },
      })
    }
    perPeer('etcd_network_peer_sent_bytes_total', 'Bytes sent to each peer.', 'To', (p) => p.bytesSent)
    perPeer('etcd_network_peer_received_bytes_total', 'Bytes received from each peer.', 'From', (p) => p.bytesReceived)
    perPeer('etcd_network_peer_sent_failures_total', 'Messages to each peer that could not be sent.', 'To', (p) => p.messagesDropped)
    gauge('etcd_server_has_leader', 'Whether a leader exists (1) or not (0).', (a) => (a.leader !== 0 ? 1 : 0))
    gauge('etcd_server_is_leader', 'Whether this member is the leader.', (a) => (a.isLeader ? 1 : 0))
    gauge('etcd_server_proposals_committed_total', 'The commit index.', (a) => a.status().commit)
    gauge('etcd_server_proposals_pending', 'Proposals waiting to be applied here.', (a) => a.pendingProposals)
    gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Bytes of the database in use.', (a) => a.store.spaceUsed())
    gauge('etcd_mvcc_db_total_size_in_bytes', 'Bytes of the database file, free pages included.', (a) => a.store.fileSize())
    gauge('etcd_debugging_mvcc_db_total_size_in_bytes', 'Bytes of the database file (etcd 3.4\'s older name).', (a) => a.store.fileSize())
    gauge('etcd_server_quota_backend_bytes', 'The database size past which writes are refused.', (a) => a.store.quotaBytes)
    gauge('etcd_debugging_mvcc_keys_total', 'Live keys.', (a) => a.store.keyCount())
    gauge('etcd_debugging_mvcc_current_revision', 'The store revision.', (a) => a.store.currentRevision())
    gauge('etcd_debugging_mvcc_compact_revision', 'The compacted revision.', (a) => a.store.compactRevision())
    gauge('etcd_debugging_mvcc_watcher_total', 'Watchers on this member.', (a) => {
      const c = a.hub.counts()
      return c.synced + c.unsynced + c.victims
    })
    gauge('etcd_debugging_mvcc_slow_watcher_total', 'Watchers behind the store.', (a) => {
      const c = a.hub.counts()
      return c.unsynced + c.victims
    })
  }

  /**
   * The app's request hook (app.ts RequestHook): latency by endpoint and HTTP status; a unary
   * call (or a refused stream) counts as started and handled, a stream that began as started only
   * until {@link streamEnded}; a request that is not a call (code null) only in the latency.
   */
  readonly observeRequest = (path: string, status: number, ms: number, code: GrpcCode | null): void => {
    this.#requestsOf(path, status).observe(ms / 1000)
    const call = CALLS.get(path)
    if (call === undefined || code === null) return
    this.#startedOf(path, call).inc()
    if (call.grpc_type === 'unary' || status !== 200) this.#handledOf(path, call, code).inc()
  }

  /** The mesh's hook: one measured round trip to `peer`. */
  readonly peerRoundTrip = (peer: number, seconds: number): void => {
    this.#peerRoundTrip.observe({ To: peer.toString(16) }, seconds)
  }

  /** The app's hook for a response stream that ended: OK at its end, Canceled if the client left. */
  readonly streamEnded = (path: string, code: GrpcCode): void => {
    const call = CALLS.get(path)
    if (call !== undefined) this.#handledOf(path, call, code).inc()
  }

  #startedOf(path: string, call: CallLabels): Counter.Internal {
    let c = this.#startedBy.get(path)
    if (c === undefined) this.#startedBy.set(path, (c = this.#started.labels(call)))
    return c
  }

  #requestsOf(path: string, status: number): Histogram.Internal<'path' | 'code'> {
    const key = `${path} ${status}`
    let h = this.#requestsBy.get(key)
    if (h === undefined) this.#requestsBy.set(key, (h = this.requests.labels({ path, code: String(status) })))
    return h
  }

  #handledOf(path: string, call: CallLabels, code: GrpcCode): Counter.Internal {
    const key = `${path} ${code}`
    let c = this.#handledBy.get(key)
    if (c === undefined) this.#handledBy.set(key, (c = this.#handled.labels({ ...call, grpc_code: CODE_NAMES[code] })))
    return c
  }

  /** Hooks for the actor. */
  events(): ActorEvents {
    return {
      onLeaderChange: () => this.#leaderChanges.inc(),
      onApplied: (n) => this.#applied.inc(n),
      onProposalFailed: () => this.#failed.inc(),
      onBackendCommit: () => this.#backendCommit.startTimer(),
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

interface CallLabels {
  readonly grpc_type: string
  readonly grpc_service: string
  readonly grpc_method: string
}

const GRPC_TYPES = { unary: 'unary', server: 'server_stream', bidi: 'bidi_stream' } as const

/** Each endpoint's gRPC labels, by its path. */
const CALLS: ReadonlyMap<string, CallLabels> = new Map(
  ENDPOINTS.flatMap((ep) => {
    const method = GRPC_METHODS[ep.name]
    if (method === undefined) return []
    const [service, name] = method.split('/') as [string, string]
    return [[ep.path, { grpc_type: GRPC_TYPES[ep.stream], grpc_service: service, grpc_method: name }] as const]
  }),
)

/** gRPC's names of its codes (`OK`, `NotFound`…), by number. */
const CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(GrpcCode).map(([name, n]) => [n, name]))
