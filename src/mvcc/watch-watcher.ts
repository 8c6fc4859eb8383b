/**
 * One watcher: what it watches, what it wants in its events, how far it has been served
 * (`nextRev`), and its bounded buffer: what it was sent that its consumer has not acknowledged.
 *
 * Lifecycle; every move is made by the hub (watch-hub.ts), never by the watcher itself:
 *
 *   create ─┬─ start < compacted revision ─────────────────────────────▶ canceled (compacted)
 *           ├─ start > current ──▶ synced ◀────── caught up ─────┐
 *           └─ start ≤ current ──▶ unsynced ─────────────────────┘
 *                                   ▲  └─ needed revision compacted ──▶ canceled (compacted)
 *      synced ── buffer full at R ──┘  (a "victim": nextRev = R, read back from the tables)
 *      any ── cancel request / stream closed ─────────────────────────▶ canceled
 *
 * A victim is simply an unsynced watcher whose buffer is full: it holds no events of its own
 * and is skipped by the sync until its consumer acknowledges enough.
 *
 * @module
 */
import type { Event } from './kv.ts'
import type { KeySpan } from './key-range.ts'
import type { WatchCreateRequest } from './watch-messages.ts'
import type { WatchStream } from './watch-stream.ts'

/** Per-watcher buffer bounds (soft by at most one revision: see {@link Watcher.admit}). */
export interface WatchLimits {
  readonly maxPendingEvents: number
  readonly maxPendingBytes: number
}

export type WatcherState = 'synced' | 'unsynced' | 'canceled'

/** Estimated wire cost of one event: its key and value bytes, plus a fixed framing overhead. */
export function eventBytes(e: Event): number {
  const prev = e.prevKv === null ? 0 : EVENT_OVERHEAD + e.prevKv.key.length + e.prevKv.value.length
  return EVENT_OVERHEAD + e.kv.key.length + e.kv.value.length + prev
}

/** Framing overhead of an event, and the whole cost of a progress response. */
export const EVENT_OVERHEAD = 64

export class Watcher {
  readonly id: number
  readonly stream: WatchStream
  /** Never 'none': the stream refuses an empty range. */
  readonly span: KeySpan
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
  readonly progressNotify: boolean
  readonly #prevKv: boolean
  readonly #noPut: boolean
  readonly #noDelete: boolean
  readonly #limits: WatchLimits

  /** The watcher asked for prev_kv. */
  get prevKv(): boolean {
    return this.#prevKv
  }

  /** Owner: the hub; it sets the real state when it takes the watcher in. */
  state: WatcherState = 'unsynced'
  /**
   * The lowest revision this watcher has not been served. Invariant: the watcher has been sent
   * every matching event below `nextRev` exactly once, and nothing at or above it. While synced,
   * the hub's current revision + 1 is the effective value when larger (live revisions with no
   * match for this watcher do not touch it); `nextRev` above that means a future start revision.
   */
  nextRev: number
  /** Sent and not yet acknowledged. Invariant: ≥ 0. */
  pendingEvents = 0
  pendingBytes = 0
  /** No events were sent since the last progress round (etcd sends progress only to quiet ones). */
  quiet = true

  constructor(
    id: number,
    stream: WatchStream,
    request: WatchCreateRequest,
    span: KeySpan,
    nextRev: number,
    limits: WatchLimits,
  ) {
    this.id = id
    this.stream = stream
    this.span = span
    this.key = request.key
    this.rangeEnd = request.rangeEnd
    this.progressNotify = request.progressNotify
    this.#prevKv = request.prevKv
    this.#noPut = request.filters.includes('NOPUT')
    this.#noDelete = request.filters.includes('NODELETE')
    this.#limits = limits
    this.nextRev = nextRev
  }

  /** The events (already known to be in range) this watcher wants, shaped for it: filters, prev_kv. */
  select(events: readonly Event[]): Event[] {
    const out: Event[] = []
    for (const e of events) {
      if (e.type === 'PUT' ? this.#noPut : this.#noDelete) continue
      out.push(this.#prevKv || e.prevKv === null ? e : { type: e.type, kv: e.kv, prevKv: null })
    }
    return out
  }

  /** Below both bounds: it takes the next revision (live or read from the tables). */
  hasRoom(): boolean {
    return this.#below(this.pendingEvents, this.pendingBytes)
  }

  /** Events left before the event bound; at least 1 while {@link hasRoom}. */
  roomEvents(): number {
    return this.#limits.maxPendingEvents - this.pendingEvents
  }

  /**
   * How many events from the front of `events` (ordered by revision) the buffer takes: whole
   * revisions, each taken while the buffer is still below both bounds before it. So a watcher
   * with room always takes at least one revision, and a buffer holds at most its bounds plus one
   * revision (one revision larger than the bounds still gets through: atomicity wins).
   */
  admit(events: readonly Event[]): number {
    let pendingEvents = this.pendingEvents
    let pendingBytes = this.pendingBytes
    let i = 0
    while (i < events.length && this.#below(pendingEvents, pendingBytes)) {
      const rev = (events[i] as Event).kv.modRevision
      for (; i < events.length && (events[i] as Event).kv.modRevision === rev; i++) {
        pendingEvents++
        pendingBytes += eventBytes(events[i] as Event)
      }
    }
    return i
  }

  #below(events: number, bytes: number): boolean {
    return events < this.#limits.maxPendingEvents && bytes < this.#limits.maxPendingBytes
  }

  charge(events: number, bytes: number): void {
    this.pendingEvents += events
    this.pendingBytes += bytes
    if (events > 0) this.quiet = false
  }

  release(events: number, bytes: number): void {
    this.pendingEvents -= events
    this.pendingBytes -= bytes
  }
}
