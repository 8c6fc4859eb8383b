/**
 * Property test of the watch hub's guarantees: random interleavings of writes (some applied
 * before the hub is told), watchers created at random revisions (historic, live, future, below
 * the compaction) on keys and ranges with filters and prev_kv, slow consumers, compactions,
 * snapshot restores, syncs with small budgets, progress rounds and progress requests. The online
 * checker (watch-fixtures.ts) validates every response; at the end every consumer catches up and
 * every live watcher must have been served exactly its events up to the current revision.
 *
 * The same property is then run against deliberately broken hubs (responses dropped on a full
 * buffer, duplicated, a revision split, a progress answered early): each must be caught, so the
 * checker is known to be able to fail.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { WatchHubOptions } from '../../src/mvcc/watch-hub.ts'
import { watchResponse, type WatchFilter } from '../../src/mvcc/watch-messages.ts'
import { Harness, request, type Op, type Wrap } from './watch-fixtures.ts'

const KEYS = ['a', 'ab', 'b', 'b0', 'c', 'd'] as const
const STREAMS = ['s0', 's1', 's2'] as const

type Action =
  | { readonly kind: 'write'; readonly ops: readonly Op[]; readonly lag: boolean }
  | {
      readonly kind: 'create'
      readonly stream: number
      readonly key: string
      readonly rangeEnd: string
      /** < 0: that far back from the current revision; 0: live; > 0: current + n (future when ≥ 2). */
      readonly start: number
      /** When not 0, the start revision sent instead of `start` (etcd's negative start revisions). */
      readonly negative: number
      readonly filters: readonly WatchFilter[]
      readonly prevKv: boolean
      readonly progressNotify: boolean
      readonly watchId: number
    }
  | { readonly kind: 'cancel'; readonly stream: number; readonly watchId: number }
  | { readonly kind: 'sync'; readonly budget: number }
  | { readonly kind: 'ack'; readonly stream: number; readonly n: number }
  | { readonly kind: 'slow'; readonly stream: number; readonly slow: boolean }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'progress' }
  | { readonly kind: 'progress-request'; readonly stream: number }
  | { readonly kind: 'restore'; readonly writes: readonly (readonly Op[])[]; readonly compactBack: number }

const key = fc.constantFrom(...KEYS)
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key, value: fc.constantFrom('1', '22', 'x'.repeat(40)) }),
  fc.record({ type: fc.constant('delete' as const), key }),
)
const txn = fc.array(op, { minLength: 1, maxLength: 3 })
const stream = fc.nat({ max: STREAMS.length - 1 })
const small = (max: number): fc.Arbitrary<number> => fc.integer({ min: 1, max })

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('write' as const), ops: txn, lag: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      stream,
      key,
      rangeEnd: fc.constantFrom('', '', 'b', 'c', 'e', '\0', 'a'),
      start: fc.integer({ min: -6, max: 3 }),
      negative: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, -1, -2),
      filters: fc.subarray<WatchFilter>(['NOPUT', 'NODELETE']),
      prevKv: fc.boolean(),
      progressNotify: fc.boolean(),
      watchId: fc.constantFrom(0, 0, 0, 1, 2, 5),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), stream, watchId: fc.nat(5) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), budget: small(6) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), stream, n: small(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('slow' as const), stream, slow: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat({ max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('progress' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('progress-request' as const), stream }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restore' as const),
      writes: fc.array(txn, { maxLength: 4 }),
      compactBack: fc.nat({ max: 12 }),
    }),
  },
)

const options: fc.Arbitrary<WatchHubOptions> = fc.record({
  maxPendingEvents: fc.integer({ min: 1, max: 5 }),
  maxPendingBytes: fc.integer({ min: 50, max: 2000 }),
})

type Mutant = (h: Harness) => Wrap

/** Runs one scenario; returns the checker's problems (empty = every guarantee held). */
function run(opts: WatchHubOptions, actions: readonly Action[], mutant?: Mutant): string[] {
  let h: Harness | undefined
  const wrap: Wrap = (name, sink) => (mutant === undefined || h === undefined ? sink : mutant(h)(name, sink))
  const harness = new Harness(opts, wrap)
  h = harness
  for (const name of STREAMS) harness.consumer(name)
  const consumer = (i: number) => harness.consumer(STREAMS[i] as string)
  for (const a of actions) {
    switch (a.kind) {
      case 'write':
        harness.write(a.ops, a.lag)
        break
      case 'create': {
        const now = harness.notified
        const relative = a.start < 0 ? Math.max(1, now + 1 + a.start) : a.start === 0 ? 0 : now + a.start
        const startRevision = a.negative === 0 ? relative : a.negative
        const req = request({ ...a, rangeEnd: a.rangeEnd, startRevision })
        harness.create(req, STREAMS[a.stream] as string)
        break
      }
      case 'cancel':
        harness.cancel(a.watchId, STREAMS[a.stream] as string)
        break
      case 'sync':
        harness.hub.syncUnsynced(a.budget)
        break
      case 'ack':
        consumer(a.stream).ack(a.n)
        break
      case 'slow':
        consumer(a.stream).autoAck = !a.slow
        break
      case 'compact': {
        const rev = Math.max(harness.history.compactRevision(), harness.notified - a.back)
        if (rev > harness.history.compactRevision()) harness.compact(rev)
        break
      }
      case 'progress':
        harness.hub.progress()
        break
      case 'progress-request':
        consumer(a.stream).stream.requestProgress()
        break
      case 'restore': {
        // A raft snapshot: the store jumps ahead (maybe compacting) without the hub being told.
        for (const ops of a.writes) harness.write(ops, true)
        harness.lagging.splice(0)
        const current = harness.history.currentRevision()
        const rev = Math.max(harness.history.compactRevision(), current - a.compactBack)
        harness.history.compact(rev)
        harness.notified = current
        harness.hub.restored()
        break
      }
    }
  }
  return harness.finish()
}

const scenario = fc.tuple(options, fc.array(action, { minLength: 1, maxLength: 120, size: 'max' }))
/** WATCH_RUNS=20000 for a longer search. */
const RUNS = Number(process.env.WATCH_RUNS ?? 500)

test('each watcher gets exactly its events: ordered, unique, no gaps, whole revisions, bookmarks not ahead', () => {
  fc.assert(
    fc.property(scenario, ([opts, actions]) => {
      assert.deepEqual(run(opts, actions), [])
    }),
    { numRuns: RUNS, includeErrorInReport: true },
  )
})

/** Broken hubs, each emulated by corrupting what the consumer receives. */
const mutants: Record<string, Mutant> = {
  // A hub that drops a response when the consumer's buffer is full instead of making a victim
  // (it acknowledges the dropped response itself, so the real hub never sees backpressure).
  'drops on a full buffer': (h) => (name, sink) => (r) => {
    const c = h.consumer(name)
    if (r.events.length > 0 && c.unacked.length >= 2) return c.stream.acknowledge(r)
    sink(r)
  },
  'sends a response twice': () => (_, sink) => (r) => {
    sink(r)
    if (r.events.length > 0) sink({ ...r })
  },
  'splits a revision across two responses': () => (_, sink) => (r) => {
    const first = r.events[0]
    const cut = r.events.findIndex((e) => e.kv.modRevision === first?.kv.modRevision && e !== first)
    if (cut < 0) return sink(r)
    sink({ ...r, events: r.events.slice(0, cut) })
    sink({ ...r, events: r.events.slice(cut) })
  },
  'answers a progress request before its watchers are synced': (h) => (name, sink) => {
    const c = () => h.consumer(name)
    let patched = false
    return (r) => {
      if (!patched) {
        patched = true
        c().stream.requestProgress = () => sink(watchResponse({ watchId: -1, headerRevision: h.notified }))
      }
      sink(r)
    }
  },
}

for (const [name, mutant] of Object.entries(mutants)) {
  test(`the checker catches a broken hub that ${name}`, () => {
    const out = fc.check(
      fc.property(scenario, ([opts, actions]) => run(opts, actions, mutant).length === 0),
      { numRuns: RUNS, seed: 42 },
    )
    assert.equal(out.failed, true, `no scenario exposed a hub that ${name}`)
  })
}
