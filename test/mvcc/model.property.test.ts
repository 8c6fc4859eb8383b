/**
 * Property tests: random puts, deletes, txns and compactions applied to the sql.js store and to a
 * plain in-memory model give the same ranges at every readable revision; stores fed the same
 * entries (in different batches) end with equal hashes and byte-identical exports.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeCommand, type Command, type RequestOp } from '../../src/mvcc/index.ts'
import { assertPartsConsistent, b, cmp, Harness, kvText, opDel, opPut, opRange, putReq, rangeReq, txnReq } from './helpers.ts'

interface MKv {
  readonly value: string
  readonly create: number
  readonly mod: number
  readonly version: number
}

/** etcd's data model the obvious way: a full copy of the key space per revision. */
class Model {
  rev = 1
  compacted = -1
  readonly states = new Map<number, Map<string, MKv>>([[1, new Map()]])

  at(rev: number): Map<string, MKv> {
    return this.states.get(rev) as Map<string, MKv>
  }

  /** Applies a command; returns false when the store must refuse it (nothing changes). */
  apply(c: Command): boolean {
    const cur = new Map(this.at(this.rev))
    const next = this.rev + 1
    let changed = false
    const put = (k: string, v: string): void => {
      const p = cur.get(k)
      cur.set(k, { value: v, create: p?.create ?? next, mod: next, version: (p?.version ?? 0) + 1 })
      changed = true
    }
    const del = (k: string): void => {
      if (cur.delete(k)) changed = true
    }
    /** etcd refuses duplicate keys in either list, whichever runs. */
    const duplicate = (ops: readonly RequestOp[]): boolean => {
      const puts = ops.filter((o) => o.type === 'put').map((o) => new TextDecoder().decode(o.request.key))
      const dels = ops.filter((o) => o.type === 'delete-range').map((o) => new TextDecoder().decode(o.request.key))
      return new Set(puts).size !== puts.length || puts.some((k) => dels.includes(k))
    }
    const run = (ops: readonly RequestOp[]): void => {
      for (const o of ops) {
        if (o.type === 'txn') continue
        const k = new TextDecoder().decode(o.request.key)
        if (o.type === 'put') put(k, new TextDecoder().decode(o.request.value))
        if (o.type === 'delete-range') del(k)
      }
    }
    switch (c.type) {
      case 'put':
        put(new TextDecoder().decode(c.request.key), new TextDecoder().decode(c.request.value))
        break
      case 'delete-range':
        del(new TextDecoder().decode(c.request.key))
        break
      case 'txn': {
        if (duplicate(c.request.success) || duplicate(c.request.failure)) return false
        const ok = c.request.compare.every((x) => (cur.get(new TextDecoder().decode(x.key))?.version ?? 0) === x.version)
        run(ok ? c.request.success : c.request.failure)
        break
      }
      case 'compaction':
        if (c.request.revision <= this.compacted || c.request.revision > this.rev) return false
        this.compacted = c.request.revision
        return true
      default:
        throw new Error('not modelled')
    }
    if (changed) {
      this.rev = next
      this.states.set(next, cur)
    }
    return true
  }
}

const key = fc.constantFrom('a', 'b', 'c', 'ab', 'b~')
/** Mostly short values; some long enough to be stored in parts (on the harness's 4 KiB pages). */
const value = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 300, max: 1500 })).map(([s, n]) => s.repeat(n)) },
)
const op: fc.Arbitrary<RequestOp> = fc.oneof(
  fc.tuple(key, value).map(([k, v]) => opPut(k, v)),
  key.map((k) => opDel(k)),
  key.map((k) => opRange(k)),
)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(key, value).map(([k, v]): Command => ({ type: 'put', request: putReq(k, v) })) },
  { weight: 2, arbitrary: key.map((k): Command => ({ type: 'delete-range', request: { key: b(k), rangeEnd: new Uint8Array(0), prevKv: true } })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ k: key, v: fc.nat(3), success: fc.array(op, { maxLength: 4 }), failure: fc.array(op, { maxLength: 4 }) })
      .map(({ k, v, success, failure }): Command => ({
        type: 'txn',
        request: txnReq({ compare: [cmp(k, { version: v })], success, failure }),
      })),
  },
  { weight: 1, arbitrary: fc.nat(40).map((r): Command => ({ type: 'compaction', request: { revision: r, physical: false } })) },
)

/** Keys are ASCII, so string order is byte order. */
function modelKvs(m: Model, rev: number): string[] {
  return [...m.at(rev).entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v.value} c${v.create} m${v.mod} v${v.version}`)
}

test('property: the store agrees with the model at every readable revision', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), (commands) => {
      const h = new Harness()
      const m = new Model()
      for (const c of commands) {
        const r = h.run(c)
        const expectedOk = m.apply(c)
        assert.equal(r.error === null, expectedOk, `${c.type}: ${r.error?.message}`)
        assert.equal(h.store.currentRevision(), m.rev)
        // Counted from the table at the first call, then kept by apply (refused commands included).
        assert.equal(h.store.keyCount(), m.at(m.rev).size, `live keys after ${c.type}`)
      }
      for (let rev = Math.max(m.compacted, 1); rev <= m.rev; rev++) {
        const got = h.store.range(rangeReq('\0', { rangeEnd: new Uint8Array([0]), revision: rev }))
        assert.deepEqual(got.kvs.map(kvText), modelKvs(m, rev), `at revision ${rev}`)
        assert.equal(got.count, m.at(rev).size)
      }
      if (m.compacted > 1) assert.throws(() => h.store.range(rangeReq('a', { revision: m.compacted - 1 })), /compacted/)
      assertPartsConsistent(h.db)
    }),
    { numRuns: 150 },
  )
})

test('property: the same entries in any batching give equal hashes and identical exports', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (commands, size) => {
      const entries = commands.map((c, i) => ({ index: i + 1, data: encodeCommand(c) }))
      const x = new Harness()
      const y = new Harness()
      for (const e of entries) x.store.apply(e.index, e.data)
      for (let i = 0; i < entries.length; i += size) y.store.applyBatch(entries.slice(i, i + size))
      assert.equal(y.store.hash(), x.store.hash())
      assert.equal(y.store.hashKv(0).hash, x.store.hashKv(0).hash)
      assert.deepEqual(y.db.export(), x.db.export())
    }),
    { numRuns: 60 },
  )
})
