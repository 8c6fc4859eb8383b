/**
 * The chaos checkers must be able to fail: hand-made histories with a stale read, a lost write,
 * an impossible compare-and-set, a reordered, duplicated, gapped or split watch, an early
 * progress notification, a revision going back and a lease expiring early, each asserted to be
 * caught; and their correct counterparts (including unknown outcomes) asserted to pass. Long
 * synthetic histories (synthetic.ts, ~100k ops with unknown outcomes) must check in bounded time
 * and memory, and a stale read planted near the end of one must still be found.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  checkFinalState,
  checkLeases,
  checkRevisionsMonotonic,
  checkWatches,
  checkWritesInHistory,
  type EventHistory,
} from './checks.ts'
import type { KvOp, LeaseRecord, WatchEventRecord, WatchSegment } from './history.ts'
import { checkLinearizable } from './linearizability.ts'
import { syntheticHistory } from './synthetic.ts'

let nextId = 0
type Spec = Partial<KvOp> & Pick<KvOp, 'kind' | 'invoke'>
function op(spec: Spec): KvOp {
  return { id: nextId++, client: 0, key: 'k/0', complete: spec.invoke + 1, outcome: 'ok', ...spec }
}
const put = (value: string, invoke: number, complete: number, extra: Partial<KvOp> = {}): KvOp =>
  op({ kind: 'put', value, invoke, complete, ...extra })
const get = (read: string | null, invoke: number, complete: number, extra: Partial<KvOp> = {}): KvOp =>
  op({ kind: 'get', read, invoke, complete, ...extra })

describe('linearizability checker', () => {
  it('accepts a sequential history and concurrent writes read in either order', () => {
    assert.equal(
      checkLinearizable([put('a', 0, 1), get('a', 2, 3), put('b', 4, 5), get('b', 6, 7)]).linearizable,
      true,
    )
    const concurrent = [put('a', 0, 10), put('b', 1, 9), get('a', 11, 12)]
    assert.equal(checkLinearizable(concurrent).linearizable, true)
    assert.equal(checkLinearizable([put('a', 0, 10), put('b', 1, 9), get('b', 11, 12)]).linearizable, true)
  })

  it('rejects a stale read: a value read after a newer write completed', () => {
    const v = checkLinearizable([put('a', 0, 1), put('b', 2, 3), get('a', 4, 5)])
    assert.equal(v.linearizable, false)
    assert.match(v.keys[0]?.reason ?? '', /no order/)
    assert.ok((v.keys[0]?.excerpt ?? []).length > 0)
  })

  it('rejects a lost write: an acknowledged put never seen, the key still absent afterwards', () => {
    assert.equal(checkLinearizable([put('a', 0, 1), get(null, 2, 3)]).linearizable, false)
  })

  it('rejects a read that flips back and forth between two values', () => {
    const ops = [put('a', 0, 1), put('b', 2, 20), get('b', 3, 4), get('a', 5, 6)]
    assert.equal(checkLinearizable(ops).linearizable, false)
  })

  it('lets an unknown write take effect late, or never, but not before its invoke', () => {
    const late = [put('a', 0, 1), put('x', 2, 3, { outcome: 'unknown' }), get('a', 4, 5), get('x', 100, 101)]
    assert.equal(checkLinearizable(late).linearizable, true)
    const never = [put('a', 0, 1), put('x', 2, 3, { outcome: 'unknown' }), get('a', 4, 5), get('a', 100, 101)]
    assert.equal(checkLinearizable(never).linearizable, true)
    const early = [get('x', 0, 1), put('x', 2, 3, { outcome: 'unknown' })]
    assert.equal(checkLinearizable(early).linearizable, false)
    const failed = [put('x', 0, 1, { outcome: 'failed' }), get('x', 2, 3)]
    assert.equal(checkLinearizable(failed).linearizable, false, 'a failed write must not happen')
  })

  it('checks compare-and-set and delete against the register', () => {
    const cas = (expect: string | null, value: string, invoke: number, extra: Partial<KvOp>): KvOp =>
      op({ kind: 'cas', expect, value, invoke, complete: invoke + 1, ...extra })
    assert.equal(
      checkLinearizable([put('a', 0, 1), cas('a', 'b', 2, { succeeded: true }), get('b', 4, 5)]).linearizable,
      true,
    )
    assert.equal(
      checkLinearizable([put('a', 0, 1), cas('z', 'b', 2, { succeeded: true })]).linearizable,
      false,
    )
    assert.equal(
      checkLinearizable([put('a', 0, 1), cas('a', 'b', 2, { succeeded: false, read: 'a' })]).linearizable,
      false,
    )
    const del = op({ kind: 'delete', invoke: 2, complete: 3, deleted: 1 })
    assert.equal(checkLinearizable([put('a', 0, 1), del, get(null, 4, 5)]).linearizable, true)
    const delNothing = op({ kind: 'delete', invoke: 2, complete: 3, deleted: 0 })
    assert.equal(checkLinearizable([put('a', 0, 1), delNothing]).linearizable, false)
    const unknownCas = cas(null, 'n', 2, { outcome: 'unknown' })
    assert.equal(checkLinearizable([unknownCas, get('n', 10, 11)]).linearizable, true)
  })

  it('checks keys independently and reports the failing one', () => {
    const v = checkLinearizable([
      put('a', 0, 1),
      put('b', 0, 1, { key: 'k/1' }),
      get('a', 2, 3, { key: 'k/1' }),
    ])
    assert.equal(v.linearizable, false)
    assert.deepEqual(
      v.keys.map((k) => [k.key, k.linearizable]),
      [
        ['k/0', true],
        ['k/1', false],
      ],
    )
  })

  it('finishes a long concurrent history quickly', () => {
    const ops: KvOp[] = []
    for (let i = 0; i < 3000; i++) {
      const t = i * 10
      ops.push(put(`v${i}`, t, t + 25))
      ops.push(get(`v${i}`, t + 26, t + 30, { client: 1 }))
    }
    const start = Date.now()
    assert.equal(checkLinearizable(ops).linearizable, true)
    // About 2 s here, 5.5 s once on a loaded CI run; a search that explodes takes minutes. The
    // bound tells those apart, not one machine's speed from another's.
    const ms = Date.now() - start
    assert.ok(ms < 30_000, `${ms} ms`)
  })

  it('carries unknown writes across quiescent points, their values unread or read much later', () => {
    const del = (invoke: number, deleted: number): KvOp =>
      op({ kind: 'delete', invoke, complete: invoke + 1, deleted })
    const rest = [get(null, 2, 3), put('y', 4, 5), del(6, 1), del(8, 1)]
    const hidden = [put('x', 0, 1, { outcome: 'unknown' }), ...rest]
    assert.equal(checkLinearizable(hidden).linearizable, true, 'the unread put happened between the deletes')
    assert.equal(checkLinearizable([put('x', 0, 1, { outcome: 'failed' }), ...rest]).linearizable, false)
    const late = [put('x', 0, 1, { outcome: 'unknown' }), get(null, 2, 3), put('y', 4, 5), get('y', 6, 7)]
    assert.equal(checkLinearizable([...late, get('x', 100, 101)]).linearizable, true)
    assert.equal(checkLinearizable([...late, get('x', 100, 101), get('y', 102, 103)]).linearizable, false)
  })

  it('checks a 100k-op history with unknown outcomes in bounded time and memory', () => {
    const ops = syntheticHistory({ seed: 7, seconds: 800, unknownRate: 0.01 })
    assert.ok(ops.length > 100_000 && ops.some((o) => o.outcome === 'unknown'))
    const heap = process.memoryUsage().heapUsed
    const start = Date.now()
    const verdict = checkLinearizable(ops, 60_000)
    assert.equal(verdict.linearizable, true)
    assert.ok(Date.now() - start < 30_000, `took ${Date.now() - start} ms`)
    assert.ok(process.memoryUsage().heapUsed - heap < 400e6, 'heap grew by more than 400 MB')
  })

  it('finds a stale read deep in a long history', () => {
    const ops = syntheticHistory({ seed: 8, seconds: 800, unknownRate: 0.01 })
    // A get near the end that reads the value an acknowledged put wrote long before, then
    // overwritten by acknowledged writes that completed before the get was invoked.
    const late = ops.filter((o) => o.key === 'k/3' && o.outcome === 'ok' && o.invoke > 700_000)
    const bad = late.find((o) => o.kind === 'get') as KvOp
    const old = ops.find((o) => o.key === 'k/3' && o.kind === 'put' && o.outcome === 'ok') as KvOp
    const planted = ops
      .filter((o) => o.key === 'k/3')
      .map((o) => (o === bad ? { ...o, read: old.value as string } : o))
    assert.ok(planted.length > 20_000)
    const key = checkLinearizable(planted, 60_000).keys[0]
    assert.equal(key?.linearizable, false)
    assert.ok(
      (key?.excerpt ?? []).some((o) => o.id === bad.id),
      `the excerpt shows the planted read: ${key?.reason}`,
    )
  })
})

describe('revision and write checkers', () => {
  it('catches a read whose revision went back after a later write completed', () => {
    const ops = [put('a', 0, 1, { revision: 5 }), get('a', 2, 3, { revision: 4, key: 'k/1' })]
    assert.equal(checkRevisionsMonotonic(ops).length, 1)
    assert.deepEqual(
      checkRevisionsMonotonic([put('a', 0, 1, { revision: 5 }), get('a', 2, 3, { revision: 5 })]),
      [],
    )
  })

  it('catches an acknowledged write missing from the final history, and a failed write that happened', () => {
    const history: EventHistory = new Map([[2, [ev('PUT', 'k/0', 'a', 2)]]])
    const lost = checkWritesInHistory([put('b', 0, 1, { revision: 3 })], history, 1)
    assert.equal(lost.lost, 1)
    assert.equal(lost.violations[0]?.check, 'acknowledged-write-lost')
    const failed = checkWritesInHistory([put('a', 0, 1, { outcome: 'failed' })], history, 1)
    assert.equal(failed.violations[0]?.check, 'failed-write-happened')
    assert.deepEqual(checkWritesInHistory([put('a', 0, 1, { revision: 2 })], history, 1).violations, [])
    assert.equal(checkFinalState(history, new Map([['k/0', null]])).length, 1)
  })
})

function ev(type: 'PUT' | 'DELETE', key: string, value: string, modRevision: number): WatchEventRecord {
  return { type, key, value: type === 'PUT' ? value : '', modRevision }
}

describe('watch checker', () => {
  const history: EventHistory = new Map([
    [2, [ev('PUT', 'k/0', 'a', 2)]],
    [3, [ev('PUT', 'k/1', 'b', 3), ev('PUT', 'k/2', 'c', 3)]],
    [4, [ev('DELETE', 'k/0', '', 4)]],
    [5, [ev('PUT', 'k/0', 'd', 5)]],
  ])
  const msg = (
    events: WatchEventRecord[],
    revision = events[events.length - 1]?.modRevision ?? 0,
  ): WatchSegment['messages'][number] => ({
    at: 0,
    kind: events.length > 0 ? 'events' : 'progress',
    revision,
    events,
  })
  const seg = (startRevision: number, messages: WatchSegment['messages'], watcher = 0): WatchSegment => ({
    watcher,
    startRevision,
    opened: 0,
    messages,
  })
  const all = (history.get(2) ?? []).concat(history.get(3) ?? [], history.get(4) ?? [], history.get(5) ?? [])
  const checks = (segments: WatchSegment[]): string[] =>
    checkWatches(segments, history, 1).map((v) => v.check)

  it('accepts a complete stream, batched or not, resumed from the last revision + 1', () => {
    assert.deepEqual(checks([seg(1, [msg(all)])]), [])
    assert.deepEqual(checks([seg(1, [msg(all.slice(0, 3)), msg([], 3)]), seg(4, [msg(all.slice(3))])]), [])
  })

  it('catches a reordered watch', () => {
    assert.ok(
      checks([seg(1, [msg(all.slice(3, 4)), msg(all.slice(0, 3)), msg(all.slice(4))])]).includes('ordered'),
    )
  })

  it('catches a duplicated event', () => {
    assert.ok(
      checks([seg(1, [msg(all.slice(0, 3)), msg(all.slice(0, 1)), msg(all.slice(3))])]).includes('unique'),
    )
  })

  it('catches a dropped revision (unreliable)', () => {
    assert.ok(checks([seg(1, [msg(all.slice(0, 1)), msg(all.slice(3))])]).includes('reliable'))
  })

  it('catches a revision split over two messages (not atomic)', () => {
    assert.ok(checks([seg(1, [msg(all.slice(0, 2)), msg(all.slice(2))])]).includes('atomic'))
  })

  it('catches a resume that skips revisions', () => {
    assert.ok(checks([seg(1, [msg(all.slice(0, 1))]), seg(4, [msg(all.slice(3))])]).includes('resumable'))
  })

  it('catches a progress notification ahead of the delivered events (bookmarkable)', () => {
    assert.ok(
      checks([seg(1, [msg(all.slice(0, 1)), msg([], 4), msg(all.slice(1))])]).includes('bookmarkable'),
    )
  })

  it('catches an event that differs from the final history', () => {
    assert.ok(checks([seg(1, [msg([ev('PUT', 'k/0', 'zzz', 2)]), msg(all.slice(1))])]).includes('reliable'))
  })
})

describe('lease checker', () => {
  const lease = (extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
    id: '1',
    ttl: 2,
    grantInvoke: 0,
    keepalives: [{ invoke: 1000, ttl: 2 }],
    keys: ['l/1/0'],
    lastRenewInvoke: 1000,
    ...extra,
  })
  const history: EventHistory = new Map([
    [2, [ev('PUT', 'l/1/0', 'x', 2)]],
    [3, [ev('DELETE', 'l/1/0', '', 3)]],
  ])

  it('catches a key deleted (and seen deleted) while its lease was alive', () => {
    const seenEarly = [get(null, 1500, 1600, { key: 'k/9', revision: 3 })]
    const v = checkLeases([lease()], history, seenEarly, new Set(), 5000, 1000)
    assert.equal(v[0]?.check, 'lease-early-expiry')
    const seenLate = [get(null, 3100, 3200, { key: 'k/9', revision: 3 })]
    assert.deepEqual(checkLeases([lease()], history, seenLate, new Set(), 5000, 1000), [])
    assert.deepEqual(
      checkLeases([lease({ revokeInvoke: 1200 })], history, seenEarly, new Set(), 5000, 1000),
      [],
    )
  })

  it('catches a key that outlived its lease', () => {
    const v = checkLeases([lease()], new Map(), [], new Set(['l/1/0']), 60_000, 15_000)
    assert.equal(v[0]?.check, 'lease-never-expired')
  })
})
