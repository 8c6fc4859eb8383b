import { Crc32c } from '../../src/mvcc/crc32c.ts'
type Row = [number, string, boolean, number, number, string] // main, key, tomb, create, version, value
const rows: Row[] = [
  [2, 'a', false, 2, 1, '1'], [3, 'b', false, 3, 1, '2'], [4, 'a', true, 0, 0, ''], [5, 'x', false, 5, 1, '1'],
  [6, 'a', false, 6, 1, '2'], [7, 'a', false, 6, 2, '3'], [8, 'z', false, 8, 1, '9'], [9, 'b', false, 3, 2, '5'], [10, 'x', false, 5, 2, '7'],
]
const enc = new TextEncoder()
function varint(out: number[], v: number) { while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v >>>= 7 } out.push(v) }
function kvProto(r: Row): Uint8Array {
  const o: number[] = []
  const key = enc.encode(r[1]); o.push(0x0a); varint(o, key.length); o.push(...key)
  if (!r[2]) { o.push(0x10); varint(o, r[3]); o.push(0x18); varint(o, r[0]); o.push(0x20); varint(o, r[4]); const v = enc.encode(r[5]); if (v.length) { o.push(0x2a); varint(o, v.length); o.push(...v) } }
  return new Uint8Array(o)
}
function revKey(r: Row): Uint8Array { const b = new Uint8Array(r[2] ? 18 : 17); const d = new DataView(b.buffer); d.setBigInt64(0, BigInt(r[0])); b[8] = 0x5f; d.setBigInt64(9, 0n); if (r[2]) b[17] = 0x74; return b }
function latest(at: number): Set<number> { const m = new Map<string, Row>(); for (const r of rows) if (r[0] <= at) m.set(r[1], r); return new Set([...m.values()].filter((r) => !r[2]).map((r) => r[0])) }
const physical = rows.filter((r) => r[0] > 6 || latest(6).has(r[0]))
function hash(rev: number, keep: Set<number>, set: Row[]) {
  const c = new Crc32c().bytes(enc.encode('key'))
  for (const r of set) { if (r[0] > rev) continue; if (r[0] <= 6 && keep.size > 0 && !keep.has(r[0])) continue; c.bytes(revKey(r)).bytes(kvProto(r)) }
  return c.value()
}
for (const rev of [10, 9, 7]) console.log(rev, 'H1', hash(rev, latest(rev), physical), 'H2', hash(rev, latest(6), physical), 'none', hash(rev, new Set(), physical))
