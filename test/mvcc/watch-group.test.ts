/**
 * WatcherGroup: which watchers a key's events reach, for single keys, ranges, open ranges and
 * shared ranges, and that removal leaves no trace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { keySpan } from '../../src/mvcc/key-range.ts'
import type { Event } from '../../src/mvcc/kv.ts'
import type { WatchStream } from '../../src/mvcc/watch-stream.ts'
import { Watcher } from '../../src/mvcc/watch-watcher.ts'
import { WatcherGroup } from '../../src/mvcc/watcher-group.ts'
import { b, request } from './watch-fixtures.ts'

const noStream = null as unknown as WatchStream
const limits = { maxPendingEvents: 10, maxPendingBytes: 1000 }

function watcher(id: number, key: string, rangeEnd = ''): Watcher {
  const req = request({ key, rangeEnd })
  return new Watcher(id, noStream, req, keySpan(req.key, req.rangeEnd), 1, limits)
}

function put(key: string, rev = 2): Event {
  const kv = { key: b(key), createRevision: rev, modRevision: rev, version: 1, value: b('v'), lease: 0n }
  return { type: 'PUT', kv, prevKv: null }
}

/** `key → ids of the watchers it reaches`, sorted. */
function reach(g: WatcherGroup, keys: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  for (const k of keys) out[k] = [...g.match([put(k)]).keys()].map((w) => w.id).sort((x, y) => x - y)
  return out
}

const KEYS = ['', 'a', 'a\0', 'ab', 'b', 'bz', 'c', 'zz', '\u00ff']

test('keys, half-open ranges, open-ended ranges and identical ranges each reach the right watchers', () => {
  const g = new WatcherGroup()
  const ws = [
    watcher(0, 'a'),
    watcher(1, 'a', 'c'),
    watcher(2, 'b', '\0'),
    watcher(3, 'a', 'c'),
    watcher(4, 'ab'),
    watcher(5, '', '\0'),
    watcher(6, 'a'),
  ]
  for (const w of ws) g.add(w)
  assert.equal(g.size, 7)
  assert.deepEqual(reach(g, KEYS), {
    '': [5],
    a: [0, 1, 3, 5, 6],
    'a\0': [1, 3, 5],
    ab: [1, 3, 4, 5],
    b: [1, 2, 3, 5],
    bz: [1, 2, 3, 5],
    c: [2, 5],
    zz: [2, 5],
    '\u00ff': [2, 5],
  })
  for (const w of [ws[1], ws[0], ws[5]] as Watcher[]) g.delete(w)
  g.delete(ws[1] as Watcher)
  assert.equal(g.size, 4)
  assert.deepEqual(reach(g, ['a', 'ab', 'c', '']), { a: [3, 6], ab: [3, 4], c: [2], '': [] })
  assert.deepEqual([...g].map((w) => w.id).sort(), [2, 3, 4, 6])
})

test('a transaction touching several keys groups each watcher\'s events in order', () => {
  const g = new WatcherGroup()
  const w = watcher(0, 'a', 'c')
  g.add(w)
  g.add(watcher(1, 'b'))
  const events = [put('a', 3), put('zz', 3), put('b', 3)]
  const m = g.match(events)
  assert.deepEqual(m.get(w)?.map((e) => new TextDecoder().decode(e.kv.key)), ['a', 'b'])
  assert.equal(m.size, 2)
})
