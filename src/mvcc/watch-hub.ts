/**
 * The watch hub: every watcher of this member, served from the store's history and from live
 * writes, with etcd's guarantees (ordered, unique, reliable, atomic per revision, resumable,
 * bookmarkable). It owns no loop and no clock; the member actor drives it:
 *
 *   after each applied write at revision R ──▶ notify(R, events)   synced watchers, inline
 *   each tick / loop turn                    ──▶ syncUnsynced(n)    ≤ n events read from the tables
 *   every progress interval                  ──▶ progress()         progress_notify watchers
 *   after applying a compaction at C         ──▶ compacted(C)
 *   after installing a raft snapshot         ──▶ restored()
 *   per client stream                        ──▶ openStream(sink) → create/cancel/requestProgress/
 *                                                acknowledge/close
 *
 * Groups, as etcd's watchableStore:
 * - synced: caught up to the hub's revision (or waiting for a future start revision); matched by
 *   key through a {@link WatcherGroup} and sent each revision's events inline from `notify`.
 * - unsynced: behind; served from `HistorySource.eventsBetween` a bounded batch per call, then
 *   promoted to synced once past the hub's revision. Victims (watchers whose buffer is full)
 *   are unsynced watchers that the sync skips until their consumer acknowledges.
 *
 * Invariant: the hub's `revision` is the last revision notified, never the store's if the store
 * is ahead; history is read only up to it, so no event is both read back and notified live.
 *
 * @module
 */
import type { Event, HistorySource } from './kv.ts'
import { watchResponse, type WatchSink } from './watch-messages.ts'
import { WatchStream } from './watch-stream.ts'
import { EVENT_OVERHEAD, eventBytes, type Watcher, type WatchLimits } from './watch-watcher.ts'
import { WatcherGroup } from './watcher-group.ts'

export interface WatchHubOptions {
  /** Per watcher: events sent and not yet acknowledged before it becomes a victim. Default 1000. */
  readonly maxPendingEvents?: number
  /** Per watcher: estimated bytes sent and not yet acknowledged (see `eventBytes`). Default 4 MiB. */
  readonly maxPendingBytes?: number
}

export interface WatchHubCounts {
  readonly synced: number
  /** Unsynced watchers that the next sync will read for. */
  readonly unsynced: number
  /** Unsynced watchers waiting for their consumer to acknowledge. */
  readonly victims: number
}

export class WatchHub {
  readonly #history: HistorySource
  readonly #limits: WatchLimits
  #rev: number
  readonly #synced = new WatcherGroup()
  /** Insertion order is the sync's round-robin order: a served watcher moves to the back. */
  readonly #unsynced = new Set<Watcher>()
  readonly #progressNotify = new Set<Watcher>()
  /** Watchers taken in that asked for prev_kv; canceled ones are dropped as they are found. */
  readonly #prevKv = new Set<Watcher>()

  constructor(history: HistorySource, options: WatchHubOptions = {}) {
    const maxPendingEvents = options.maxPendingEvents ?? 1000
    const maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024
    if (!(maxPendingEvents >= 1 && maxPendingBytes >= 1))
      throw new RangeError('watch hub: buffer bounds must be ≥ 1')
    this.#history = history
    this.#limits = { maxPendingEvents, maxPendingBytes }
    this.#rev = history.currentRevision()
  }

  /** The last revision notified (or the store's revision when the hub was made or restored). */
  get revision(): number {
    return this.#rev
  }

  openStream(sink: WatchSink): WatchStream {
    return new WatchStream(this, sink, this.#limits)
  }

  /**
   * The write at `revision` was applied (normally the hub's revision + 1; revisions skipped in
   * between are read back from the tables). `events` are all of its changes in sub-revision
   * order, with `prevKv` filled as the store knows it (ApplyResult.events).
   * Each synced watcher gets its matching events in one response whose header is `revision`; one
   * whose buffer is full becomes a victim and will read this revision back from the tables.
   */
  notify(revision: number, events: readonly Event[]): void {
    if (revision <= this.#rev)
      throw new Error(`watch hub: revision ${revision} notified at revision ${this.#rev}`)
    if (revision > this.#rev + 1) this.#fallBehind(revision - 1)
    this.#rev = revision
    for (const [w, matched] of this.#synced.match(events)) {
      // A sink may have cancelled w meanwhile; a future start revision skips this one.
      if (w.state !== 'synced' || w.nextRev > revision) continue
      const selected = w.select(matched)
      if (selected.length === 0) continue
      if (w.hasRoom()) this.#sendEvents(w, selected, revision)
      else this.#demote(w, revision)
    }
  }

  /**
   * Serves unsynced watchers from the tables, round robin, reading at most about `maxEvents`
   * events in all (a revision is never split, and each read counts at least 1). Each watcher
   * gets whole revisions its buffer admits, in one response whose header is the last revision
   * read for it, and is promoted to synced once past the hub's revision. A watcher whose next
   * revision was compacted is cancelled with compact_revision. Returns true when an unsynced
   * watcher could be served right now (the budget ran out, or a consumer acknowledged meanwhile):
   * call again. Every read moves a watcher forward, so looping while true terminates.
   */
  syncUnsynced(maxEvents: number): boolean {
    if (!(maxEvents >= 1)) throw new RangeError('watch hub: a sync needs a budget ≥ 1')
    let budget = maxEvents
    const compactRev = this.#history.compactRevision()
    for (const w of [...this.#unsynced]) {
      if (budget <= 0) break
      if (w.state !== 'unsynced') continue
      if (w.nextRev < compactRev) {
        this.#cancelCompacted(w, compactRev)
        continue
      }
      if (!w.hasRoom()) continue
      this.#unsynced.delete(w)
      this.#unsynced.add(w)
      const want = Math.min(budget, w.roomEvents())
      const read = this.#history.eventsBetween(w.nextRev, this.#rev, w.key, w.rangeEnd, want, w.prevKv)
      budget -= Math.max(1, read.length)
      // Fewer than asked: the read reached the hub's revision. Otherwise it ended on a whole revision.
      const readTo = read.length < want ? this.#rev : (read[read.length - 1] as Event).kv.modRevision
      const selected = w.select(read)
      const taken = w.admit(selected)
      const servedTo = taken < selected.length ? (selected[taken] as Event).kv.modRevision - 1 : readTo
      w.nextRev = servedTo + 1
      if (taken > 0) this.#sendEvents(w, selected.slice(0, taken), servedTo)
      if (w.state === 'unsynced' && w.nextRev > this.#rev) this.#promote(w)
    }
    for (const w of this.#unsynced) if (w.hasRoom()) return true
    return false
  }

  /**
   * One progress round: each synced progress_notify watcher that got no events since the last
   * round, and has room, is sent an empty response with the hub's revision (etcd's rule).
   */
  progress(): void {
    for (const w of this.#progressNotify) {
      if (w.state === 'synced' && w.quiet && w.hasRoom())
        w.stream.send(w, watchResponse({ watchId: w.id, headerRevision: this.#rev }), 0, EVENT_OVERHEAD)
      w.quiet = true
    }
  }

  /** The store compacted at `revision`: watchers that still need a revision below it are ended. */
  compacted(revision: number): void {
    for (const w of [...this.#unsynced]) if (w.nextRev < revision) this.#cancelCompacted(w, revision)
  }

  /**
   * The store's state was replaced (raft snapshot install): synced watchers fall back to reading
   * the revisions they missed from the tables, and those the new compaction leaves behind end.
   */
  restored(): void {
    const current = this.#history.currentRevision()
    if (current > this.#rev) {
      this.#fallBehind(current)
      this.#rev = current
    }
    this.compacted(this.#history.compactRevision())
  }

  counts(): WatchHubCounts {
    let victims = 0
    for (const w of this.#unsynced) if (!w.hasRoom()) victims++
    return { synced: this.#synced.size, unsynced: this.#unsynced.size - victims, victims }
  }

  // ---- called by WatchStream ------------------------------------------------------------

  /** Takes in a new watcher (its `created` response already sent). */
  add(w: Watcher): void {
    // etcd compares a negative start revision with its compacted main revision (-1 until the
    // first compaction) like any other: below it the watcher ends as compacted; -1 before any
    // compaction passes and, as nothing lies below revision 1, goes live.
    const floor = w.nextRev < 0 ? this.#history.compactMainRevision() : this.#history.compactRevision()
    if (w.nextRev < floor) {
      w.state = 'canceled'
      w.stream.compacted(w, floor)
      return
    }
    if (w.nextRev < 1) w.nextRev = this.#rev + 1
    if (w.progressNotify) this.#progressNotify.add(w)
    if (w.prevKv) this.#prevKv.add(w)
    if (w.nextRev > this.#rev) {
      w.state = 'synced'
      this.#synced.add(w)
    } else {
      w.state = 'unsynced'
      this.#unsynced.add(w)
    }
  }

  remove(w: Watcher): void {
    w.state = 'canceled'
    this.#synced.delete(w)
    this.#unsynced.delete(w)
    this.#progressNotify.delete(w)
    this.#prevKv.delete(w)
  }

  /** Whether a live watcher wants prev_kv (the store then reads the values puts replace and deletes remove). */
  wantsPrevKv(): boolean {
    for (const w of this.#prevKv) {
      if (w.state !== 'canceled') return true
      this.#prevKv.delete(w)
    }
    return false
  }

  // ---- transitions ------------------------------------------------------------------------

  #sendEvents(w: Watcher, events: readonly Event[], headerRevision: number): void {
    let bytes = 0
    for (const e of events) bytes += eventBytes(e)
    w.stream.send(w, watchResponse({ watchId: w.id, headerRevision, events }), events.length, bytes)
  }

  #demote(w: Watcher, nextRev: number): void {
    this.#synced.delete(w)
    w.state = 'unsynced'
    w.nextRev = nextRev
    this.#unsynced.add(w)
  }

  #promote(w: Watcher): void {
    this.#unsynced.delete(w)
    w.state = 'synced'
    this.#synced.add(w)
    w.stream.answerDeferredProgress()
  }

  /** Revisions (hub revision, to] will not be notified: synced watchers that need them demote. */
  #fallBehind(to: number): void {
    const next = this.#rev + 1
    for (const w of [...this.#synced]) if (w.nextRev <= to) this.#demote(w, Math.max(w.nextRev, next))
  }

  #cancelCompacted(w: Watcher, compactRevision: number): void {
    this.remove(w)
    w.stream.compacted(w, compactRevision)
  }
}
