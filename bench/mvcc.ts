/**
 * MVCC store benchmark: applied puts/s (256-byte values, one entry per apply and 1000 per
 * applyBatch), range latency over 100k keys (point, point at an older revision, 1000-key
 * prefix, count-only), then RSS and the exported database size.
 *
 * Run: node --import tsx bench/mvcc.ts
 */
import initSqlJs from 'sql.js'
import { encodeCommand, MvccStore, type RangeRequest } from '../src/mvcc/index.ts'

const N = 100_000
const BATCH = 1_000
const enc = new TextEncoder()
const value = new Uint8Array(256).fill(97)
const keyOf = (i: number): Uint8Array => enc.encode(`key/${String(i).padStart(8, '0')}`)

function putEntry(index: number, key: Uint8Array): { index: number; data: Uint8Array } {
  const request = { key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }
  return { index, data: encodeCommand({ type: 'put', request }) }
}

function rangeReq(o: Partial<RangeRequest>): RangeRequest {
  return {
    key: new Uint8Array(0),
    rangeEnd: new Uint8Array(0),
    limit: 0,
    revision: 0,
    sortOrder: 'NONE',
    sortTarget: 'KEY',
    serializable: true,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  }
}

function timeUs(runs: number, body: (i: number) => void): { mean: number; p99: number } {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    body(i)
    samples.push((performance.now() - t) * 1000)
  }
  samples.sort((a, b) => a - b)
  return { mean: samples.reduce((a, b) => a + b, 0) / runs, p99: samples[Math.floor(runs * 0.99)] as number }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const us = (t: { mean: number; p99: number }): string => `mean ${t.mean.toFixed(1)} µs, p99 ${t.p99.toFixed(1)} µs`

const SQL = await initSqlJs()

// A permutation of the key space, so inserts land all over the B-trees.
const order = Array.from({ length: N }, (_, i) => (i * 7919) % N)

{
  const store = new MvccStore(new SQL.Database())
  const entries = order.slice(0, 20_000).map((k, i) => putEntry(i + 1, keyOf(k)))
  const t = performance.now()
  for (const e of entries) store.apply(e.index, e.data)
  const s = (performance.now() - t) / 1000
  console.log(`single apply:  ${fmt(entries.length / s)} puts/s (${entries.length} puts, one SQL transaction each)`)
}

const db = new SQL.Database()
const store = new MvccStore(db)
{
  const entries = order.map((k, i) => putEntry(i + 1, keyOf(k)))
  const t = performance.now()
  for (let i = 0; i < entries.length; i += BATCH) store.applyBatch(entries.slice(i, i + BATCH))
  const s = (performance.now() - t) / 1000
  console.log(`batched apply: ${fmt(N / s)} puts/s (${N} new keys, ${BATCH} entries per applyBatch)`)
  const updates = order.map((k, i) => putEntry(N + i + 1, keyOf(k)))
  const t2 = performance.now()
  for (let i = 0; i < updates.length; i += BATCH) store.applyBatch(updates.slice(i, i + BATCH))
  const s2 = (performance.now() - t2) / 1000
  console.log(`batched apply: ${fmt(N / s2)} puts/s (${N} updates of existing keys)`)
}

const point = timeUs(20_000, (i) => store.range(rangeReq({ key: keyOf((i * 104_729) % N) })))
console.log(`point range (current):             ${us(point)}`)
const old = timeUs(20_000, (i) => store.range(rangeReq({ key: keyOf((i * 104_729) % N), revision: N / 2 })))
console.log(`point range (older revision):      ${us(old)}`)
const prefix = (i: number): RangeRequest => {
  const p = `key/${String((i * 37) % 100).padStart(5, '0')}`
  return rangeReq({ key: enc.encode(p), rangeEnd: enc.encode(`${p.slice(0, -1)}${String.fromCharCode(p.charCodeAt(p.length - 1) + 1)}`) })
}
const r = store.range(prefix(1))
if (r.kvs.length !== 1000 || r.count !== 1000) throw new Error(`prefix range returned ${r.kvs.length}/${r.count}`)
console.log(`1000-key prefix range (current):   ${us(timeUs(200, (i) => store.range(prefix(i))))}`)
console.log(`1000-key prefix range (older rev): ${us(timeUs(50, (i) => store.range({ ...prefix(i), revision: N + N / 2 })))}`)
console.log(`1000-key prefix, keys_only:        ${us(timeUs(200, (i) => store.range({ ...prefix(i), keysOnly: true })))}`)
console.log(`1000-key prefix, count_only:       ${us(timeUs(200, (i) => store.range({ ...prefix(i), countOnly: true })))}`)

const t = performance.now()
const bytes = db.export()
const exportMs = performance.now() - t
console.log(`after ${N} keys × 2 versions: export ${(bytes.length / 2 ** 20).toFixed(1)} MiB in ${exportMs.toFixed(0)} ms`)
store.applyBatch([{ index: 2 * N + 1, data: encodeCommand({ type: 'compaction', request: { revision: store.currentRevision(), physical: true } }) }])
for (let i = 2; i < 40; i++) store.apply(2 * N + i, new Uint8Array(0))
const compacted = db.export().length
console.log(`after compaction + 40 entries of reclaim: export ${(compacted / 2 ** 20).toFixed(1)} MiB, used ${(store.spaceUsed() / 2 ** 20).toFixed(1)} MiB`)
console.log(`RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB, hash ${store.hash()}`)
