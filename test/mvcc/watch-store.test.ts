/**
 * The watch hub over the real store (MvccStore as its HistorySource): live events come from
 * each ApplyResult, history from the store's tables, and the checker holds both to the same
 * oracle (the events the store reported at apply). Scripted cases for txns, range deletes,
 * lease revocation and compaction, then a property over random commands.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Command } from '../../src/mvcc/index.ts'
import { WatchHub, type WatchHubOptions } from '../../src/mvcc/watch-hub.ts'
import type { WatchCreateRequest } from '../../src/mvcc/watch-messages.ts'
import { Consumer, WatchChecker, request, type Revision } from './watch-fixtures.ts'
import { Harness as StoreHarness, delReq, opDel, opPut, putReq, txnReq } from './helpers.ts'

/** A member in miniature: applies commands to the store and notifies the hub as it would. */
class Member {
  readonly store = new StoreHarness()
  readonly log: Revision[] = []
  readonly hub: WatchHub
  readonly checker: WatchChecker
  readonly #consumers = new Map<string, Consumer>()
  notified: number

  constructor(options: WatchHubOptions = {}) {
    this.hub = new WatchHub(this.store.store, options)
    this.notified = this.store.store.currentRevision()
    this.checker = new WatchChecker(this, () => this.notified)
  }

  compactRevision(): number {
    return this.store.store.compactRevision()
  }

  apply(c: Command): void {
    const r = this.store.run(c)
    if (r.error !== null) return
    if (r.events.length > 0) {
      this.log.push({ revision: r.revision, events: r.events })
      this.notified = r.revision
      this.hub.notify(r.revision, r.events)
    }
    if (c.type === 'compaction') this.hub.compacted(c.request.revision)
  }

  consumer(name = 's', autoAck = true): Consumer {
    let c = this.#consumers.get(name)
    if (c === undefined) {
      c = new Consumer(this.hub, autoAck, this.checker.sink(name))
      this.#consumers.set(name, c)
    }
    return c
  }

  create(req: WatchCreateRequest, name = 's'): void {
    const c = this.consumer(name)
    this.checker.willCreate(name, req)
    c.stream.create(req)
  }

  finish(): string[] {
    for (const c of this.#consumers.values()) {
      c.autoAck = true
      c.ack()
    }
    while (this.hub.syncUnsynced(100));
    this.checker.finish()
    return this.checker.problems
  }
}

test('store: historic and live events agree, txns and range deletes arrive whole, prev_kv as stored', () => {
  const m = new Member()
  m.apply({ type: 'put', request: putReq('a', '1') })
  m.apply({ type: 'put', request: putReq('b', '1') })
  m.create(request({ key: 'a', rangeEnd: 'z', startRevision: 1, prevKv: true }))
  m.create(request({ key: 'a', rangeEnd: 'z', prevKv: true }))
  m.apply({ type: 'txn', request: txnReq({ success: [opPut('a', '2'), opPut('c', '1'), opDel('b')] }) })
  m.hub.syncUnsynced(100)
  m.apply({ type: 'delete-range', request: delReq('a', { rangeEnd: new TextEncoder().encode('z') }) })
  m.apply({ type: 'delete-range', request: delReq('q') })
  assert.deepEqual(m.consumer().log(), [
    '0@3 created',
    '1@3 created',
    '1@4 +a@4 +c@4 -b@4',
    '0@4 +a@2 +b@3 +a@4 +c@4 -b@4',
    '1@5 -a@5 -c@5',
    '0@5 -a@5 -c@5',
  ])
  assert.deepEqual(m.finish(), [])
})

test('store: revoking a lease deletes its keys in one revision, delivered together', () => {
  const m = new Member()
  m.apply({ type: 'lease-grant', request: { ttl: 60, id: 7n } })
  m.apply({ type: 'put', request: putReq('l/a', '1', { lease: 7n }) })
  m.apply({ type: 'put', request: putReq('l/b', '1', { lease: 7n }) })
  m.create(request({ key: 'l/', rangeEnd: 'l0' }))
  m.apply({ type: 'lease-revoke', request: { id: 7n } })
  assert.deepEqual(m.consumer().log(), ['0@3 created', '0@4 -l/a@4 -l/b@4'])
  assert.deepEqual(m.finish(), [])
})

test('store: a watcher behind the store\'s compaction is cancelled with its compact_revision', () => {
  const m = new Member({ maxPendingEvents: 1 })
  m.consumer('s', false)
  m.create(request({ key: 'a' }))
  for (let i = 0; i < 4; i++) m.apply({ type: 'put', request: putReq('a', String(i)) })
  m.apply({ type: 'compaction', request: { revision: 4, physical: false } })
  m.create(request({ key: 'a', startRevision: 2 }), 'late')
  assert.deepEqual(m.consumer().log(), ['0@1 created', '0@2 +a@2', '0@0 canceled compact=4'])
  assert.deepEqual(m.consumer('late').log(), ['0@5 created', '0@0 canceled compact=4'])
  assert.deepEqual(m.finish(), [])
})

test('store: negative start revisions against the compacted main revision (-1 until compacted, then 0 or C)', () => {
  // As etcd 3.4 answers (seen on 3.4.23): before any compaction -1 goes live and -2 ends with
  // compact_revision -1; after a compaction at 0, -1 gets an empty uncancelled answer and nothing more.
  const m = new Member()
  m.apply({ type: 'put', request: putReq('a', '1') })
  m.create(request({ key: 'a', startRevision: -1 }), 'live')
  m.create(request({ key: 'a', startRevision: -2 }), 'low')
  m.apply({ type: 'compaction', request: { revision: 0, physical: false } })
  m.create(request({ key: 'a', startRevision: -1 }), 'zero')
  m.apply({ type: 'put', request: putReq('a', '2') })
  assert.deepEqual(m.consumer('live').log(), ['0@2 created', '0@3 +a@3'])
  assert.deepEqual(m.consumer('low').log(), ['0@2 created', '0@0 canceled compact=-1'])
  assert.deepEqual(m.consumer('zero').log(), ['0@2 created', '0@0 progress'])
})

test('store: a client resuming at compact_revision R still gets a delete at R', () => {
  const m = new Member()
  m.apply({ type: 'put', request: putReq('c', '1') })
  m.apply({ type: 'delete-range', request: delReq('c') })
  m.apply({ type: 'put', request: putReq('d', '1') })
  m.apply({ type: 'compaction', request: { revision: 3, physical: false } })
  m.create(request({ key: 'c', startRevision: 3 }))
  m.hub.syncUnsynced(100)
  assert.deepEqual(m.consumer().log(), ['0@4 created', '0@4 -c@3'])
})

const KEYS = ['a', 'ab', 'b', 'c'] as const
const key = fc.constantFrom(...KEYS)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: key, v: fc.constantFrom('1', '2') }).map(({ k, v }) => put(k, v)) },
  { weight: 2, arbitrary: key.map((k): Command => ({ type: 'delete-range', request: delReq(k) })) },
  {
    weight: 1,
    arbitrary: fc.tuple(key, fc.constantFrom('b', 'c', '\0')).map(([k, end]): Command => ({
      type: 'delete-range',
      request: delReq(k, { rangeEnd: new TextEncoder().encode(end) }),
    })),
  },
  {
    weight: 2,
    arbitrary: fc.uniqueArray(key, { minLength: 2, maxLength: 3 }).map((ks): Command => ({
      type: 'txn',
      request: txnReq({ success: ks.map((k, i) => (i === 0 ? opDel(k) : opPut(k, 't'))) }),
    })),
  },
)

function put(k: string, v: string): Command {
  return { type: 'put', request: putReq(k, v) }
}

type Step =
  | { readonly kind: 'apply'; readonly command: Command }
  | { readonly kind: 'watch'; readonly key: string; readonly rangeEnd: string; readonly back: number }
  | { readonly kind: 'watch-opts'; readonly prevKv: boolean; readonly noDelete: boolean; readonly stream: number }
  | { readonly kind: 'sync'; readonly budget: number }
  | { readonly kind: 'ack'; readonly stream: number }
  | { readonly kind: 'compact'; readonly back: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: command.map((c): Step => ({ kind: 'apply', command: c })) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('watch' as const),
      key,
      rangeEnd: fc.constantFrom('', 'c', '\0'),
      back: fc.integer({ min: -1, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('watch-opts' as const),
      prevKv: fc.boolean(),
      noDelete: fc.boolean(),
      stream: fc.nat(1),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), budget: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), stream: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(6) }) },
)

test('store property: every watcher over the real store gets exactly its events', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60, size: 'max' }), fc.integer({ min: 1, max: 4 }), (steps, bound) => {
      const m = new Member({ maxPendingEvents: bound })
      const streams = ['fast', 'slow']
      m.consumer('fast')
      m.consumer('slow', false)
      let opts = { prevKv: false, noDelete: false, stream: 0 }
      for (const s of steps) {
        if (s.kind === 'apply') m.apply(s.command)
        else if (s.kind === 'watch-opts') opts = s
        else if (s.kind === 'watch') {
          const startRevision = s.back < 0 ? 0 : Math.max(1, m.notified - s.back)
          const filters = opts.noDelete ? (['NODELETE'] as const) : []
          const req = request({ key: s.key, rangeEnd: s.rangeEnd, startRevision, prevKv: opts.prevKv, filters })
          m.create(req, streams[opts.stream])
        } else if (s.kind === 'sync') m.hub.syncUnsynced(s.budget)
        else if (s.kind === 'ack') m.consumer(streams[s.stream]).ack(2)
        else {
          const rev = m.notified - s.back
          if (rev > m.compactRevision())
            m.apply({ type: 'compaction', request: { revision: rev, physical: false } })
        }
      }
      assert.deepEqual(m.finish(), [])
    }),
    { numRuns: Number(process.env.WATCH_RUNS ?? 150), includeErrorInReport: true },
  )
})
