/**
 * One member: the Raft core, its durable storage, the MVCC store and watch hub, and the mesh to
 * its peers, driven by one inbox. Every input (a tick, peer messages, a proposal, a read) is
 * handled synchronously by stepping Raft; the Ready loop then runs in Raft's order:
 *
 *   persist (storage.saveReady: journal append + ONE fsync for everything batched so far)
 *     → send (mesh, flushed at once) → apply (MVCC batch in one sql transaction, conf changes) → advance
 *
 * except that a leader sends its MsgApp/heartbeats before its own persist, so followers write
 * in parallel with it (#mayReplicateBeforePersist explains why that is safe), and committed
 * entries this member already holds durably are applied while the Ready's own entries are
 * persisted (#durablyHeld).
 *
 * Only one Ready is handled at a time; inputs arriving while it is persisted accumulate in Raft
 * and go out together in the next one (group commit), which is taken once the I/O callbacks of
 * the current event-loop turn have run (Clock.defer), so a burst of requests shares one Ready.
 *
 * Deterministic: time and timers come from the Clock port, randomness from `rand`, I/O from the
 * storage's Disk and the Mesh, so the simulator runs this very class.
 *
 * @module
 */
import type { Database } from 'sql.js'
import { coalesceAppends, decodeConfChange, DEFAULT_CONFIG, RawNode, NONE } from '../raft/index.ts'
import type { ConfChange, Entry, Message, RandomInt, Ready, SoftState, Status } from '../raft/index.ts'
import { decodeCommand, encodeCommand, Errors, EtcdError, MvccStore, WatchHub } from '../mvcc/index.ts'
import type { ApplyEntry, Command, CommandResponse, HistorySource, StoreConfig } from '../mvcc/index.ts'
import type { MemberStorage } from '../storage/index.ts'
import type { Mesh } from '../mesh/index.ts'
import { checkAtApply, type ProposedBy } from './auth-checker.ts'
import { AuthStore, encodeAuthCommand, type AuthCommand } from './auth-store.ts'
import { campaignDelayMs } from './campaign-delay.ts'
import type { Cancel, Clock } from './clock.ts'
import { ClusterTable, type MemberInfo } from './cluster-table.ts'
import { decodeConfContext, encodeConfContext } from './conf-context.ts'
import { decodeEnvelope, encodeEnvelope, requestKey, type Envelope, type RequestId } from './envelope.ts'
import type { Logger } from './logger.ts'
import { Pending } from './pending.ts'
import { MemberRemovedError, proposalError } from './proposal-errors.ts'

const EMPTY = new Uint8Array(0)

/** An encoded envelope on its way to Raft, and the key its caller waits under in #proposals. */
interface Outgoing {
  readonly key: string
  readonly data: Uint8Array
}

export interface ActorConfig {
  readonly id: number
  readonly clusterId: number
  readonly name: string
  readonly clientUrls: readonly string[]
  /** Milliseconds per Raft tick (the heartbeat interval). */
  readonly tickMs: number
  /** Ticks per election timeout. */
  readonly electionTicks: number
  /** How long a proposal or read may wait before "request timed out". */
  readonly requestTimeoutMs: number
  readonly store: StoreConfig
  /** Per-watcher buffer bounds and the sync budget per tick. */
  readonly watchSyncEvents: number
}

export interface ActorPorts {
  readonly clock: Clock
  readonly rand: RandomInt
  readonly storage: MemberStorage
  readonly mesh: Mesh
  readonly log: Logger
}

/** What a proposal produced once applied: the store's response, or the member list. */
export interface Applied {
  readonly revision: number
  readonly response: CommandResponse | null
  readonly error: EtcdError | null
}

/** Observers of the member's life, for metrics and the process entry point. */
export interface ActorEvents {
  onLeaderChange?(lead: number, term: number): void
  onApplied?(entries: number): void
  /**
   * A store batch (one database transaction applying a run of committed entries, the counterpart
   * of etcd's backend commit) starts; the function returned is called when it has ended.
   */
  onBackendCommit?(): () => void
  onProposalFailed?(): void
  /**
   * Observer tap for the simulator's checkers: the Ready's snapshot, entries and hard state are
   * in storage (durable unless `ready.mustSync` is false); its messages have not gone out yet,
   * except a leader's MsgApp/MsgHeartbeat, which may go out before the persist (see #handle).
   */
  onPersisted?(ready: Ready): void
  /** Observer tap for the simulator's checkers: committed `entries` (index order) were applied. */
  onAppliedEntries?(entries: readonly Entry[]): void
  /** Storage failed or the member was removed: the process must stop. */
  onFatal?(err: Error): void
  /** A checkpoint is durable: its image of the database (as large as the database) is garbage now. */
  onCheckpointed?(): void
}

export class MemberActor {
  readonly config: ActorConfig
  readonly #ports: ActorPorts
  readonly #raft: RawNode
  #store: MvccStore
  readonly #hub: WatchHub
  #cluster: ClusterTable
  #auth: AuthStore
  /** The database #store, #cluster and #auth were built on (see #sync). */
  #db: Database
  readonly #proposals: Pending<Applied>
  readonly #reads: Pending<number>
  /** Read indexes whose ReadState arrived, waiting for apply: [index, key]. */
  #readsByIndex: Array<[number, string]> = []
  readonly #confWaiters: Pending<MemberInfo[]>
  readonly #events: ActorEvents
  /**
   * Sequence number of this member's last request ID. Invariant: IDs never repeat across restarts,
   * or an entry proposed by an earlier incarnation (applied after a restart) would answer a new
   * request: each incarnation starts at its start time (ms) × 1024, so two incarnations overlap
   * only if one made more than 1024 requests per ms of the time until the next one started.
   */
  #seq: number
  /** Routes to members not (yet) in the member table, from learnPeers. */
  readonly #learnedPeers = new Map<number, string>()
  /** When each peer last answered this member's appends or heartbeats (clock ms); see heardFrom. */
  readonly #lastHeard = new Map<number, number>()
  /**
   * Proposals to make once there is a leader: forwarded ones the mesh never sent, and those made
   * while there was none (as etcd's, they wait for one until their request timeout).
   */
  #unsent: Outgoing[] = []
  /** Read-index requests made while there was no leader, to ask again once there is one. */
  #unsentReads: string[] = []
  /** Settles the first time this member knows a leader (see firstLeader). */
  #onFirstLeader: () => void = () => undefined
  /**
   * Resolves the first time since it started that this member knows a leader. As etcd serves
   * clients only once it has joined its cluster, the API waits for it (app.ts): a member
   * restarted without a quorum answers nothing rather than a stale read, and a client's watch
   * waits instead of being cancelled for want of a leader.
   */
  readonly firstLeader: Promise<void> = new Promise((resolve) => {
    this.#onFirstLeader = resolve
  })
  #led = false
  /**
   * Envelopes proposed since the last #pumpNow, in the order they were proposed: they go to Raft
   * together (RawNode.proposeBatch) just before the next Ready is taken, so a turn that took in N
   * requests makes one append per follower (or one forwarded MsgProp), not N. Nothing is sent
   * before a Ready anyway, so this delays no proposal.
   */
  #outbox: Outgoing[] = []
  /**
   * Linearizable reads that arrived since the last read index was asked for: they wait on one
   * request, asked for just before the next Ready is taken (#askBatchedReads), as etcd's read loop
   * asks one ReadIndex for all the reads that came while the previous one was out. Sharing is
   * safe because every read of the batch arrived before it was asked for: the index is the commit
   * index as of then, and the round that confirms it starts after it. Nothing is sent before a
   * Ready anyway, so this delays no read. null when no read waits to be asked for.
   */
  #readBatch: { readonly key: string; readonly released: Promise<number> } | null = null
  /** A campaign scheduled by #leaderMayBeGone; null when none is. */
  #campaignTimer: Cancel | null = null
  #busy = false
  /** When the Ready being handled was taken (clock ms); meaningful while #busy. */
  #readySince = 0
  #readies = 0
  /** A #pumpNow is scheduled (see #pump). */
  #pumpDeferred = false
  #soft: SoftState = { lead: NONE, role: 'follower' }
  /** Term and vote as last persisted (see #mayReplicateBeforePersist). */
  #persistedTermVote: [number, number]
  /** Index of the last entry this member's log holds durably (see #durablyHeld). */
  #persistedIndex: number
  #fatal: Error | null = null
  #removed = false
  /** See isLearner; set by #refreshMembership. */
  #learner = false
  #stopped = false
  /** A #catchUpStep is scheduled (see #catchUp). */
  #catchingUp = false

  constructor(config: ActorConfig, ports: ActorPorts, events: ActorEvents = {}) {
    this.config = config
    this.#ports = ports
    this.#events = events
    this.#seq = Math.floor(ports.clock.now()) * 1024
    const { storage } = ports
    this.#db = storage.db
    this.#store = new MvccStore(storage.db, config.store)
    // The hub reads history through this indirection, so it survives a snapshot replacing the store.
    const history: HistorySource = {
      currentRevision: () => this.store.currentRevision(),
      compactRevision: () => this.store.compactRevision(),
      compactMainRevision: () => this.store.compactMainRevision(),
      eventsBetween: (from, to, key, rangeEnd, max, withPrevKv) =>
        this.store.eventsBetween(from, to, key, rangeEnd, max, withPrevKv),
    }
    this.#hub = new WatchHub(history)
    this.#store.prevKvWatched = () => this.#hub.wantsPrevKv()
    this.#cluster = new ClusterTable(storage.db)
    this.#auth = new AuthStore(storage.db)
    this.#proposals = new Pending(ports.clock, config.requestTimeoutMs)
    this.#reads = new Pending(ports.clock, config.requestTimeoutMs)
    this.#confWaiters = new Pending(ports.clock, config.requestTimeoutMs)
    this.#raft = new RawNode({
      ...DEFAULT_CONFIG,
      id: config.id,
      electionTick: config.electionTicks,
      heartbeatTick: 1,
      storage: storage.raftLog,
      applied: this.#store.appliedIndex(),
      rand: ports.rand,
    })
    const restored = this.#raft.status()
    this.#persistedTermVote = [restored.term, restored.vote]
    this.#persistedIndex = storage.raftLog.lastIndex()
    ports.mesh.onReceive((msgs) => {
      if (this.#stopped) return
      const now = ports.clock.now()
      for (const m of msgs) {
        if (m.type === 'MsgAppResp' || m.type === 'MsgHeartbeatResp') this.#lastHeard.set(m.from, now)
        this.#raft.step(m)
      }
      this.#sendHeartbeatsIfSlow()
      this.#pump()
    })
    ports.mesh.onUnreachable((peer) => {
      this.#raft.reportUnreachable(peer)
      this.#leaderMayBeGone(peer)
    })
    ports.mesh.onSnapshotStatus((peer, ok) => this.#raft.reportSnapshot(peer, ok))
    ports.mesh.onUnsentProposals?.((entries) => this.#proposeAgain(entries))
    ports.mesh.onRemoved?.(() => this.#learnRemoval('a peer said so'))
    this.#refreshMembership()
  }

  // ---- what other parts of the member read ----------------------------------------------

  get store(): MvccStore {
    this.#sync()
    return this.#store
  }

  /** The replicated auth store (read it; change it through {@link proposeAuth}). */
  get auth(): AuthStore {
    this.#sync()
    return this.#auth
  }

  get hub(): WatchHub {
    return this.#hub
  }

  get db(): Database {
    return this.#ports.storage.db
  }

  get clock(): Clock {
    return this.#ports.clock
  }

  get log(): Logger {
    return this.#ports.log
  }

  get leader(): number {
    return this.#soft.lead
  }

  /** Raft's current term (what a response header carries as raft_term), without a whole status(). */
  get term(): number {
    return this.#raft.term
  }

  /** Whether this member has known a leader since it started (see firstLeader). */
  get led(): boolean {
    return this.#led
  }

  get isLeader(): boolean {
    return this.#soft.role === 'leader'
  }

  /**
   * How many Readies this member has taken. A request whose answer is computed under a later
   * count than the one it arrived under was answered out of the Ready loop (a write applied, a
   * linearizable read released), in the same turn as every other answer of that Ready.
   */
  get readyCount(): number {
    return this.#readies
  }

  /** Proposals of this member waiting to be applied. */
  get pendingProposals(): number {
    return this.#proposals.size
  }

  get removed(): boolean {
    return this.#removed
  }

  /** Whether the applied membership has this member as a learner (etcd's IsLearner). */
  get isLearner(): boolean {
    return this.#learner
  }

  status(): Status {
    return this.#raft.status()
  }

  members(): MemberInfo[] {
    this.#sync()
    return this.#cluster.list()
  }

  member(id: number): MemberInfo | undefined {
    this.#sync()
    return this.#cluster.get(id)
  }

  /**
   * Whether this member leads and heard from a quorum of voters (itself included) within the last
   * `withinMs` milliseconds. A leader cut off from the others keeps leading until CheckQuorum
   * demotes it (up to two election timeouts), while the followers, seeing its connections close,
   * may elect another at once (#leaderMayBeGone): renewals it grants meanwhile could outlive what
   * the new leader extends leases by (one election timeout), so keepalives ask this first.
   */
  heardFromQuorum(withinMs: number): boolean {
    if (!this.isLeader) return false
    const { voters } = this.#raft.confState()
    let heard = 0
    for (const v of voters) if (v === this.config.id || this.heardFrom(v, withinMs)) heard++
    return heard > voters.length / 2
  }

  /**
   * Whether peer `id` answered this member's appends or heartbeats (as a leader) within the last
   * `withinMs` milliseconds: the "started" test of membership changes (etcd asks its transport
   * the same) and the quorum a lease renewal needs. Only an answer proves the peer hears this
   * member: one it cannot reach (at a wrong peer URL, say) still sends, asking for votes. Raft's
   * own `recentActive` is reset for every follower at each CheckQuorum round, so right after one
   * it said "inactive" for every follower until their next heartbeat answer arrived.
   */
  heardFrom(id: number, withinMs: number): boolean {
    const at = this.#lastHeard.get(id)
    return at !== undefined && this.#ports.clock.now() - at <= withinMs
  }

  /** Every ID ever removed from the cluster. */
  removedIds(): number[] {
    this.#sync()
    return this.#cluster.removedIds()
  }

  /** True for an ID that once belonged to a member that was removed. */
  isRemovedId(id: number): boolean {
    this.#sync()
    return this.#cluster.isRemoved(id)
  }

  // ---- the inbox ---------------------------------------------------------------------------

  /** One Raft tick; the member's periodic duties run from here too. */
  tick(): void {
    if (this.#stopped) return
    this.#raft.tick()
    this.#sendHeartbeatsIfSlow()
    this.#catchUp()
    this.#pump()
  }

  /**
   * Serves watchers behind the store from its history, one batch of at most watchSyncEvents
   * events per macrotask, for as long as one can be served: a watcher replaying a long history
   * gets it at full speed, while heartbeats, peer messages and requests are handled between
   * batches (served from one tick, 8 batches held the event loop up to half a second, long
   * enough, with what the stream did with them, for the followers to elect another leader).
   * Ticks start it again for watchers whose consumers have made room meanwhile.
   */
  #catchUp(): void {
    if (this.#catchingUp) return
    this.#catchingUp = true
    this.#ports.clock.defer(() => this.#catchUpStep())
  }

  #catchUpStep(): void {
    if (this.#stopped || !this.#hub.syncUnsynced(this.config.watchSyncEvents)) {
      this.#catchingUp = false
      return
    }
    this.#ports.clock.defer(() => this.#catchUpStep())
  }

  /** Starts an election now (tests, and the single founding member's fast start). */
  campaign(): void {
    this.#raft.campaign()
    this.#pump()
  }

  /**
   * Proposes an MVCC command; resolves once it is applied on this member. `by` names the user a
   * client's request acts for while auth is enabled (its permissions are checked again at apply
   * if the auth store changes meanwhile).
   */
  async propose(command: Command, by?: ProposedBy): Promise<Applied> {
    this.#usable()
    this.checkQuota(command)
    this.store.admit(command)
    const id = this.#nextId()
    const env: Envelope = by === undefined ? { id, kind: 'mvcc', command: encodeCommand(command) } : { id, kind: 'mvcc', command: encodeCommand(command), by }
    return this.#proposeEnvelope(env)
  }

  /**
   * etcd's quota check, the first a write meets (before its size is checked): one that does not
   * fit the quota is refused with noSpace and raises this member's NOSPACE alarm.
   */
  checkQuota(command: Command): void {
    if (this.store.fits(command)) return
    this.#raiseNoSpace()
    throw Errors.noSpace()
  }

  /** Proposes this member's NOSPACE alarm unless it is raised already. */
  #raiseNoSpace(): void {
    const alarm = this.store.noSpaceAlarm(BigInt(this.config.id))
    if (alarm !== null) this.propose(alarm).catch(() => undefined)
  }

  /** Proposes a change to the auth store; resolves once it is applied on this member. */
  async proposeAuth(command: AuthCommand): Promise<Applied> {
    this.#usable()
    return this.#proposeEnvelope({ id: this.#nextId(), kind: 'auth', command: encodeAuthCommand(command) })
  }

  /** Publishes this member's name and client URLs to the cluster's member list. */
  async publish(): Promise<Applied> {
    this.#usable()
    return this.#proposeEnvelope({ id: this.#nextId(), kind: 'attrs', name: this.config.name, clientUrls: this.config.clientUrls })
  }

  /** Replaces a member's peer URLs (etcd's member update); resolves once applied. */
  async updateMember(memberId: number, peerUrls: readonly string[]): Promise<Applied> {
    this.#usable()
    return this.#proposeEnvelope({ id: this.#nextId(), kind: 'update', memberId, peerUrls })
  }

  /** Proposes a membership change; resolves with the member list once it is applied. */
  async proposeConfChange(type: ConfChange['type'], nodeId: number, peerUrls: readonly string[]): Promise<MemberInfo[]> {
    this.#usable()
    const id = this.#nextId()
    const key = requestKey(id)
    const wait = this.#confWaiters.wait(key, () => Errors.timeout())
    const r = this.#raft.proposeConfChange({ type, nodeId, context: encodeConfContext({ id, peerUrls }) })
    if (!r.ok) this.#confWaiters.reject(key, proposalError(r.error))
    this.#pump()
    return wait
  }

  /**
   * Waits until a read served from this member's store now would be linearizable (ReadIndex:
   * the leader confirmed its leadership after this call, and this member applied up to it).
   * Reads that arrive before the next Ready is taken share one read index (see #readBatch).
   */
  async linearizableRead(): Promise<void> {
    this.#usable()
    let batch = this.#readBatch
    // A batch whose waiter has settled already (timed out: a Ready took longer than a request
    // may) is not joined.
    if (batch === null || !this.#reads.has(batch.key)) {
      const key = requestKey(this.#nextId())
      batch = { key, released: this.#reads.wait(key, () => Errors.timeout()) }
      this.#readBatch = batch
      this.#pump()
    }
    await batch.released
  }

  /** Asks the leader to hand leadership to `target`; resolves once `target` leads. */
  async transferLeader(target: number): Promise<void> {
    this.#usable()
    const deadline = this.#ports.clock.now() + this.config.requestTimeoutMs
    this.#raft.transferLeader(target)
    this.#pump()
    while (this.#soft.lead !== target) {
      if (this.#ports.clock.now() >= deadline) throw Errors.timeout()
      await new Promise<void>((r) => this.#ports.clock.after(this.config.tickMs, r))
    }
  }

  /** Stops the loop; pending requests fail with "server stopped". */
  stop(): void {
    this.#stopped = true
    this.#campaignTimer?.()
    this.#campaignTimer = null
    const err = Errors.stopped()
    this.#outbox = []
    this.#proposals.rejectAll(err)
    this.#reads.rejectAll(err)
    this.#confWaiters.rejectAll(err)
  }

  // ---- the Ready loop -------------------------------------------------------------------------

  /**
   * Handles the next Ready once the I/O callbacks of this turn have run: every proposal and peer
   * message that arrived together goes into one Ready (one fsync, one frame per peer). Taken at
   * once, the first request of a burst got a Ready (and an fsync) of its own while the rest
   * waited behind it.
   */
  #pump(): void {
    if (this.#pumpDeferred || this.#busy || this.#stopped || this.#fatal !== null) return
    this.#pumpDeferred = true
    this.#ports.clock.defer(() => {
      this.#pumpDeferred = false
      this.#pumpNow()
    })
  }

  #pumpNow(): void {
    if (this.#busy || this.#stopped || this.#fatal !== null) return
    this.#proposeOutbox()
    this.#askBatchedReads()
    if (!this.#raft.hasReady()) return
    this.#busy = true
    this.#readySince = this.#ports.clock.now()
    const rd = this.#raft.ready()
    this.#readies++
    this.#handle(rd).then(
      () => {
        this.#busy = false
        this.#pump()
      },
      (err: unknown) => this.#die(err instanceof Error ? err : new Error(String(err))),
    )
  }

  async #handle(rd: Ready): Promise<void> {
    const { storage } = this.#ports
    const early = rd.messages.length > 0 && this.#mayReplicateBeforePersist(rd)
    const messages = rd.messages.length > 1 ? coalesceAppends(rd.messages, DEFAULT_CONFIG.maxSizePerMsg) : rd.messages
    // Sent now, not at the end of the turn: the journal write and the apply that follow here would
    // hold them, and the peers waiting for them (and, through them, the commit) as long.
    if (early) this.#sendNow(messages)
    const saved = storage.saveReady(rd.entries, rd.hardState, rd.snapshot, rd.mustSync)
    // Committed entries this member already holds durably are applied while this Ready's own
    // writes are being persisted (see #durablyHeld).
    const held = this.#durablyHeld(rd)
    if (held > 0) this.#apply(rd.committedEntries.slice(0, held))
    await saved
    this.#persistedIndex = rd.snapshot !== null && rd.snapshot.metadata.index > 0 ? rd.snapshot.metadata.index : this.#persistedIndex
    if (rd.entries.length > 0) this.#persistedIndex = (rd.entries[rd.entries.length - 1] as Entry).index
    if (rd.hardState !== null) this.#persistedTermVote = [rd.hardState.term, rd.hardState.vote]
    if (this.#stopped) return
    this.#events.onPersisted?.(rd)
    if (rd.snapshot !== null && rd.snapshot.metadata.index > 0) this.#sync()
    if (messages.length > 0 && !early) this.#sendNow(messages)
    if (rd.softState !== null) this.#onSoftState(rd.softState)
    this.#apply(held > 0 ? rd.committedEntries.slice(held) : rd.committedEntries)
    for (const rs of rd.readStates) this.#onReadState(rs.index, new TextDecoder().decode(rs.ctx))
    this.#raft.advance()
    this.#releaseReads()
    const applied = this.#store.appliedIndex()
    const asked = this.#ports.clock.now()
    storage
      .maybeCheckpoint(applied, this.#raft.confState(), this.#raft.snapshotInFlight())
      .then(
        (taken) => {
          if (!taken) return
          this.#ports.log.info({ index: applied, ms: Math.round(this.#ports.clock.now() - asked) }, 'saved checkpoint')
          this.#events.onCheckpointed?.()
        },
        (err: Error) => this.#die(err),
      )
  }

  /** Hands a Ready's messages to the mesh and has them sent at once (see Mesh.flush). */
  #sendNow(messages: readonly Message[]): void {
    this.#ports.mesh.send(messages)
    this.#ports.mesh.flush()
  }

  /**
   * Sends the heartbeats (as leader) and heartbeat answers (as follower) queued behind a Ready
   * that has been persisting for a quarter of an election timeout. Installing a snapshot of a
   * large database takes seconds, a stalled disk as long: a leader silent meanwhile would have
   * its followers campaign, and a follower silent meanwhile would cost a leader that needs it for
   * its quorum its leadership (CheckQuorum), though both are alive. Not for every Ready: one ends
   * in milliseconds as a rule, and its heartbeats then go out with the next Ready's messages; sent
   * early they would cost a frame each for nothing. RawNode.takeHeartbeats says why sending them
   * early is safe, and why answers go marked busy.
   *
   * Both stop once the Ready has been out long enough that the disk looks hung rather than slow,
   * so that it does not keep the cluster under members that can persist nothing: a leader after
   * an election timeout (its followers then elect another after their own; a stall shorter than
   * two election timeouts costs no election), a follower after five (the leader then loses it
   * from its quorum at its next check; an install of a snapshot of up to that long keeps the
   * leader in office, as the leader keeps the entries after a snapshot for as long).
   */
  #sendHeartbeatsIfSlow(): void {
    if (!this.#busy) return
    const electionMs = this.config.tickMs * this.config.electionTicks
    const outFor = this.#ports.clock.now() - this.#readySince
    if (outFor < electionMs / 4 || outFor >= (this.#raft.role === 'leader' ? 1 : 5) * electionMs) return
    const early = this.#raft.takeHeartbeats()
    if (early.length > 0) this.#ports.mesh.send(early)
  }

  /**
   * True when this Ready's messages may go out BEFORE its entries are persisted here: the leader
   * replicating in parallel with its own fsync (Raft thesis §10.2.1; etcd does the same). Safe
   * because the Raft core counts the leader's own copy of an entry only after advance() (see
   * Raft.onPersisted), so nothing commits on the strength of an unsynced leader log; a follower
   * that stores such an entry and then sees the leader crash before its fsync is ordinary Raft (an
   * uncommitted entry on a minority or majority, resolved by the next election). Only when:
   * - this member leads, in a term and vote already durable (a Ready that changes term or vote,
   *   e.g. a campaign, must persist first: a vote or a candidacy must never be forgotten);
   * - there is no snapshot;
   * - every message is MsgApp or MsgHeartbeat, which carry only the leader's log and commit index.
   *   Votes, vote responses and everything else wait for the fsync, as before.
   * Committed entries are still applied, and clients answered, only after the persist.
   */
  #mayReplicateBeforePersist(rd: Ready): boolean {
    if ((rd.softState ?? this.#soft).role !== 'leader' || rd.snapshot !== null) return false
    const hs = rd.hardState
    if (hs !== null && (hs.term !== this.#persistedTermVote[0] || hs.vote !== this.#persistedTermVote[1])) return false
    for (const m of rd.messages) if (m.type !== 'MsgApp' && m.type !== 'MsgHeartbeat') return false
    return true
  }

  /**
   * How many of `rd.committedEntries` (a prefix) may be applied before `rd` is persisted: those
   * already durable in this member's log from earlier Readies. They are committed (durable on a
   * majority, decided by the leader), so answering their clients does not wait for the fsync of
   * the entries that came after them (etcd applies alongside its WAL writes the same way). A
   * crash before `rd`'s hard state is durable leaves the applied index above the persisted commit
   * index; on restart the core takes the applied index as committed (Raft's constructor), and the
   * entries are in the log. Never with a snapshot, never before the soft state is handled, and
   * never while a checkpoint asked for is not yet taken (storage.checkpointPending: it is
   * labelled with the applied index of when it was asked for, and must hold exactly that state).
   */
  #durablyHeld(rd: Ready): number {
    if (rd.snapshot !== null || rd.softState !== null || this.#stopped || this.#ports.storage.checkpointPending) return 0
    // This Ready's entries replace the log from their first index on (a new leader's entries
    // overwrite uncommitted ones): what this member held there is not what it would apply.
    const rewritten = rd.entries[0]?.index ?? Infinity
    const held = Math.min(this.#persistedIndex, rewritten - 1)
    let n = 0
    for (const e of rd.committedEntries) {
      if (e.index > held) break
      n++
    }
    return n
  }

  /**
   * Rebuilds what reads the database if the storage replaced it. Installing a leader's snapshot
   * swaps in the new database and closes the old one at once, but saveReady resolves only after
   * the new one is durable; requests, ticks and duties that ran in between used the closed one
   * (500 "Statement closed" / "out of memory" answers, and an uncaught throw from a tick that
   * killed the process). So every reader comes through here (`store`, `members()`, …): the new
   * database already holds the whole snapshot, and building on it early is safe.
   */
  #sync(): void {
    if (this.#db !== this.#ports.storage.db) this.#reload()
  }

  /** The database was replaced by a leader's snapshot: rebuild everything that reads it. */
  #reload(): void {
    const db = this.#ports.storage.db
    this.#db = db
    this.#store = new MvccStore(db, this.config.store)
    this.#store.prevKvWatched = () => this.#hub.wantsPrevKv()
    if (this.isLeader) this.#store.lessor.promote(this.#ports.clock.now(), this.config.tickMs * this.config.electionTicks)
    this.#hub.restored()
    this.#cluster = new ClusterTable(db)
    this.#auth = new AuthStore(db)
    this.#refreshMembership()
    this.#ports.log.info({ index: this.#store.appliedIndex() }, 'installed snapshot from leader')
  }

  /**
   * Messages to `peer` were lost: its connection closed or could not be opened. If it is our
   * leader, forget it (RawNode.forgetLeader) and campaign after a short random delay unless a
   * leader shows up meanwhile. A leader whose process died closed its connections at once, so the
   * followers notice together and elect a new leader after a short delay (campaign-delay.ts) and a
   * few round trips instead of after an election timeout (1-2 s). A live leader is followed again
   * at its next heartbeat, and the other members ignore a pre-vote while they hear from it, so a
   * lost message costs nothing.
   */
  #leaderMayBeGone(peer: number): void {
    if (this.#stopped || peer !== this.#soft.lead) return
    // The core may have learned of another leader since #soft (its Ready is not handled yet).
    const st = this.#raft.status()
    if (st.role !== 'follower' || st.lead !== peer) return
    this.#raft.forgetLeader()
    this.#pump()
    if (this.#campaignTimer !== null) return
    const delay = campaignDelayMs(this.#ports.rand, this.config.electionTicks, this.config.tickMs)
    this.#campaignTimer = this.#ports.clock.after(delay, () => {
      this.#campaignTimer = null
      const st = this.#raft.status()
      if (this.#stopped || st.role !== 'follower' || st.lead !== NONE) return
      this.#raft.campaign()
      this.#pump()
    })
  }

  /**
   * Proposals this member forwarded to its leader that the mesh never sent (the connection to the
   * leader was down, as when its process died): no log holds them, so they are proposed again,
   * to the next leader, instead of waiting out the request timeout. Only this member's own, and
   * only while their callers still wait; a conf change still waits for its timeout. They wait in
   * #unsent while there is no leader.
   */
  #proposeAgain(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== 'normal' || e.data.length === 0) continue
      let env: Envelope
      try {
        env = decodeEnvelope(e.data)
      } catch {
        continue
      }
      const key = requestKey(env.id)
      if (env.id.origin === this.config.id && this.#proposals.has(key)) this.#unsent.push({ key, data: e.data })
    }
    this.#proposeUnsent()
  }

  /**
   * Asks Raft for the read index of the read `key`. Without a leader the read waits for one, in
   * #unsentReads until its request timeout (as etcd's read loop does); any other refusal fails it.
   */
  #askReadIndex(key: string): void {
    const r = this.#raft.readIndex(new TextEncoder().encode(key))
    if (!r.ok && r.error === 'no-leader') this.#unsentReads.push(key)
    else if (!r.ok) this.#reads.reject(key, proposalError(r.error))
  }

  /** Proposes what #unsent holds, and asks again for the reads waiting, if this member knows a leader. */
  #proposeUnsent(): void {
    if (this.#stopped || this.#raft.status().lead === NONE) return
    const reads = this.#unsentReads.filter((key) => this.#reads.has(key))
    this.#unsentReads = []
    for (const key of reads) this.#askReadIndex(key)
    if (this.#unsent.length === 0) {
      if (reads.length > 0) this.#pump()
      return
    }
    const waiting = this.#unsent.filter((u) => this.#proposals.has(u.key))
    this.#unsent = []
    if (waiting.length > 0 && !this.#raft.proposeBatch(waiting.map((u) => u.data)).ok) this.#unsent = waiting
    this.#pump()
  }

  #onSoftState(soft: SoftState): void {
    const was = this.#soft
    this.#soft = soft
    const { clock } = this.#ports
    if (soft.role === 'leader' && was.role !== 'leader')
      this.#store.lessor.promote(clock.now(), this.config.tickMs * this.config.electionTicks)
    if (soft.role !== 'leader' && was.role === 'leader') this.#store.lessor.demote()
    if (soft.lead !== was.lead) {
      if (soft.lead !== NONE && !this.#led) {
        this.#led = true
        this.#onFirstLeader()
      }
      if (soft.lead !== NONE) this.#proposeUnsent()
      const term = this.#raft.term
      this.#ports.log.info({ lead: soft.lead, term, role: soft.role }, 'leader changed')
      this.#events.onLeaderChange?.(soft.lead, term)
    }
  }

  #apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const envelopes = entries.map((e) => this.#envelopeOf(e))
    // Entries reach the store in runs, in log order. A run ends after an auth change, and before
    // a command whose permissions must be checked again (the auth store changed since it was
    // proposed), so that check sees the effect of every entry before it and none after.
    const denied = new Map<number, EtcdError>()
    let run: number[] = []
    let authRevision: number | null = null
    for (let i = 0; i < entries.length; i++) {
      const env = envelopes[i] ?? null
      if (env?.kind === 'mvcc' && env.by !== undefined) {
        authRevision ??= this.#auth.revision()
        if (env.by.authRevision < authRevision) {
          this.#applyRun(entries, envelopes, run, denied)
          run = []
          const err = checkAtApply(this.#auth, this.#store, env.by, decodeCommand(env.command))
          if (err !== null) denied.set(i, err)
        }
      }
      run.push(i)
      if (env?.kind === 'auth') {
        this.#applyRun(entries, envelopes, run, denied)
        run = []
        authRevision = null
      }
    }
    this.#applyRun(entries, envelopes, run, denied)
    this.#store.lessor.catchUp(this.#ports.clock.now())
    this.#events.onApplied?.(entries.length)
    this.#events.onAppliedEntries?.(entries)
  }

  #envelopeOf(e: Entry): Envelope | null {
    if (e.type !== 'normal' || e.data.length === 0) return null
    try {
      return decodeEnvelope(e.data)
    } catch (err) {
      this.#ports.log.error({ index: e.index, err: (err as Error).message }, 'skipping an undecodable entry')
      return null
    }
  }

  /** Applies `entries[i]` for each i of `run` (ascending) in one store batch; a denied command is applied as empty. */
  #applyRun(entries: readonly Entry[], envelopes: ReadonlyArray<Envelope | null>, run: readonly number[], denied: ReadonlyMap<number, EtcdError>): void {
    if (run.length === 0) return
    const batch: ApplyEntry[] = run.map((i) => {
      const env = envelopes[i] ?? null
      const data = env?.kind === 'mvcc' && !denied.has(i) ? env.command : EMPTY
      return { index: (entries[i] as Entry).index, data }
    })
    const ended = this.#events.onBackendCommit?.()
    const results = this.#store.applyBatch(batch)
    ended?.()
    // As etcd's quota applier: a write applied here that took this member past its quota (its
    // database may be larger than the proposer's) raises this member's NOSPACE alarm.
    const wrote = results.some((r) => r?.response?.type === 'put' || r?.response?.type === 'txn' || r?.response?.type === 'lease-grant')
    if (wrote && this.#store.overQuota()) this.#raiseNoSpace()
    run.forEach((i, at) => {
      const e = entries[i] as Entry
      const env = envelopes[i] ?? null
      const result = results[at] ?? null
      if (e.type === 'conf-change') this.#applyConfChange(e)
      else if (env?.kind === 'attrs') this.#cluster.publish(env.id.origin, env.name, env.clientUrls)
      else if (env?.kind === 'update') this.#updatePeerUrls(env.memberId, env.peerUrls)
      if (result === null) return
      const authError = env?.kind === 'auth' ? this.#auth.apply(env.command) : null
      if (result.events.length > 0) this.#hub.notify(result.revision, result.events)
      if (result.response?.type === 'compaction') this.#hub.compacted(this.#store.compactRevision())
      if (env !== null && env.id.origin === this.config.id) {
        const { revision, response, error } = result
        this.#proposals.resolve(requestKey(env.id), { revision, response, error: denied.get(i) ?? error ?? authError })
      }
    })
  }

  #applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data)
    const ctx = decodeConfContext(cc.context)
    this.#raft.applyConfChange(cc)
    const existing = this.#cluster.get(cc.nodeId)
    if (cc.type === 'remove') this.#cluster.remove(cc.nodeId)
    else
      this.#cluster.upsert({
        id: cc.nodeId,
        peerUrls: existing?.peerUrls ?? ctx?.peerUrls ?? [],
        isLearner: cc.type === 'add-learner',
      })
    this.#refreshMembership()
    this.#ports.log.info({ change: cc.type, member: cc.nodeId, index: e.index }, 'membership changed')
    if (ctx !== null && ctx.id.origin === this.config.id) this.#confWaiters.resolve(requestKey(ctx.id), this.#cluster.list())
    if (cc.type === 'remove' && cc.nodeId === this.config.id) this.#learnRemoval('applied its own removal')
  }

  /**
   * This member is no longer part of the cluster: it applied its removal, or a peer told it so
   * (once the leader applies a removal it stops replicating to the removed member, which may
   * therefore never see its removal committed). It stops serving for good.
   */
  #learnRemoval(how: string): void {
    if (this.#removed) return
    this.#removed = true
    this.#ports.log.warn({ how }, 'this member was removed from the cluster')
    this.#events.onFatal?.(new MemberRemovedError())
  }

  #updatePeerUrls(id: number, peerUrls: readonly string[]): void {
    const m = this.#cluster.get(id)
    if (m === undefined) return
    this.#cluster.upsert({ ...m, peerUrls })
    this.#refreshMembership()
  }

  #onReadState(index: number, key: string): void {
    if (!this.#reads.has(key)) return
    this.#readsByIndex.push([index, key])
  }

  #releaseReads(): void {
    const applied = this.#store.appliedIndex()
    const waiting: Array<[number, string]> = []
    for (const [index, key] of this.#readsByIndex) {
      if (index <= applied) this.#reads.resolve(key, index)
      else waiting.push([index, key])
    }
    this.#readsByIndex = waiting
  }

  /**
   * Adds mesh routes to members another member knows and this one does not yet (see Duties):
   * a member that recovers behind the membership change that added the current leader can then
   * reach it, catch up, and learn the rest from the log. Routes only: the member table stays
   * what the log says, and it wins where both name a member; removed members are never added.
   */
  learnPeers(members: readonly MemberInfo[]): void {
    this.#sync()
    let changed = false
    for (const m of members) {
      const url = m.peerUrls[0]
      if (m.id === this.config.id || url === undefined || this.#cluster.get(m.id) !== undefined || this.#cluster.isRemoved(m.id)) continue
      if (this.#learnedPeers.get(m.id) === url) continue
      this.#learnedPeers.set(m.id, url)
      changed = true
    }
    if (changed) {
      this.#ports.log.info({ peers: [...this.#learnedPeers.keys()] }, 'learned peers not yet in the member list')
      this.#refreshMembership()
    }
  }

  /** The mesh's peers and {@link isLearner}, from the applied membership. */
  #refreshMembership(): void {
    const peers = new Map<number, string>()
    for (const [id, url] of this.#learnedPeers) {
      if (this.#cluster.get(id) !== undefined || this.#cluster.isRemoved(id)) this.#learnedPeers.delete(id)
      else peers.set(id, url)
    }
    const members = this.#cluster.list()
    for (const m of members)
      if (m.id !== this.config.id && m.peerUrls.length > 0) peers.set(m.id, m.peerUrls[0] as string)
    this.#learner = members.some((m) => m.id === this.config.id && m.isLearner)
    this.#ports.mesh.setPeers(peers)
    this.#ports.mesh.setRemoved?.(new Set(this.#cluster.removedIds()))
  }

  #proposeEnvelope(env: Envelope): Promise<Applied> {
    const key = requestKey(env.id)
    const wait = this.#proposals.wait(key, () => {
      this.#events.onProposalFailed?.()
      return Errors.timeout()
    })
    this.#outbox.push({ key, data: encodeEnvelope(env) })
    this.#pump()
    return wait
  }

  /** Asks for the read index of the reads in #readBatch, if any still waits. */
  #askBatchedReads(): void {
    const batch = this.#readBatch
    if (batch === null) return
    this.#readBatch = null
    if (this.#reads.has(batch.key)) this.#askReadIndex(batch.key)
  }

  /** Hands #outbox to Raft in one batch; if Raft refuses it, each of its callers gets the error. */
  #proposeOutbox(): void {
    if (this.#outbox.length === 0) return
    const batch = this.#outbox
    this.#outbox = []
    const r = this.#raft.proposeBatch(batch.map((o) => o.data))
    if (r.ok) return
    // Without a leader they wait for one, until their request timeout (as etcd's proposals do).
    if (r.error === 'no-leader') {
      this.#unsent.push(...batch)
      return
    }
    for (const o of batch) {
      this.#events.onProposalFailed?.()
      this.#proposals.reject(o.key, proposalError(r.error))
    }
  }

  #nextId(): RequestId {
    return { origin: this.config.id, seq: ++this.#seq }
  }

  #usable(): void {
    if (this.#fatal !== null || this.#stopped) throw Errors.stopped()
    if (this.#removed) throw new MemberRemovedError()
  }

  #die(err: Error): void {
    if (this.#fatal !== null) return
    this.#fatal = err
    this.#ports.log.error({ err: err.message }, 'member stopped: storage failed')
    this.stop()
    this.#events.onFatal?.(err)
  }
}
