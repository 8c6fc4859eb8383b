/**
 * One client watch stream (etcd's serverWatchStream + watchStream): it numbers its watchers,
 * turns create / cancel / progress requests into hub calls, and sends every response for its
 * watchers to one synchronous sink, in the order the hub produces them.
 *
 * Flow control is by acknowledgement: each response that carries events (or a per-watcher
 * progress) is charged to its watcher's bounded buffer when sent; the consumer calls
 * {@link WatchStream.acknowledge} with the same response object once it has written it out. A
 * watcher whose buffer cannot take a revision becomes a victim and catches up from the tables
 * later, so a slow consumer never blocks writes or other watchers and never loses events.
 * Created/cancel/stream-progress responses are free (their number is bounded by the client's
 * own requests); acknowledging them is harmless.
 *
 * @module
 */
import type { WatchHub } from './watch-hub.ts'
import { keySpan } from './key-range.ts'
import {
  DUPLICATE_WATCH_ID,
  EMPTY_WATCHER_RANGE,
  watchResponse,
  type WatchCreateRequest,
  type WatchResponse,
  type WatchSink,
} from './watch-messages.ts'
import { Watcher, type WatchLimits } from './watch-watcher.ts'

interface InFlight {
  readonly watcher: Watcher
  readonly events: number
  readonly bytes: number
}

export class WatchStream {
  readonly #hub: WatchHub
  readonly #sink: WatchSink
  readonly #limits: WatchLimits
  /** Invariant: exactly the watchers of this stream that are not canceled. */
  readonly #watchers = new Map<number, Watcher>()
  /** Charged responses not yet acknowledged; keyed by object, so a reused watch ID is no confusion. */
  readonly #inFlight = new WeakMap<WatchResponse, InFlight>()
  #nextId = 0
  /**
   * IDs of watchers ended by a compaction and not yet cancelled by the client: as in etcd, the ID
   * stays taken (a create asking for it is a duplicate) until a cancel, which is answered.
   */
  readonly #ended = new Set<number>()
  /** A progress request waits until every watcher on the stream is synced (etcd's rule). */
  #progressDeferred = false
  #closed = false

  /** Use {@link WatchHub.openStream}. */
  constructor(hub: WatchHub, sink: WatchSink, limits: WatchLimits) {
    this.#hub = hub
    this.#sink = sink
    this.#limits = limits
  }

  /**
   * Starts a watcher. Sends `created` (header = the hub's current revision), or `created` +
   * `canceled` with watch ID -1 for a duplicate ID or an empty range. A start revision below the
   * compacted revision (a negative one: below etcd's compacted main revision, see WatchHub.add)
   * gets `created`, then the compaction answer (see `compacted`). Returns the watch ID, or null
   * when refused.
   */
  create(request: WatchCreateRequest): number | null {
    if (this.#closed) throw new Error('watch stream is closed')
    const rev = this.#hub.revision
    const refuse = (cancelReason: string): null => {
      const created = true
      this.#sink(watchResponse({ watchId: -1, headerRevision: rev, created, canceled: true, cancelReason }))
      return null
    }
    if (request.watchId !== 0 && this.#taken(request.watchId)) return refuse(DUPLICATE_WATCH_ID)
    const span = keySpan(request.key, request.rangeEnd)
    if (span.kind === 'none') return refuse(EMPTY_WATCHER_RANGE)
    let id = request.watchId
    if (id === 0) {
      while (this.#taken(this.#nextId)) this.#nextId++
      id = this.#nextId++
    }
    // 0 means from the next revision; a negative start is judged by the hub (see WatchHub.add).
    const start = request.startRevision === 0 ? rev + 1 : request.startRevision
    const w = new Watcher(id, this, request, span, start, this.#limits)
    this.#watchers.set(id, w)
    this.#sink(watchResponse({ watchId: id, headerRevision: rev, created: true }))
    this.#hub.add(w)
    return id
  }

  /** Watchers the stream holds: created, and neither cancelled nor ended by a compaction. */
  get size(): number {
    return this.#watchers.size
  }

  /**
   * Cancels one watcher and sends `canceled` (also for a watcher a compaction ended, whose ID is
   * then free again); an unknown ID sends nothing.
   */
  cancel(watchId: number): void {
    if (this.#ended.delete(watchId)) {
      this.#sink(watchResponse({ watchId, headerRevision: this.#hub.revision, canceled: true }))
      return
    }
    const w = this.#watchers.get(watchId)
    if (w === undefined) return
    this.#hub.remove(w)
    this.#watchers.delete(watchId)
    this.#sink(watchResponse({ watchId, headerRevision: this.#hub.revision, canceled: true }))
    this.answerDeferredProgress()
  }

  /**
   * Asks for a stream-wide progress response (watch ID -1, header = the hub's current revision).
   * Sent now if every watcher on the stream is synced, otherwise as soon as they all are, so it
   * never claims a revision some watcher has not been served up to. Repeated requests while one
   * is deferred are answered once.
   */
  requestProgress(): void {
    if (this.#closed) return
    this.#progressDeferred = true
    this.answerDeferredProgress()
  }

  /** The consumer has written `response` out: frees its place in its watcher's buffer. */
  acknowledge(response: WatchResponse): void {
    const f = this.#inFlight.get(response)
    if (f === undefined) return
    this.#inFlight.delete(response)
    f.watcher.release(f.events, f.bytes)
  }

  /** The client went away: removes every watcher, sends nothing. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const w of this.#watchers.values()) this.#hub.remove(w)
    this.#watchers.clear()
    this.#ended.clear()
    this.#progressDeferred = false
  }

  // ---- called by the hub ----------------------------------------------------------------

  /** Sends a response for `w`, charging `events`/`bytes` to its buffer until acknowledged. */
  send(w: Watcher, response: WatchResponse, events: number, bytes: number): void {
    w.charge(events, bytes)
    this.#inFlight.set(response, { watcher: w, events, bytes })
    this.#sink(response)
  }

  /**
   * The hub ended `w` because a revision it needs was compacted away. As etcd's watch server, the
   * answer is marked canceled when it carries a compact revision: a watcher ended by a compaction
   * at revision 0 (a negative start after compacting at 0) gets an empty answer, then nothing.
   */
  compacted(w: Watcher, compactRevision: number): void {
    this.#watchers.delete(w.id)
    this.#ended.add(w.id)
    this.#sink(watchResponse({ watchId: w.id, headerRevision: 0, canceled: compactRevision !== 0, compactRevision }))
    this.answerDeferredProgress()
  }

  /** Sends the deferred progress response if one is due and every watcher is now synced. */
  answerDeferredProgress(): void {
    if (!this.#progressDeferred) return
    for (const w of this.#watchers.values()) if (w.state !== 'synced') return
    this.#progressDeferred = false
    this.#sink(watchResponse({ watchId: -1, headerRevision: this.#hub.revision }))
  }

  #taken(id: number): boolean {
    return this.#watchers.has(id) || this.#ended.has(id)
  }
}
