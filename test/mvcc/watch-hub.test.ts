/**
 * Table-driven tests of the watch hub's behaviours over a fake history. Every case also runs the
 * online checker (watch-fixtures.ts) and its final check, so each table row is validated twice:
 * by its expected transcript and by the guarantees.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WatchHub } from '../../src/mvcc/watch-hub.ts'
import { describeEvent, FakeHistory, Harness, request } from './watch-fixtures.ts'

interface Case {
  readonly name: string
  readonly options?: ConstructorParameters<typeof WatchHub>[1]
  readonly run: (h: Harness) => void
  /** Transcript of stream 's' (describeResponse), after `run` and before the final drain. */
  readonly want: readonly string[]
}

const cases: readonly Case[] = [
  {
    name: 'a live watcher on one key gets each of its revisions in its own response',
    run: (h) => {
      h.create(request({ key: 'a' }))
      h.put('a', '1')
      h.put('b', '1')
      h.del('a')
    },
    want: ['0@1 created', '0@2 +a@2', '0@4 -a@4'],
  },
  {
    name: 'start revision 0 means current + 1: earlier writes are not replayed',
    run: (h) => {
      h.put('a', '1')
      h.create(request({ key: 'a' }))
      h.drainSync()
      h.put('a', '2')
    },
    want: ['0@2 created', '0@3 +a@3'],
  },
  {
    name: 'historic events come from the tables in one response, then live ones',
    run: (h) => {
      h.put('a', '1')
      h.put('b', '1')
      h.put('a', '2')
      h.create(request({ key: 'a', startRevision: 2 }))
      h.put('a', '3')
      h.drainSync()
      h.put('a', '4')
    },
    want: ['0@4 created', '0@5 +a@2 +a@4 +a@5', '0@6 +a@6'],
  },
  {
    name: 'range [a, c) sees a and b but not c; rangeEnd "\\0" sees every key ≥ key',
    run: (h) => {
      h.create(request({ key: 'a', rangeEnd: 'c' }))
      h.create(request({ key: 'b', rangeEnd: '\0' }))
      h.put('a', '1')
      h.put('b', '1')
      h.put('c', '1')
      h.put('zz', '1')
    },
    want: ['0@1 created', '1@1 created', '0@2 +a@2', '0@3 +b@3', '1@3 +b@3', '1@4 +c@4', '1@5 +zz@5'],
  },
  {
    name: 'all events of one transaction arrive in one response',
    run: (h) => {
      h.create(request({ key: 'a', rangeEnd: 'z' }))
      h.write([
        { type: 'put', key: 'a', value: '1' },
        { type: 'put', key: 'b', value: '1' },
        { type: 'put', key: 'zz', value: '1' },
      ])
      h.write([
        { type: 'delete', key: 'a' },
        { type: 'delete', key: 'b' },
      ])
    },
    want: ['0@1 created', '0@2 +a@2 +b@2', '0@3 -a@3 -b@3'],
  },
  {
    name: 'filters NOPUT and NODELETE drop those events; a revision left empty sends nothing',
    run: (h) => {
      h.create(request({ key: 'a', filters: ['NOPUT'] }))
      h.create(request({ key: 'a', filters: ['NODELETE'] }))
      h.put('a', '1')
      h.del('a')
    },
    want: ['0@1 created', '1@1 created', '1@2 +a@2', '0@3 -a@3'],
  },
  {
    name: 'a future start revision is accepted and waits until the store gets there',
    run: (h) => {
      h.create(request({ key: 'a', startRevision: 4 }))
      h.put('a', '1')
      h.put('a', '2')
      h.put('a', '3')
      h.put('a', '4')
    },
    want: ['0@1 created', '0@4 +a@4', '0@5 +a@5'],
  },
  {
    name: 'a start revision below the compacted revision: created, then canceled with compact_revision',
    run: (h) => {
      for (let i = 0; i < 5; i++) h.put('a', String(i))
      h.compact(4)
      h.create(request({ key: 'a', startRevision: 3 }))
      h.create(request({ key: 'a', startRevision: 4 }))
      h.drainSync()
    },
    want: ['0@6 created', '0@0 canceled compact=4', '1@6 created', '1@6 +a@4 +a@5 +a@6'],
  },
  {
    // As etcd 3.4.23 answers: the ended watcher's ID stays taken until the client cancels it.
    name: 'after a compaction ended a watcher, its ID is taken until a cancel, which is answered',
    run: (h) => {
      for (let i = 0; i < 5; i++) h.put('a', String(i))
      h.compact(4)
      h.create(request({ key: 'a', startRevision: 3, watchId: 7 }))
      h.create(request({ key: 'a', watchId: 7 }))
      h.cancel(7)
      h.create(request({ key: 'a', watchId: 7 }))
    },
    want: [
      '7@6 created',
      '7@0 canceled compact=4',
      '-1@6 created canceled reason=mvcc: duplicate watch ID provided on the WatchStream',
      '7@6 canceled',
      '7@6 created',
    ],
  },
  {
    // As etcd 3.4 answers (its compacted revision is -1 until the first compaction).
    name: 'negative start revisions: before any compaction -1 goes live and lower ones end with compact_revision -1',
    run: (h) => {
      h.put('a', '1')
      h.create(request({ key: 'a', startRevision: -1 }))
      h.create(request({ key: 'a', startRevision: -2 }))
      h.drainSync()
      h.put('a', '2')
    },
    want: ['0@2 created', '1@2 created', '1@0 canceled compact=-1', '0@3 +a@3'],
  },
  {
    name: 'negative start revisions after a compaction all end with the compacted revision',
    run: (h) => {
      h.put('a', '1')
      h.put('a', '2')
      h.compact(2)
      h.create(request({ key: 'a', startRevision: -1 }))
      h.create(request({ key: 'a', startRevision: -9 }))
      h.put('a', '3')
    },
    want: ['0@3 created', '0@0 canceled compact=2', '1@3 created', '1@0 canceled compact=2'],
  },
  {
    name: 'watch IDs: 0,1,2,… skipping explicit ones; a duplicate or an empty range is refused with ID -1',
    run: (h) => {
      h.create(request({ key: 'a', watchId: 1 }))
      h.create(request({ key: 'a' }))
      h.create(request({ key: 'a' }))
      h.create(request({ key: 'a', watchId: 1 }))
      h.create(request({ key: 'b', rangeEnd: 'a' }))
    },
    want: [
      '1@1 created',
      '0@1 created',
      '2@1 created',
      '-1@1 created canceled reason=mvcc: duplicate watch ID provided on the WatchStream',
      '-1@1 created canceled reason=mvcc: watcher range is empty',
    ],
  },
  {
    name: 'cancel sends canceled and stops events; an unknown ID sends nothing',
    run: (h) => {
      h.create(request({ key: 'a' }))
      h.put('a', '1')
      h.cancel(0)
      h.cancel(9)
      h.put('a', '2')
    },
    want: ['0@1 created', '0@2 +a@2', '0@2 canceled'],
  },
  {
    name: 'prev_kv only when asked for; a first put has none',
    run: (h) => {
      h.create(request({ key: 'a', prevKv: true }))
      h.create(request({ key: 'a' }))
      h.put('a', '1')
      h.put('a', '2')
    },
    want: ['0@1 created', '1@1 created', '0@2 +a@2', '1@2 +a@2', '0@3 +a@3', '1@3 +a@3'],
  },
  {
    name: 'a stream progress request is answered at once when every watcher is synced',
    run: (h) => {
      h.create(request({ key: 'a' }))
      h.put('b', '1')
      h.consumer().stream.requestProgress()
    },
    want: ['0@1 created', '-1@2 progress'],
  },
  {
    name: 'a stream progress request waits for an unsynced watcher to catch up (never ahead of events)',
    run: (h) => {
      h.put('a', '1')
      h.put('a', '2')
      h.create(request({ key: 'b' }))
      h.create(request({ key: 'a', startRevision: 2 }))
      h.consumer().stream.requestProgress()
      h.consumer().stream.requestProgress()
      h.drainSync()
    },
    want: ['0@3 created', '1@3 created', '1@3 +a@2 +a@3', '-1@3 progress'],
  },
  {
    name: 'progress(): quiet synced progress_notify watchers get the revision; busy or unsynced ones do not',
    run: (h) => {
      h.put('x', '1')
      h.create(request({ key: 'a', progressNotify: true }))
      h.create(request({ key: 'b', progressNotify: true }))
      h.create(request({ key: 'c' }))
      h.create(request({ key: 'x', progressNotify: true, startRevision: 1 }))
      h.put('b', '1')
      h.hub.progress()
      h.hub.progress()
    },
    want: [
      ...['0@2 created', '1@2 created', '2@2 created', '3@2 created'],
      ...['1@3 +b@3', '0@3 progress', '0@3 progress', '1@3 progress'],
    ],
  },
  {
    name: 'a slow consumer becomes a victim without slowing others, then catches up from the tables',
    options: { maxPendingEvents: 2 },
    run: (h) => {
      const slow = h.consumer('s', false)
      h.consumer('fast')
      h.create(request({ key: 'a' }), 's')
      h.create(request({ key: 'a' }), 'fast')
      slow.ack()
      for (let i = 0; i < 5; i++) h.put('a', String(i))
      assert.deepEqual(h.hub.counts(), { synced: 1, unsynced: 0, victims: 1 })
      assert.equal(h.consumer('fast').received.length, 6)
      h.drainSync()
      slow.ack(1)
      h.drainSync()
      slow.ack()
      h.drainSync()
      assert.deepEqual(h.hub.counts(), { synced: 2, unsynced: 0, victims: 0 })
      slow.ack()
      h.put('a', '5')
    },
    want: ['0@1 created', '0@2 +a@2', '0@3 +a@3', '0@4 +a@4', '0@6 +a@5 +a@6', '0@7 +a@7'],
  },
  {
    name: 'a victim whose next revision was compacted away ends with compact_revision; a synced one does not',
    options: { maxPendingEvents: 1 },
    run: (h) => {
      h.consumer('s', false)
      h.create(request({ key: 'a' }))
      h.create(request({ key: 'b' }))
      h.put('a', '1')
      h.put('a', '2')
      h.put('b', '1')
      h.compact(4)
    },
    want: ['0@1 created', '1@1 created', '0@2 +a@2', '1@4 +b@4', '0@0 canceled compact=4'],
  },
  {
    name: 'syncUnsynced reads a bounded batch; each response header is the last revision served',
    run: (h) => {
      for (let i = 0; i < 6; i++) h.put('a', String(i))
      h.create(request({ key: 'a', startRevision: 2 }))
      assert.equal(h.hub.syncUnsynced(2), true)
      assert.equal(h.hub.syncUnsynced(2), true)
      assert.equal(h.hub.syncUnsynced(2), false)
    },
    want: ['0@7 created', '0@3 +a@2 +a@3', '0@5 +a@4 +a@5', '0@7 +a@6 +a@7'],
  },
  {
    name: 'the store running ahead of notify is not read early, so nothing is sent twice',
    run: (h) => {
      h.put('a', '1')
      h.create(request({ key: 'a', startRevision: 2 }))
      h.write([{ type: 'put', key: 'a', value: '2' }], true)
      h.drainSync()
      h.flush()
    },
    want: ['0@2 created', '0@2 +a@2', '0@3 +a@3'],
  },
  {
    name: 'restored(): revisions never notified (a snapshot) are read back; compacted ones end the watcher',
    run: (h) => {
      h.create(request({ key: 'a' }))
      h.create(request({ key: 'b', startRevision: 3 }))
      h.write([{ type: 'put', key: 'a', value: '1' }], true)
      h.write([{ type: 'put', key: 'b', value: '1' }], true)
      h.write([{ type: 'put', key: 'b', value: '2' }], true)
      h.write([{ type: 'put', key: 'a', value: '2' }], true)
      h.lagging.splice(0)
      h.history.compact(3)
      h.notified = 5
      h.hub.restored()
      h.drainSync()
      h.put('a', '3')
    },
    want: ['0@1 created', '1@1 created', '0@0 canceled compact=3', '1@5 +b@3 +b@4'],
  },
  {
    name: 'a gap in notify is read back from the tables',
    run: (h) => {
      h.create(request({ key: 'a' }))
      h.write([{ type: 'put', key: 'a', value: '1' }], true)
      const skipped = h.lagging.splice(0)
      assert.equal(skipped.length, 1)
      h.put('a', '2')
      h.drainSync()
    },
    want: ['0@1 created', '0@3 +a@2 +a@3'],
  },
  {
    name: 'a revision larger than the byte bound still goes through whole to an empty buffer',
    options: { maxPendingBytes: 10 },
    run: (h) => {
      h.consumer('s', false)
      h.create(request({ key: 'a', rangeEnd: 'z' }))
      h.write([
        { type: 'put', key: 'a', value: 'x'.repeat(100) },
        { type: 'put', key: 'b', value: 'y'.repeat(100) },
      ])
      h.put('a', 'small')
    },
    want: ['0@1 created', '0@2 +a@2 +b@2'],
  },
  {
    name: 'a sink that cancels its watcher mid-delivery gets nothing more',
    run: (h) => {
      const c = h.consumer()
      h.create(request({ key: 'a', rangeEnd: 'z' }))
      h.create(request({ key: 'a' }))
      c.stream.acknowledge = (r) => {
        if (r.watchId === 1 && r.events.length > 0) h.cancel(0)
      }
      h.put('a', '1')
      h.put('a', '2')
    },
    want: ['0@1 created', '1@1 created', '1@2 +a@2', '0@2 canceled', '1@3 +a@3'],
  },
]

for (const c of cases) {
  test(c.name, () => {
    const h = new Harness(c.options)
    c.run(h)
    assert.deepEqual(h.consumer().log(), c.want)
    assert.deepEqual(h.finish(), [])
  })
}

test('events carry kv fields and prev_kv exactly; DELETE kv has only key and mod_revision', () => {
  const h = new Harness()
  h.create(request({ key: 'a', prevKv: true }))
  h.put('a', '1')
  h.put('a', '2')
  h.del('a')
  const events = h.consumer().received.flatMap((r) => r.events.map(describeEvent))
  assert.deepEqual(events, ['PUT a@2=1 c2 v1', 'PUT a@3=2 c2 v2 (prev a@2=1)', 'DELETE a@4 (prev a@3=2)'])
  const del = h.consumer().received[3]?.events[0]
  assert.equal(del?.kv.version, 0)
  assert.equal(del?.kv.createRevision, 0)
  assert.deepEqual(h.finish(), [])
})

test('notify refuses a revision it has already seen', () => {
  const h = new Harness()
  h.put('a', '1')
  assert.throws(() => h.hub.notify(2, []), /revision 2 notified at revision 2/)
})

test('close removes every watcher silently; acknowledging afterwards is harmless', () => {
  const h = new Harness()
  const c = h.consumer('s', false)
  h.create(request({ key: 'a' }))
  h.put('a', '1')
  c.stream.close()
  h.checker.closed('s')
  h.put('a', '2')
  c.ack()
  assert.deepEqual(c.log(), ['0@1 created', '0@2 +a@2'])
  assert.deepEqual(h.hub.counts(), { synced: 0, unsynced: 0, victims: 0 })
  assert.throws(() => c.stream.create(request({ key: 'a' })), /closed/)
  assert.deepEqual(h.finish(), [])
})

test('unsynced watchers are served round robin, so one far-behind watcher does not starve others', () => {
  const h = new Harness()
  for (let i = 0; i < 50; i++) h.put('a', String(i))
  h.put('b', '1')
  h.create(request({ key: 'a', startRevision: 1 }))
  h.create(request({ key: 'b', startRevision: 40 }))
  h.hub.syncUnsynced(5)
  h.hub.syncUnsynced(5)
  assert.ok(h.consumer().log().includes('1@52 +b@52'), h.consumer().log().join('\n'))
  assert.deepEqual(h.finish(), [])
})

test('a history source that is asked below its compacted revision would throw: the hub never asks', () => {
  const history = new FakeHistory()
  history.apply([{ type: 'put', key: 'a', value: '1' }])
  history.compact(2)
  assert.throws(() => history.eventsBetween(1, 2, new Uint8Array([97]), new Uint8Array(), 10), /compacted/)
})

test('buffer bounds must be positive', () => {
  assert.throws(() => new WatchHub(new FakeHistory(), { maxPendingEvents: 0 }), RangeError)
})

test('wantsPrevKv: true while a watcher that asked for prev_kv is live, false once it is canceled', () => {
  const h = new Harness()
  assert.equal(h.hub.wantsPrevKv(), false)
  h.create(request({ key: 'a' }))
  assert.equal(h.hub.wantsPrevKv(), false, 'a watcher without prev_kv')
  h.create(request({ key: 'b', prevKv: true, watchId: 7 }))
  assert.equal(h.hub.wantsPrevKv(), true)
  h.cancel(7)
  assert.equal(h.hub.wantsPrevKv(), false)
})
