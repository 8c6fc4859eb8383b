/**
 * A {@link SimNode} that is the production member: `openMember` (identity, storage recovery or
 * bootstrap, MemberActor, Duties, `Member.start()`), exactly as workers/member.ts composes it, with
 * the simulator's ports:
 *
 *   clock          now = virtual time; after(ms) = a scheduler event (cancelled when the
 *                  incarnation dies); the member ticks itself through it
 *   rand           the incarnation's PRNG stream (election jitter)
 *   disk           the slot's MemoryDisk, through MemberHome.connect (see member-home.ts)
 *   mesh           a SimMesh over the simulator's network (see sim-mesh.ts)
 *   sql            sql.js, loaded once per process; the incarnation's databases are closed when
 *                  it dies (sql.js memory is the process's, and would otherwise leak)
 *   log            silent; its lines become trace lines when tracing
 *   fetchMembers   asks a running member (one network round trip later) for its member list
 *
 * IDs: Raft inside a member uses member IDs (hashes of peer URLs, src/member/identity.ts); the
 * simulator and its checkers use small ids. Slot n has peer URL `http://n<n>.sim:2380`;
 * {@link MemberIds} maps both ways, and everything leaving this file (messages, statuses,
 * observer taps) carries simulator ids.
 *
 * Lifecycle of one incarnation: starting (openMember in flight: incoming messages are dropped, as
 * by a process not yet listening; status is an empty follower) → open → stopped. It ends on its
 * own (host.exit; the cluster restarts it) when a fatal error was caused by an injected disk
 * fault (ENOSPC, EIO), or when a joining member is not yet in the member list. Any other fatal
 * error or failed start (recovery refusing its own crashed disk, an apply that throws) is a
 * violation: `recovery` when it happened while opening, `exception` otherwise.
 *
 * Observer taps, fed from the actor's ActorEvents: recovered (the durable log found by recovery),
 * logSnapshot / logAppended / committed (onPersisted: what a Ready made durable; and before each
 * applied batch, whose entries the actor may apply before the commit index is persisted), applied (one per
 * entry, with a digest of the entry itself: the MVCC state is compared by hash at the end, see
 * member-harness.ts), confChanged, and leader (polled from Raft's status after every input).
 * Not fed: logInSync, readState and installed, so leader-completeness and Raft-level
 * read-linearizability are not checked here (reads are checked at the MVCC level by the member
 * workload), and snapshot installs are counted as `node.snapshotsInstalled`.
 *
 * @module
 */
import type { Database, SqlJsStatic } from 'sql.js'
import {
  openMember,
  memberIdFor,
  type Clock,
  type FetchMembers,
  type Logger,
  type Member,
  type MemberActor,
  type MemberTuning,
} from '../../src/member/index.ts'
import { decodeConfChange, describeReady } from '../../src/raft/index.ts'
import type { ConfChange, ConfState, Entry, Message, NodeId, ProposalResult, Ready } from '../../src/raft/types.ts'
import { DiskError } from '../../src/storage/index.ts'
import type { Rule } from './checker.ts'
import { hashBytes, mix } from './hash.ts'
import type { MemberHome } from './member-home.ts'
import type { NodeHost, NodeStatus, PeerProgress, SimNode } from './node-port.ts'
import type { Prng } from './prng.ts'
import type { Timer } from './scheduler.ts'
import { SimMesh, type IdMap } from './sim-mesh.ts'

/** The cluster token every simulated member is configured with. */
export const SIM_TOKEN = 'sim'

export function peerUrl(id: NodeId): string {
  return `http://n${id}.sim:2380`
}

export function clientUrl(id: NodeId): string {
  return `http://n${id}.sim:2379`
}

/** Member ID ↔ simulator id, for every slot provisioned so far (NONE = 0 maps to itself). */
export class MemberIds implements IdMap {
  readonly #toMember = new Map<NodeId, NodeId>()
  readonly #toSim = new Map<NodeId, NodeId>([[0, 0]])

  /** The member ID of slot `sim`; registers the pair. */
  member(sim: NodeId): NodeId {
    let id = this.#toMember.get(sim)
    if (id === undefined) {
      id = memberIdFor([peerUrl(sim)], SIM_TOKEN)
      this.#toMember.set(sim, id)
      this.#toSim.set(id, sim)
    }
    return id
  }

  sim(member: NodeId): NodeId {
    const id = this.#toSim.get(member)
    if (id === undefined) throw new Error(`member ID ${member} belongs to no simulated slot`)
    return id
  }

  conf(cs: ConfState): ConfState {
    return { voters: cs.voters.map((v) => this.sim(v)), learners: cs.learners.map((l) => this.sim(l)) }
  }
}

/** A joining member asked for the member list before it was added: it exits and retries later. */
class NotYetMember extends Error {
  constructor(detail: string) {
    super(`not yet a member: ${detail}`)
    this.name = 'NotYetMember'
  }
}

export interface MemberNodeCounts {
  /** Incarnations that ended on an injected ENOSPC or EIO. */
  storageFaultExits: number
  /** Starts of a joining member that found itself missing from the member list. */
  notYetMember: number
  snapshotsInstalled: number
  /** Messages that arrived while the member was still starting. */
  droppedWhileStarting: number
  confChangesFailed: number
  /** Entries of dropped forwarded proposals handed back to a live member (it proposes its own again). */
  unsentProposals: number
}

export function newMemberNodeCounts(): MemberNodeCounts {
  return {
    storageFaultExits: 0,
    notYetMember: 0,
    snapshotsInstalled: 0,
    droppedWhileStarting: 0,
    confChangesFailed: 0,
    unsentProposals: 0,
  }
}

export interface MemberNodeOptions {
  readonly sql: SqlJsStatic
  readonly ids: MemberIds
  readonly tuning: MemberTuning
  /** The running member in slot `id`, if any (what fetchMembers reaches). */
  readonly peer: (id: NodeId) => MemberNode | null
  /** Bounds of a fetchMembers round trip, ms. */
  readonly fetchMs: readonly [number, number]
  /** Reports a violation found inside this node. */
  readonly report: (rule: Rule, detail: string) => void
  readonly counts: MemberNodeCounts
}

const EMPTY_CONF: ConfState = { voters: [], learners: [] }
const EMPTY = new Uint8Array(0)

export class MemberNode implements SimNode {
  readonly id: NodeId
  readonly #host: NodeHost
  readonly #home: MemberHome
  readonly #prng: Prng
  readonly #options: MemberNodeOptions
  /** Every scheduled callback of this incarnation, cancelled when it dies. */
  readonly #timers = new Set<Timer>()
  /** Every sql.js database this incarnation opened (some closed already). */
  readonly #databases: Database[] = []
  #member: Member | null = null
  #mesh: SimMesh | null = null
  #stopped = false
  #leaderTerm = -1
  /** Index of the last entry this incarnation applied (or recovered, or installed). */
  #applied = 0

  constructor(host: NodeHost, home: MemberHome, prng: Prng, options: MemberNodeOptions) {
    this.id = host.id
    this.#host = host
    this.#home = home
    this.#prng = prng
    this.#options = options
    const clock: Clock = { now: () => host.now(), after: (ms, fn) => this.#after(ms, fn), defer: (fn) => void this.#after(0, fn) }
    openMember(
      home.config,
      {
        clock,
        rand: (n) => prng.int(n),
        disk: home.connect(),
        sql: tracking(options.sql, (db) => this.#databases.push(db)),
        log: this.#logger(),
        mesh: (identity) => (this.#mesh = new SimMesh(identity.memberId, host, options.ids)),
        fetchMembers: (urls) => this.#fetchMembers(urls),
      },
      options.tuning,
      {
        onPersisted: (rd) => this.#persisted(rd),
        onAppliedEntries: (entries) => this.#appliedEntries(entries),
        onFatal: (err) => this.#fatal(err, 'exception'),
      },
    )
      .then((member) => this.#opened(member))
      .catch((err: unknown) => this.#fatal(err, 'recovery'))
  }

  /** The running actor, or null while starting (and after stop). */
  get actor(): MemberActor | null {
    return this.#stopped ? null : (this.#member?.actor ?? null)
  }

  receive(m: Message): void {
    const mesh = this.#mesh
    if (this.actor === null || mesh === null) {
      this.#options.counts.droppedWhileStarting++
      return
    }
    mesh.deliver(m)
    this.#pollLeader()
  }

  proposeConfChange(cc: ConfChange): ProposalResult {
    const actor = this.actor
    if (actor === null) return { ok: false, error: 'no-leader' }
    const peerUrls = cc.type === 'remove' ? [] : [peerUrl(cc.nodeId)]
    actor
      .proposeConfChange(cc.type, this.#options.ids.member(cc.nodeId), peerUrls)
      .catch(() => this.#options.counts.confChangesFailed++)
    return { ok: true }
  }

  transferLeader(to: NodeId): void {
    this.actor?.transferLeader(this.#options.ids.member(to)).catch(() => undefined)
  }

  reportUnreachable(id: NodeId): void {
    if (this.actor !== null) this.#mesh?.unreachable(id)
  }

  reportUnsentProposals(entries: readonly Entry[]): void {
    if (this.actor === null) return
    this.#options.counts.unsentProposals += entries.length
    this.#mesh?.unsentProposals(entries)
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.actor !== null) this.#mesh?.snapshotStatus(id, ok)
  }

  status(): NodeStatus {
    const actor = this.actor
    if (actor === null)
      return { id: this.id, term: 0, role: 'follower', lead: 0, commit: 0, applied: 0, lastIndex: 0, confState: EMPTY_CONF, progress: null }
    const ids = this.#options.ids
    const s = actor.status()
    let progress: Map<NodeId, PeerProgress> | null = null
    if (s.progress !== null) {
      progress = new Map()
      for (const [id, p] of s.progress) progress.set(ids.sim(id), { match: p.match, isLearner: p.isLearner })
    }
    return {
      id: this.id,
      term: s.term,
      role: s.role,
      lead: ids.sim(s.lead),
      commit: s.commit,
      applied: actor.store.appliedIndex(),
      lastIndex: (this.#member as Member).storage.raftLog.lastIndex(),
      confState: ids.conf(s.confState),
      progress,
    }
  }

  /** The process dies: nothing of it runs again; its clients' pending requests fail. */
  stop(): void {
    if (this.#stopped) return
    this.#member?.actor.stop()
    this.#stopped = true
    for (const t of this.#timers) t.cancel()
    this.#timers.clear()
    void this.#mesh?.close()
    for (const db of this.#databases) db.close()
  }

  #after(ms: number, fn: () => void): () => void {
    const timer = this.#host.schedule(ms, 'clock', () => {
      this.#timers.delete(timer)
      fn()
      this.#pollLeader()
    })
    this.#timers.add(timer)
    return () => {
      timer.cancel()
      this.#timers.delete(timer)
    }
  }

  #opened(member: Member): void {
    if (this.#stopped) return
    this.#member = member
    const log = member.storage.raftLog
    const snapshot = log.snapshot()
    const first = snapshot.metadata.index + 1
    const last = log.lastIndex()
    this.#host.observer.recovered(this.id, {
      snapshot: { metadata: snapshot.metadata, data: EMPTY },
      entries: last >= first ? log.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [],
      hardState: log.hardState(),
    })
    this.#applied = member.actor.store.appliedIndex()
    const recovery = member.storage.recovery
    this.#host.observer.trace(() => `n${this.id} open at applied ${this.#applied}: ${JSON.stringify(recovery)}`)
    member.start()
  }

  #persisted(rd: Ready): void {
    if (this.#stopped) return
    const obs = this.#host.observer
    obs.trace(() => `n${this.id} persisted ${describeReady(rd)}`)
    if (rd.snapshot !== null && rd.snapshot.metadata.index > 0) {
      this.#options.counts.snapshotsInstalled++
      obs.logSnapshot(this.id, rd.snapshot.metadata.index, rd.snapshot.metadata.term)
      this.#applied = rd.snapshot.metadata.index
    }
    if (rd.entries.length > 0) obs.logAppended(this.id, rd.entries)
    if (rd.hardState !== null) obs.committed(this.id, rd.hardState.commit)
  }

  #appliedEntries(entries: readonly Entry[]): void {
    if (this.#stopped) return
    const obs = this.#host.observer
    // Applying entries claims they are committed. The actor applies entries it already holds
    // durably before the Ready that commits them is persisted (actor.ts #durablyHeld), so the claim
    // may come before the hard state saying so: the checker hears it here (the entries must be in
    // this node's durable log, and agree with every other node's committed entries).
    const last = entries[entries.length - 1]
    if (last !== undefined) obs.committed(this.id, last.index)
    for (const e of entries) {
      if (e.index !== this.#applied + 1) {
        this.#options.report('state-machine-safety', `applied entry ${e.index} after ${this.#applied}`)
        return
      }
      this.#applied = e.index
      obs.applied(this.id, e, mix(mix(hashBytes(e.data), e.term), e.type === 'normal' ? 0 : 1))
      if (e.type !== 'conf-change') continue
      const cc = decodeConfChange(e.data)
      const confState = this.#options.ids.conf((this.#member as Member).actor.status().confState)
      obs.confChanged(this.id, { ...cc, nodeId: this.#options.ids.sim(cc.nodeId) }, confState)
    }
  }

  /** A fatal error (`rule` names it when it is not an expected exit). */
  #fatal(err: unknown, rule: Rule): void {
    if (this.#stopped || this.#member?.actor.removed === true) return
    const counts = this.#options.counts
    if (err instanceof NotYetMember) counts.notYetMember++
    else if (this.#home.faulty && injected(err)) counts.storageFaultExits++
    else {
      this.#options.report(rule, `n${this.id}: ${describe(err)}`)
      return
    }
    this.#host.exit(err instanceof Error ? err.message : String(err))
  }

  #fetchMembers(urls: readonly string[]): ReturnType<FetchMembers> {
    const [lo, hi] = this.#options.fetchMs
    const mine = peerUrl(this.id)
    return new Promise((resolve, reject) => {
      const timer = this.#host.schedule(this.#prng.range(lo, hi), 'fetch', () => {
        this.#timers.delete(timer)
        for (const url of urls) {
          const match = /^http:\/\/n(\d+)\.sim:2380$/.exec(url)
          const actor = match === null ? null : (this.#options.peer(Number(match[1]))?.actor ?? null)
          if (actor === null) continue
          const members = actor.members()
          if (members.some((m) => m.peerUrls.includes(mine))) resolve({ clusterId: actor.config.clusterId, members })
          else reject(new NotYetMember(`${url} does not list ${mine}`))
          return
        }
        reject(new NotYetMember(`no running member among ${urls.join(',')}`))
      })
      this.#timers.add(timer)
    })
  }

  /** After every input: report leadership of a new term (each (node, term) once). */
  #pollLeader(): void {
    const actor = this.actor
    if (actor === null) return
    const s = actor.status()
    if (s.role === 'leader' && s.term !== this.#leaderTerm) {
      this.#leaderTerm = s.term
      this.#host.observer.leader(this.id, s.term)
    }
  }

  #logger(): Logger {
    const line =
      (level: string) =>
      (fields: Record<string, unknown>, message: string): void =>
        this.#host.observer.trace(() => `n${this.id} log ${level} ${message} ${JSON.stringify(fields, bigints)}`)
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  }
}

/** `sql` with every Database it creates reported to `track`. */
function tracking(sql: SqlJsStatic, track: (db: Database) => void): SqlJsStatic {
  class TrackedDatabase extends sql.Database {
    constructor(data?: ArrayLike<number> | Buffer | null) {
      super(data)
      track(this)
    }
  }
  return { ...sql, Database: TrackedDatabase }
}

/** True when a DiskError the fault policy injects (ENOSPC, EIO) is in `err`'s cause chain. */
function injected(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (e instanceof DiskError && (e.code === 'ENOSPC' || e.code === 'EIO')) return true
  return false
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err)
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
