/**
 * The MVCC store: etcd's replicated key-value state machine on a sql.js database. It applies
 * committed raft entries (apply / applyBatch), answers reads at any uncompacted revision, keeps
 * leases and alarms, hashes its state, and replays history for the watch hub.
 *
 * Apply is deterministic: it reads no clock and no randomness, and every decision depends only on
 * the tables and the entry. The applied raft index is written in the same SQL transaction as the
 * entry's effects, so an image of the database taken between calls always matches appliedIndex(), and an
 * entry at or below it is skipped (replay after restart is idempotent).
 *
 * ```
 * applyBatch([{index, data}, …])
 *   BEGIN ─▶ for each entry above appliedIndex:
 *              decode ─▶ validate ─▶ (EtcdError? record it, change nothing) ─▶ write at rev+1
 *              ─▶ reclaim free pages (bounded)
 *        ─▶ meta: applied_index, revision ─▶ COMMIT
 *   any other exception: ROLLBACK, reload caches from the tables, rethrow
 * ```
 *
 * @module
 */
import type { Database } from 'sql.js'
import { AlarmTable } from './alarm-table.ts'
import { decodeCommand, type Command, type CommandResponse } from './command.ts'
import { refusedWhenCorrupt, txnReadOnly } from './corrupt-guard.ts'
import { runCompaction, scheduleCompaction, scheduledCompaction } from './compaction.ts'
import { EtcdError, Errors } from './errors.ts'
import { HashKvWalk, storeHash } from './hash.ts'
import { eventsBetween } from './history.ts'
import type {
  AlarmMember,
  AlarmRequest,
  AlarmResponse,
  AlarmType,
  CompactionRequest,
  CompactionResponse,
  Event,
  HashKvResponse,
  HistorySource,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from './kv.ts'
import { LeaseTable } from './lease-table.ts'
import { Lessor, type LessorConfig } from './lessor.ts'
import { keyString } from './key-string.ts'
import { PointCache } from './point-cache.ts'
import { cost, fileSize, needsSpace, quotaChecked, spaceUsed } from './quota.ts'
import { openRange, passesFilters, range, readRevision, whole, type PagedRange, type ReadView } from './reader.ts'
import { getMeta, META, openSchema, setMeta } from './schema.ts'
import { Sql } from './sql.ts'
import { historyPage, loadContents, type HistoryRow, type RowPosition, type StoreSummary } from './store-contents.ts'
import { execDelete, execPut, execTxn, type ExecContext } from './txn.ts'
import { checkDelete, checkPut, checkRange, checkTxn } from './txn-check.ts'
import { valueLayout, type ValueLayout } from './value-parts.ts'
import { WriteTxn } from './writer.ts'

/** etcd's largest lease TTL, seconds. */
export const MAX_LEASE_TTL = 9_000_000_000

export interface StoreConfig {
  /** Entries per compare/success/failure list (etcd's --max-txn-ops). Default 128. */
  readonly maxTxnOps?: number
  /** Lease TTLs below this (seconds) are raised to it. Default 2. */
  readonly minLeaseTtl?: number
  /** Database size above which writes are refused (see admit); negative: no quota. Default 2 GiB. */
  readonly quotaBytes?: number
  /** Byte budget of the kvs of one range response; past it `more` is set. Default 32 MiB. */
  readonly maxResponseBytes?: number
  /** History rows per compaction batch. Default 10,000. */
  readonly compactBatchRows?: number
  /** Free pages returned to the file per applied entry. Default 1,024 (4 MiB of 4 KiB pages). */
  readonly vacuumPagesPerEntry?: number
  readonly lessor?: LessorConfig
  /** Bytes of latest kvs kept for point reads (point-cache.ts); 0 turns it off. Default 8 MiB. */
  readonly pointCacheBytes?: number
}

/** etcd's default backend quota. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3

const EMPTY = new Uint8Array(0)
const NO_FILTERS = { minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 } as const

export interface ApplyEntry {
  readonly index: number
  /** An encoded Command; empty for entries that carry nothing for the store. */
  readonly data: Uint8Array
}

export interface ApplyResult {
  readonly index: number
  /** The store revision after this entry. */
  readonly revision: number
  /** Null for an empty entry or when the command failed. */
  readonly response: CommandResponse | null
  /** The etcd error the command failed with; it changed nothing. */
  readonly error: EtcdError | null
  /** The entry's changes in sub-revision order, each with prevKv when the key had one and a watcher or the request wanted it. */
  readonly events: readonly Event[]
}

export class MvccStore implements HistorySource {
  readonly #sql: Sql
  readonly #layout: ValueLayout
  readonly #maxTxnOps: number
  readonly #minLeaseTtl: number
  readonly #quotaBytes: number
  readonly #maxResponseBytes: number
  readonly #compactBatchRows: number
  readonly #vacuumSql: string
  readonly #leases: LeaseTable
  readonly #alarms: AlarmTable
  /** Leader-side lease expiry; see lessor.ts. */
  readonly lessor: Lessor
  /**
   * Whether a watcher of this member wants prev_kv (the member sets it from its watch hub): when
   * none does and the request does not ask for it, a put or a delete does not read the values it
   * replaces or removes (its events carry no prevKv). Local only: what is written is the same
   * either way.
   */
  prevKvWatched: () => boolean = () => true
  /**
   * Latest kvs of keys read one at a time. Invariant: an entry equals what the tables hold for its
   * key at the current revision (applyBatch drops the keys of every event, a rollback clears it).
   */
  readonly #points: PointCache | null
  #applied = 0
  /** The last spaceUsed() measured by admit, and the applied index it was measured at. */
  #spaceAt: { applied: number; bytes: number } | null = null
  #rev = 1
  /** Live keys, counted once after a load and then kept by the applied events; null: not counted yet. */
  #keys: number | null = null
  /** etcd's compactMainRev: -1 until the first compaction. */
  #compactMain = -1
  #reclaimPending = false

  /**
   * Opens the store on `db`, creating its tables when missing and finishing a compaction that an
   * earlier process left half done.
   */
  constructor(db: Database, config: StoreConfig = {}) {
    openSchema(db)
    this.#sql = new Sql(db)
    this.#layout = valueLayout(this.#sql.number('PRAGMA page_size'))
    this.#maxTxnOps = config.maxTxnOps ?? 128
    this.#minLeaseTtl = config.minLeaseTtl ?? 2
    this.#quotaBytes = config.quotaBytes ?? DEFAULT_QUOTA_BYTES
    this.#maxResponseBytes = config.maxResponseBytes ?? 32 * 1024 ** 2
    this.#compactBatchRows = config.compactBatchRows ?? 10_000
    this.#vacuumSql = `PRAGMA incremental_vacuum(${config.vacuumPagesPerEntry ?? 1024})`
    const pointBytes = config.pointCacheBytes ?? 8 * 1024 ** 2
    this.#points = pointBytes > 0 ? new PointCache(pointBytes) : null
    this.#leases = new LeaseTable(this.#sql)
    this.#alarms = new AlarmTable(this.#sql)
    this.lessor = new Lessor(this.#leases, config.lessor)
    this.#load()
    this.#transaction(() => runCompaction(this.#sql, this.#compactBatchRows))
  }

  appliedIndex(): number {
    return this.#applied
  }

  currentRevision(): number {
    return this.#rev
  }

  compactRevision(): number {
    return Math.max(0, this.#compactMain)
  }

  compactMainRevision(): number {
    return this.#compactMain
  }

  /** Applies one committed entry; null when `index` was already applied. */
  apply(index: number, data: Uint8Array): ApplyResult | null {
    return this.applyBatch([{ index, data }])[0] ?? null
  }

  /**
   * Applies entries in one SQL transaction (much faster than one by one). Results are in entry
   * order, null for entries at or below the applied index.
   */
  applyBatch(entries: readonly ApplyEntry[]): (ApplyResult | null)[] {
    let keysAdded = 0
    const applied = this.#transaction(() => {
      const results = entries.map((e) => (e.index > this.#applied ? this.#applyEntry(e) : null))
      const points = this.#points
      for (const r of results)
        for (const ev of r?.events ?? []) {
          points?.delete(keyString(ev.kv.key))
          if (ev.type === 'DELETE') keysAdded--
          else if (ev.kv.version === 1) keysAdded++
        }
      setMeta(this.#sql, META.appliedIndex, this.#applied)
      setMeta(this.#sql, META.revision, this.#rev)
      return results
    })
    if (this.#keys !== null) this.#keys += keysAdded
    return applied
  }

  range(req: RangeRequest): RangeResponse {
    return whole(this.openRange(req, Number.POSITIVE_INFINITY))
  }

  /**
   * {@link range}, or, for one that may return more than `pageRows` kvs, a PagedRange to read a
   * page at a time (reader.ts says what its caller must check between pages).
   */
  openRange(req: RangeRequest, pageRows: number): RangeResponse | PagedRange {
    checkRange(req)
    const view = this.#view()
    const point = this.#points !== null && req.rangeEnd.length === 0 && (req.revision <= 0 || req.revision === view.rev)
    if (!point) return openRange(this.#sql, view, req, this.#maxResponseBytes, pageRows)
    return this.#pointRead(req, view, this.#points as PointCache)
  }

  /**
   * A txn of ranges only (see txnReadOnly), answered from the current state as etcd answers
   * one, without a proposal: its compares and ranges at the current revision, the same checks and
   * errors as at apply, and no new revision.
   */
  readTxn(req: TxnRequest): TxnResponse {
    if (!txnReadOnly(req)) throw new Error('mvcc: readTxn of a txn that is not read-only')
    checkTxn(req, this.#maxTxnOps)
    return execTxn(this.#context(new WriteTxn(this.#sql, this.#layout, this.#rev)), req)
  }

  /** A range of one key at the current revision, answered from the point cache when it can. */
  #pointRead(req: RangeRequest, view: ReadView, points: PointCache): RangeResponse {
    const key = keyString(req.key)
    let kv = points.get(key)
    if (kv === undefined) {
      const plain = { ...req, revision: 0, keysOnly: false, countOnly: false, ...NO_FILTERS }
      kv = range(this.#sql, view, plain, this.#maxResponseBytes).kvs[0] ?? null
      points.set(key, kv)
    }
    const header = { revision: view.rev }
    if (kv === null) return { header, kvs: [], more: false, count: 0 }
    const shown = !req.countOnly && passesFilters(req, kv)
    return { header, kvs: shown ? [req.keysOnly ? { ...kv, value: EMPTY } : kv] : [], more: false, count: 1 }
  }

  /** etcd's LeaseTimeToLive; remaining time comes from the lessor (the leader's clock). */
  leaseTimeToLive(req: LeaseTimeToLiveRequest, nowMs: number): LeaseTimeToLiveResponse {
    const header = { revision: this.#rev }
    const lease = this.#leases.get(req.id)
    const remaining = this.lessor.remainingMs(req.id, nowMs)
    if (lease === undefined || remaining === null) return { header, id: req.id, ttl: -1, grantedTtl: 0, keys: [] }
    const keys = req.keys ? this.#leases.keys(req.id) : []
    // Whole seconds left, truncated as etcd does (right after a grant of 60 it says 59).
    return { header, id: req.id, ttl: Math.floor(remaining / 1000), grantedTtl: lease.ttl, keys }
  }

  /** The keys attached to lease `id` (none for an unknown lease): replicated state, no clock. */
  leaseKeys(id: bigint): Uint8Array[] {
    return this.#leases.get(id) === undefined ? [] : this.#leases.keys(id)
  }

  leaseLeases(): LeaseLeasesResponse {
    return { header: { revision: this.#rev }, leases: [...this.#leases.all()].map((l) => ({ id: l.id })) }
  }

  /** Raised alarms of a type, or all for 'NONE' (etcd's alarm GET, answered locally). */
  alarms(alarm: AlarmType = 'NONE'): AlarmMember[] {
    return this.#alarms.list(alarm)
  }

  /**
   * etcd's HashKV at `revision` (≤ 0: current); as etcd's, the compacted revision itself is
   * refused too, and the compact revision answered is -1 before any compaction.
   */
  hashKv(revision: number): HashKvResponse {
    const walk = this.hashKvWalk(revision)
    return this.hashKvAnswer(walk, walk.walk.next(Number.MAX_SAFE_INTEGER) as number)
  }

  /**
   * {@link hashKv} a page of rows at a time (hash.ts's HashKvWalk): refuses a compacted revision
   * at once; a compaction between pages changes compactMainRevision(), and the walk must start
   * again.
   */
  hashKvWalk(revision: number): { readonly walk: HashKvWalk; readonly revision: number; readonly compactMain: number } {
    if (revision > 0 && revision <= this.#compactMain) throw Errors.compacted()
    const rev = readRevision(this.#view(), revision)
    return { walk: new HashKvWalk(this.#sql, rev, this.#compactMain), revision: rev, compactMain: this.#compactMain }
  }

  hashKvAnswer(walk: { readonly revision: number; readonly compactMain: number }, hash: number): HashKvResponse {
    return { header: { revision: this.#rev }, hash, compactRevision: walk.compactMain, hashRevision: walk.revision }
  }

  /** The replicated contents in etcd's terms (store-contents.ts) but the history. */
  summary(): StoreSummary {
    return {
      revision: this.#rev,
      compactRevision: this.#compactMain,
      leases: [...this.#leases.all()],
      alarms: this.#alarms.list(),
    }
  }

  /**
   * Up to `limit` history rows after `after` and at or below `upTo`, as etcd's key bucket holds
   * them (store-contents.ts); answers the last one's position, null when none were left.
   */
  historyPage(after: RowPosition | null, upTo: number, limit: number, visit: (row: HistoryRow) => void): RowPosition | null {
    return historyPage(this.#sql, this.#compactMain, after, upTo, limit, visit)
  }

  /** Fills this store, which must be empty, with `rows` (ascending revisions) and `summary`. */
  loadContents(rows: Iterable<HistoryRow>, summary: StoreSummary): void {
    try {
      this.#transaction(() => loadContents(this.#sql, this.#layout, rows, summary))
    } finally {
      this.#load()
    }
  }

  /** A hash of all replicated state (history, revisions, leases, alarms); equal on every member. */
  hash(): number {
    return storeHash(this.#sql, this.#rev, this.#compactMain)
  }

  eventsBetween(from: number, to: number, key: Uint8Array, rangeEnd: Uint8Array, maxEvents: number, withPrevKv = true): Event[] {
    if (from < this.compactRevision()) throw Errors.compacted()
    return eventsBetween(this.#sql, from, to, key, rangeEnd, maxEvents, withPrevKv)
  }

  /** Bytes of the database file, free pages included (all layers' tables). */
  fileSize(): number {
    return fileSize(this.#sql)
  }

  /** The quota past which writes are refused (NOSPACE). */
  get quotaBytes(): number {
    return this.#quotaBytes
  }

  /** Live keys (counted from the table once, then kept up to date by apply). */
  keyCount(): number {
    this.#keys ??= this.#sql.number('SELECT COUNT(*) FROM mvcc_kv')
    return this.#keys
  }

  /** Bytes of the database file in use (all layers' tables). */
  spaceUsed(): number {
    return spaceUsed(this.#sql)
  }

  /**
   * For the member before it proposes: throws noSpace when `command` needs space and NOSPACE is
   * raised, or when it does not {@link fits} (the member checks that first, to raise its alarm).
   */
  admit(command: Command): void {
    if (needsSpace(command) && (this.#alarms.has('NOSPACE') || !this.fits(command))) throw Errors.noSpace()
  }

  /**
   * Whether `command` is one etcd does not check against the quota, or the usage plus what it
   * costs stays under the quota (etcd's backend quota, which a refused call raises NOSPACE for).
   */
  fits(command: Command): boolean {
    if (!quotaChecked(command) || this.#quotaBytes < 0) return true
    return this.#spaceUsedSinceApply() + cost(command) < this.#quotaBytes
  }

  /** Whether the usage (as of the last apply) has reached the quota: a write applied here did not fit. */
  overQuota(): boolean {
    return this.#quotaBytes >= 0 && this.#spaceUsedSinceApply() >= this.#quotaBytes
  }

  /**
   * spaceUsed() as of the last apply: measured again only once the applied index has moved, not
   * for every proposal (three PRAGMAs, ~10 µs, were a tenth of a leader's proposal cost). Writes
   * of other layers since (the raft log's, at a checkpoint) are not counted until then, as etcd
   * counts its backend's size as of its last commit.
   */
  #spaceUsedSinceApply(): number {
    if (this.#spaceAt?.applied !== this.#applied) this.#spaceAt = { applied: this.#applied, bytes: this.spaceUsed() }
    return this.#spaceAt.bytes
  }

  /** The command raising this member's NOSPACE alarm, or null if it is raised already. */
  noSpaceAlarm(memberId: bigint): Command | null {
    if (this.#alarms.list('NOSPACE').some((a) => a.memberId === memberId)) return null
    return { type: 'alarm', request: { action: 'ACTIVATE', memberId, alarm: 'NOSPACE' } }
  }

  /** Frees the prepared statements; the database itself stays open (the caller owns it). */
  close(): void {
    this.#sql.free()
  }

  #view(): { rev: number; compactMain: number } {
    return { rev: this.#rev, compactMain: this.#compactMain }
  }

  #load(): void {
    this.#keys = null
    this.#applied = getMeta(this.#sql, META.appliedIndex)
    this.#rev = getMeta(this.#sql, META.revision)
    this.#compactMain = scheduledCompaction(this.#sql)
    this.#reclaimPending = getMeta(this.#sql, META.reclaimPending) === 1
    this.#leases.load()
    this.#alarms.load()
    this.lessor.resync()
  }

  #transaction<T>(body: () => T): T {
    this.#sql.run('BEGIN')
    try {
      const result = body()
      this.#sql.run('COMMIT')
      return result
    } catch (e) {
      this.#sql.run('ROLLBACK')
      this.#load()
      this.#points?.clear()
      throw e
    }
  }

  #applyEntry(entry: ApplyEntry): ApplyResult {
    const w = new WriteTxn(this.#sql, this.#layout, this.#rev)
    let response: CommandResponse | null = null
    let error: EtcdError | null = null
    if (entry.data.length > 0) {
      try {
        response = this.#execute(entry.index, decodeCommand(entry.data), w)
      } catch (e) {
        if (!(e instanceof EtcdError)) throw e
        // Invariant (txn.ts): requests fail before their first write.
        if (w.events.length > 0) throw new Error('mvcc: a request failed after writing', { cause: e })
        error = e
      }
    }
    this.#reclaim()
    this.#applied = entry.index
    this.#rev = error === null ? w.rev : this.#rev
    return { index: entry.index, revision: this.#rev, response, error, events: error === null ? w.events : [] }
  }

  /**
   * After a compaction, returns free pages to the end of the file and truncates it, a bounded
   * number per entry, until none are left. Done per entry, not per commit, so the file layout
   * does not depend on how entries were batched; driven by a replicated flag because asking
   * SQLite for the freelist on every entry costs more than the write itself.
   * incremental_vacuum frees one page per step, so it is stepped to the end.
   */
  #reclaim(): void {
    if (!this.#reclaimPending) return
    this.#sql.each(this.#vacuumSql, [], () => true)
    if (this.#sql.number('PRAGMA freelist_count') === 0) this.#setReclaimPending(false)
  }

  #setReclaimPending(pending: boolean): void {
    this.#reclaimPending = pending
    setMeta(this.#sql, META.reclaimPending, pending ? 1 : 0)
  }

  #context(w: WriteTxn): ExecContext {
    return {
      sql: this.#sql,
      w,
      compactMain: this.#compactMain,
      maxResponseBytes: this.#maxResponseBytes,
      prevKvWatched: () => this.prevKvWatched(),
      leaseExists: (id) => this.#leases.has(id),
    }
  }

  #execute(index: number, c: Command, w: WriteTxn): CommandResponse {
    const ctx = this.#context(w)
    if (this.#alarms.has('CORRUPT') && refusedWhenCorrupt(c)) throw Errors.corrupt()
    switch (c.type) {
      case 'put':
        checkPut(c.request)
        this.#requireSpace()
        return { type: 'put', response: execPut(ctx, c.request) }
      case 'delete-range':
        checkDelete(c.request)
        return { type: 'delete-range', response: execDelete(ctx, c.request) }
      case 'txn':
        checkTxn(c.request, this.#maxTxnOps)
        if (needsSpace(c)) this.#requireSpace()
        return { type: 'txn', response: execTxn(ctx, c.request) }
      case 'compaction':
        return { type: 'compaction', response: this.#compact(c.request) }
      case 'lease-grant':
        this.#requireSpace()
        return { type: 'lease-grant', response: this.#grant(index, c.request) }
      case 'lease-revoke':
        return { type: 'lease-revoke', response: this.#revoke(w, c.request) }
      case 'lease-checkpoint':
        for (const cp of c.request.checkpoints) this.#leases.checkpoint(cp.id, cp.remainingMs)
        return { type: 'lease-checkpoint', response: { header: { revision: this.#rev } } }
      case 'alarm':
        return { type: 'alarm', response: this.#alarm(c.request) }
    }
  }

  #requireSpace(): void {
    if (this.#alarms.has('NOSPACE')) throw Errors.noSpace()
  }

  #compact(r: CompactionRequest): CompactionResponse {
    if (r.revision <= this.#compactMain) throw Errors.compacted()
    if (r.revision > this.#rev) throw Errors.futureRev()
    scheduleCompaction(this.#sql, r.revision)
    this.#compactMain = r.revision
    runCompaction(this.#sql, this.#compactBatchRows)
    this.#setReclaimPending(true)
    return { header: { revision: this.#rev } }
  }

  /**
   * A lease ID chosen by the store is the entry's raft index (the same on every member, unique
   * per entry), moved past any ID a client already took explicitly.
   */
  #grant(index: number, r: LeaseGrantRequest): LeaseGrantResponse {
    if (r.ttl > MAX_LEASE_TTL) throw Errors.leaseTtlTooLarge()
    let id = r.id
    if (id === 0n) for (id = BigInt(index); this.#leases.has(id); ) id++
    if (this.#leases.has(id)) throw Errors.leaseExists()
    const lease = this.#leases.grant(id, Math.max(r.ttl, this.#minLeaseTtl))
    this.lessor.granted(id)
    return { header: { revision: this.#rev }, id, ttl: lease.ttl }
  }

  /** Deletes the lease's keys in one revision (none: no new revision), then the lease. */
  #revoke(w: WriteTxn, r: LeaseRevokeRequest): LeaseRevokeResponse {
    if (!this.#leases.has(r.id)) throw Errors.leaseNotFound()
    const withValues = this.prevKvWatched()
    for (const key of this.#leases.keys(r.id)) w.deleteRange({ kind: 'one', key }, withValues)
    this.#leases.remove(r.id)
    this.lessor.revoked(r.id)
    return { header: { revision: w.rev } }
  }

  #alarm(r: AlarmRequest): AlarmResponse {
    switch (r.action) {
      case 'GET':
        return { alarms: this.#alarms.list(r.alarm) }
      case 'ACTIVATE':
        return { alarms: [this.#alarms.activate(r.memberId, r.alarm)] }
      case 'DEACTIVATE': {
        const cleared = this.#alarms.deactivate(r.memberId, r.alarm)
        return { alarms: cleared === null ? [] : [cleared] }
      }
    }
  }
}
