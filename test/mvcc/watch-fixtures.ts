/**
 * Test support for the watch hub: an in-memory {@link HistorySource} (a full event log, kept
 * whole after compaction so it can serve as the oracle), a consumer that records responses and
 * acknowledges them now or later, and {@link WatchChecker}, an online validator of etcd's watch
 * guarantees that knows nothing of the hub's internals.
 */
import type { Event, HistorySource, KeyValue } from '../../src/mvcc/kv.ts'
import { Errors } from '../../src/mvcc/errors.ts'
import { WatchHub, type WatchHubOptions } from '../../src/mvcc/watch-hub.ts'
import {
  DUPLICATE_WATCH_ID,
  EMPTY_WATCHER_RANGE,
  type WatchCreateRequest,
  type WatchResponse,
  type WatchSink,
} from '../../src/mvcc/watch-messages.ts'
import type { WatchStream } from '../../src/mvcc/watch-stream.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
export const b = (s: string): Uint8Array => enc.encode(s)
export const str = (u: Uint8Array): string => dec.decode(u)
const EMPTY = new Uint8Array(0)

export type Op =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'delete'; readonly key: string }

export interface Revision {
  readonly revision: number
  readonly events: readonly Event[]
}

/** What the checker needs: every revision ever written (the oracle) and the compacted revision. */
export interface EventLog {
  readonly log: readonly Revision[]
  compactRevision(): number
}

/** Independent of src/: etcd's range rules over byte strings via Buffer.compare. */
export function inRange(key: Uint8Array, rangeEnd: Uint8Array, k: Uint8Array): boolean {
  const cmp = (x: Uint8Array, y: Uint8Array): number => Buffer.compare(Buffer.from(x), Buffer.from(y))
  if (rangeEnd.length === 0) return cmp(key, k) === 0
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return cmp(k, key) >= 0
  return cmp(k, key) >= 0 && cmp(k, rangeEnd) < 0
}

export class FakeHistory implements HistorySource {
  /** Every revision ever written, in order (compaction does not drop them: the oracle needs them). */
  readonly log: Revision[] = []
  readonly #live = new Map<string, KeyValue>()
  #rev = 1
  #compact = 0
  reads = 0

  currentRevision(): number {
    return this.#rev
  }

  compactRevision(): number {
    return this.#compact
  }

  /** This history never compacts at 0: -1 stands for never. */
  compactMainRevision(): number {
    return this.#compact === 0 ? -1 : this.#compact
  }

  /** Applies one transaction; null (no new revision) when it changed nothing. Repeated keys: first wins. */
  apply(ops: readonly Op[]): Revision | null {
    const rev = this.#rev + 1
    const events: Event[] = []
    const seen = new Set<string>()
    for (const op of ops) {
      if (seen.has(op.key)) continue
      seen.add(op.key)
      const prev = this.#live.get(op.key) ?? null
      if (op.type === 'put') {
        const kv: KeyValue = {
          key: b(op.key),
          createRevision: prev?.createRevision ?? rev,
          modRevision: rev,
          version: (prev?.version ?? 0) + 1,
          value: b(op.value),
          lease: 0n,
        }
        this.#live.set(op.key, kv)
        events.push({ type: 'PUT', kv, prevKv: prev })
      } else if (prev !== null) {
        this.#live.delete(op.key)
        const kv = { ...prev, createRevision: 0, modRevision: rev, version: 0, value: EMPTY, lease: 0n }
        events.push({ type: 'DELETE', kv, prevKv: prev })
      }
    }
    if (events.length === 0) return null
    this.#rev = rev
    const entry = { revision: rev, events }
    this.log.push(entry)
    return entry
  }

  compact(revision: number): void {
    if (revision > this.#rev) throw new Error('compact beyond current')
    this.#compact = Math.max(this.#compact, revision)
  }

  eventsBetween(from: number, to: number, key: Uint8Array, rangeEnd: Uint8Array, maxEvents: number): Event[] {
    if (from < this.#compact) throw Errors.compacted()
    this.reads++
    const out: Event[] = []
    for (const entry of this.log) {
      if (entry.revision < from || entry.revision > to) continue
      for (const e of entry.events) if (inRange(key, rangeEnd, e.kv.key)) out.push(e)
      if (out.length >= maxEvents) break
    }
    return out
  }
}

export function request(
  fields: Partial<Omit<WatchCreateRequest, 'key' | 'rangeEnd'>> & { key: string; rangeEnd?: string },
): WatchCreateRequest {
  return {
    startRevision: 0,
    progressNotify: false,
    filters: [],
    prevKv: false,
    watchId: 0,
    ...fields,
    key: b(fields.key),
    rangeEnd: fields.rangeEnd === undefined ? EMPTY : b(fields.rangeEnd),
  }
}

/** Records a stream's responses; acknowledges each at once (`autoAck`) or when told. */
export class Consumer {
  readonly received: WatchResponse[] = []
  readonly unacked: WatchResponse[] = []
  autoAck: boolean
  stream: WatchStream

  constructor(hub: WatchHub, autoAck = true, wrap: (sink: WatchSink) => WatchSink = (s) => s) {
    this.autoAck = autoAck
    this.stream = hub.openStream(
      wrap((r) => {
        this.received.push(r)
        if (this.autoAck) this.stream.acknowledge(r)
        else this.unacked.push(r)
      }),
    )
  }

  /** Acknowledges the oldest `n` unacknowledged responses. */
  ack(n = Infinity): void {
    for (const r of this.unacked.splice(0, Math.min(n, this.unacked.length))) this.stream.acknowledge(r)
  }

  /** Compact text per response, for table tests: `id:created`, `id@rev PUT a=1 DELETE b`, … */
  log(): string[] {
    return this.received.map(describeResponse)
  }
}

export function describeEvent(e: Event): string {
  const kv = e.kv
  const p = e.prevKv
  const prev = p === null ? '' : ` (prev ${str(p.key)}@${p.modRevision}=${str(p.value)})`
  if (e.type === 'DELETE') return `DELETE ${str(kv.key)}@${kv.modRevision}${prev}`
  return `PUT ${str(kv.key)}@${kv.modRevision}=${str(kv.value)} c${kv.createRevision} v${kv.version}${prev}`
}

export function describeResponse(r: WatchResponse): string {
  const parts = [`${r.watchId}@${r.headerRevision}`]
  if (r.created) parts.push('created')
  if (r.canceled) parts.push('canceled')
  if (r.compactRevision !== 0) parts.push(`compact=${r.compactRevision}`)
  if (r.cancelReason !== '') parts.push(`reason=${r.cancelReason}`)
  for (const e of r.events) parts.push(`${e.type === 'PUT' ? '+' : '-'}${str(e.kv.key)}@${e.kv.modRevision}`)
  if (!r.created && !r.canceled && r.events.length === 0) parts.push('progress')
  return parts.join(' ')
}

interface WatcherModel {
  readonly request: WatchCreateRequest
  readonly start: number
  /** The lowest revision the client has not provably been served (from message headers). */
  next: number
}

interface StreamModel {
  readonly live: Map<number, WatcherModel>
  readonly creates: WatchCreateRequest[]
  readonly cancels: Set<number>
  /** Watchers a compaction ended: their IDs stay taken until the client cancels them (answered). */
  readonly ended: Set<number>
}

/**
 * Online validator of etcd's watch guarantees. Wrap each stream's sink with {@link sink} and
 * announce every request (`willCreate`, `willCancel`) before making it. Each response is checked
 * as it arrives against the full log:
 * - an events response with header H carries exactly the watcher's events in [next, H]: ordered,
 *   no gap, no duplicate, a revision never split, filters and prev_kv right (prev_kv may only be
 *   missing when that previous version is below the compacted revision); then next = H + 1;
 * - a progress response (per watcher, or stream-wide with ID -1 for every watcher) says the
 *   current revision R and nothing of the watcher's in [next, R] is missing;
 * - a compaction cancel carries the store's compacted revision C, has no header revision, and
 *   the watcher really still needed a revision below C (next < C);
 * - created/cancel responses answer requests that were made, with etcd's IDs and reasons.
 * {@link finish} then requires every live watcher to have been served up to the current revision.
 */
export class WatchChecker {
  readonly problems: string[] = []
  readonly #history: EventLog
  readonly #notified: () => number
  readonly #streams = new Map<string, StreamModel>()

  /** `notified()`: the last revision the test has notified to the hub. */
  constructor(history: EventLog, notified: () => number) {
    this.#history = history
    this.#notified = notified
  }

  sink(stream: string): (next: WatchSink) => WatchSink {
    const model: StreamModel = { live: new Map(), creates: [], cancels: new Set(), ended: new Set() }
    this.#streams.set(stream, model)
    return (next) => (r) => {
      this.#check(stream, model, r)
      next(r)
    }
  }

  willCreate(stream: string, req: WatchCreateRequest): void {
    this.#model(stream).creates.push(req)
  }

  willCancel(stream: string, watchId: number): void {
    const m = this.#model(stream)
    if (m.live.has(watchId) || m.ended.has(watchId)) m.cancels.add(watchId)
  }

  /** The stream was closed: its watchers end silently. */
  closed(stream: string): void {
    this.#model(stream).live.clear()
  }

  finish(): void {
    const now = this.#notified()
    for (const [name, m] of this.#streams) {
      if (m.creates.length > 0) this.#fail(`${name}: ${m.creates.length} create request(s) never answered`)
      if (m.cancels.size > 0) this.#fail(`${name}: cancel of ${[...m.cancels].join(',')} never answered`)
      for (const [id, w] of m.live) this.#nothingMissing(`${name}/${id} at the end`, w, now)
    }
  }

  #model(stream: string): StreamModel {
    const m = this.#streams.get(stream)
    if (m === undefined) throw new Error(`unknown stream ${stream}`)
    return m
  }

  #fail(message: string): void {
    this.problems.push(message)
  }

  /** The watcher's events with revision in [from, to], shaped as it asked. */
  expected(w: WatcherModel, from: number, to: number): Event[] {
    const out: Event[] = []
    for (const entry of this.#history.log) {
      if (entry.revision < Math.max(from, w.start) || entry.revision > to) continue
      for (const e of entry.events) {
        if (!inRange(w.request.key, w.request.rangeEnd, e.kv.key)) continue
        if (w.request.filters.includes(e.type === 'PUT' ? 'NOPUT' : 'NODELETE')) continue
        out.push(w.request.prevKv ? e : { ...e, prevKv: null })
      }
    }
    return out
  }

  #nothingMissing(where: string, w: WatcherModel, upTo: number): void {
    const missing = this.expected(w, w.next, upTo)
    if (missing.length > 0)
      this.#fail(`${where}: claims revision ${upTo} but misses ${missing.map(describeEvent).join('; ')}`)
  }

  #check(name: string, m: StreamModel, r: WatchResponse): void {
    const where = `${name}/${r.watchId} ${describeResponse(r)}`
    const now = this.#notified()
    if (r.created) {
      const req = m.creates.shift()
      if (req === undefined) return this.#fail(`${where}: created without a request`)
      if (r.headerRevision !== now) this.#fail(`${where}: created header ≠ current revision ${now}`)
      if (r.canceled) {
        const duplicate = req.watchId !== 0 && (m.live.has(req.watchId) || m.ended.has(req.watchId))
        const open = req.rangeEnd.length === 0 || (req.rangeEnd.length === 1 && req.rangeEnd[0] === 0)
        const empty = !open && Buffer.compare(Buffer.from(req.key), Buffer.from(req.rangeEnd)) >= 0
        const reason = duplicate ? DUPLICATE_WATCH_ID : empty ? EMPTY_WATCHER_RANGE : '(none)'
        if (r.watchId !== -1 || r.cancelReason !== reason)
          this.#fail(`${where}: refused; the reason should be ${reason}`)
        return
      }
      if (m.live.has(r.watchId) || m.ended.has(r.watchId)) return this.#fail(`${where}: ID already in use`)
      if (req.watchId !== 0 && r.watchId !== req.watchId) this.#fail(`${where}: asked for ID ${req.watchId}`)
      // etcd's compacted revision reads -1 until the first compaction: a start of -1 then goes live;
      // any other negative start stays below every revision and must end as compacted.
      const live = req.startRevision === 0 || (req.startRevision === -1 && this.#history.compactRevision() === 0)
      const start = live ? now + 1 : req.startRevision
      m.live.set(r.watchId, { request: req, start, next: start })
      return
    }
    if (r.watchId === -1) {
      if (r.headerRevision !== now || r.events.length > 0)
        this.#fail(`${where}: stream progress must carry ${now}, no events`)
      for (const [id, w] of m.live) {
        this.#nothingMissing(`${name}/${id} stream progress`, w, r.headerRevision)
        w.next = Math.max(w.next, r.headerRevision + 1)
      }
      return
    }
    if (m.ended.has(r.watchId)) {
      // Only the answer to the client's cancel of a watcher a compaction ended may follow.
      m.ended.delete(r.watchId)
      if (!r.canceled || r.compactRevision !== 0 || !m.cancels.delete(r.watchId))
        this.#fail(`${where}: after a compaction only a requested cancel is answered`)
      if (r.headerRevision !== now) this.#fail(`${where}: cancel header ≠ ${now}`)
      return
    }
    const w = m.live.get(r.watchId)
    if (w === undefined) return this.#fail(`${where}: response for a watcher that is not live`)
    if (r.canceled) {
      m.live.delete(r.watchId)
      if (r.compactRevision === 0) {
        if (!m.cancels.delete(r.watchId)) this.#fail(`${where}: canceled without a request`)
        if (r.headerRevision !== now) this.#fail(`${where}: cancel header ≠ ${now}`)
        return
      }
      const stored = this.#history.compactRevision()
      const compacted = stored === 0 && w.next < 0 ? -1 : stored
      if (r.compactRevision !== compacted) this.#fail(`${where}: compact_revision ≠ store's ${compacted}`)
      if (r.headerRevision !== 0) this.#fail(`${where}: a compaction cancel has no header revision`)
      m.ended.add(r.watchId)
      if (w.next >= r.compactRevision)
        this.#fail(`${where}: served up to ${w.next - 1}, needed nothing compacted`)
      return
    }
    if (r.events.length === 0) {
      if (r.headerRevision !== now) this.#fail(`${where}: progress must carry ${now}`)
      this.#nothingMissing(where, w, r.headerRevision)
      w.next = Math.max(w.next, r.headerRevision + 1)
      return
    }
    const compacted = this.#history.compactRevision()
    const expected = this.expected(w, w.next, r.headerRevision)
    // As etcd: an event read back from the tables lacks prev_kv when that version was compacted.
    const want = expected.map((e, i) => {
      const prevGone = e.prevKv !== null && e.prevKv.modRevision < compacted && r.events[i]?.prevKv === null
      return describeEvent(prevGone ? { ...e, prevKv: null } : e)
    })
    const got = r.events.map(describeEvent)
    if (want.join('\n') !== got.join('\n'))
      this.#fail(`${where}: served from ${w.next}, expected [${want.join('; ')}] got [${got.join('; ')}]`)
    if (r.headerRevision > now) this.#fail(`${where}: header ahead of the current revision ${now}`)
    w.next = r.headerRevision + 1
  }
}

/** Corrupts or observes what a named stream's consumer receives. */
export type Wrap = (name: string, sink: WatchSink) => WatchSink

/**
 * A fake store, a hub over it, named consumers, and a checker on every stream. `write` applies a
 * transaction to the store and (unless told to lag) notifies the hub, as the member would.
 */
export class Harness {
  readonly history = new FakeHistory()
  readonly hub: WatchHub
  readonly checker: WatchChecker
  readonly #consumers = new Map<string, Consumer>()
  /** Revisions applied to the store and not yet notified (the store may run ahead of the hub). */
  readonly lagging: Revision[] = []
  notified = 1

  constructor(options: WatchHubOptions = {}, wrap: Wrap = (_, s) => s) {
    this.hub = new WatchHub(this.history, options)
    this.checker = new WatchChecker(this.history, () => this.notified)
    this.#wrap = wrap
  }

  readonly #wrap: Wrap

  consumer(name = 's', autoAck = true): Consumer {
    let c = this.#consumers.get(name)
    if (c === undefined) {
      const check = this.checker.sink(name)
      c = new Consumer(this.hub, autoAck, (sink) => this.#wrap(name, check(sink)))
      this.#consumers.set(name, c)
    }
    return c
  }

  get consumers(): Consumer[] {
    return [...this.#consumers.values()]
  }

  create(req: WatchCreateRequest, name = 's'): void {
    const c = this.consumer(name)
    this.checker.willCreate(name, req)
    c.stream.create(req)
  }

  cancel(watchId: number, name = 's'): void {
    const c = this.consumer(name)
    this.checker.willCancel(name, watchId)
    c.stream.cancel(watchId)
  }

  write(ops: readonly Op[], lag = false): number {
    const entry = this.history.apply(ops)
    if (entry === null) return this.history.currentRevision()
    this.lagging.push(entry)
    if (!lag) this.flush()
    return entry.revision
  }

  put(key: string, value: string): number {
    return this.write([{ type: 'put', key, value }])
  }

  del(key: string): number {
    return this.write([{ type: 'delete', key }])
  }

  /** Notifies every lagging revision, in order. */
  flush(): void {
    for (const entry of this.lagging.splice(0)) {
      this.notified = entry.revision
      this.hub.notify(entry.revision, entry.events)
    }
  }

  compact(revision: number): void {
    this.flush()
    this.history.compact(revision)
    this.hub.compacted(revision)
  }

  /** Syncs until the hub says no budget-starved work is left. */
  drainSync(budget = 1000): void {
    for (let i = 0; this.hub.syncUnsynced(budget); i++)
      if (i > 100_000) throw new Error('syncUnsynced does not terminate')
  }

  /** Flush, acknowledge everything, sync to the end, then run the checker's final check. */
  finish(): string[] {
    this.flush()
    for (const c of this.consumers) {
      c.autoAck = true
      c.ack()
    }
    this.drainSync()
    this.checker.finish()
    return this.checker.problems
  }
}
