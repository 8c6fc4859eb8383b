/**
 * Deterministic hashes of the replicated state, for comparing members (etcd's HashKV and Hash).
 *
 * HashKvWalk at R: etcd's HashKV, byte for byte, so a member's answer equals etcd's for the same
 * history: CRC-32C over the bucket name `key`, then every history row with main ≤ R in
 * (main, sub) order, each as etcd stores it in that bucket: its revision key (main and sub as
 * 8-byte big-endian integers around `_`, then `t` for a tombstone) and its mvccpb.KeyValue
 * (protobuf: key, create_revision, mod_revision, version, value, lease; a tombstone's has only
 * its key). Of the rows at or below the compacted revision (those compaction kept), only each
 * key's latest as of R, unless a tombstone, count, as etcd's HashKV keeps them (all of them when
 * no key is live at R).
 *
 * storeHash(): hashKv at the current revision, then the revision, the compacted revision, the
 * leases (by id) and the alarms, i.e. everything apply decides except the applied index.
 *
 * @module
 */
import { Crc32c } from './crc32c.ts'
import { int64Columns, int64Of, type Sql } from './sql.ts'
import { valueSql } from './value-parts.ts'

const KEY_BUCKET = new TextEncoder().encode('key')
const SEPARATOR = 0x5f // '_'
const TOMBSTONE = 0x74 // 't'

/** The rows at or below `compactMain` that etcd's HashKV at `rev` keeps (see the module doc). */
const KEPT = `tombstone = 0 AND NOT EXISTS (SELECT 1 FROM mvcc_rev n WHERE n.key = r.key AND n.main > r.main AND n.main <= ?)`

/**
 * etcd's HashKV at `rev` over the history (see the module doc), a page of rows at a time: the
 * rows it reads (main ≤ rev) change only by compaction, so a caller that yields between pages
 * must start again if a compaction ran meanwhile.
 */
export class HashKvWalk {
  readonly #crc: Crc32c
  readonly #sql: Sql
  readonly #rev: number
  readonly #compactMain: number
  readonly #keepAll: boolean
  #at = { main: -1, sub: -1 }
  readonly #revKey = new Uint8Array(18)
  readonly #kv = new ProtoWriter()

  constructor(sql: Sql, rev: number, compactMain: number, crc: Crc32c = new Crc32c()) {
    this.#sql = sql
    this.#rev = rev
    this.#compactMain = compactMain
    this.#crc = crc.bytes(KEY_BUCKET)
    this.#keepAll = sql.number(`SELECT NOT EXISTS (SELECT 1 FROM mvcc_rev r WHERE main <= ? AND ${KEPT})`, [rev, rev]) === 1
    this.#revKey[8] = SEPARATOR
    this.#revKey[17] = TOMBSTONE
  }

  /** Hashes up to `limit` more rows; the hash once every row is in, else null. */
  next(limit: number): number | null {
    const view = new DataView(this.#revKey.buffer)
    const kv = this.#kv
    let rows = 0
    this.#sql.each(
      `SELECT main, sub, tombstone, key, create_rev, version, ${int64Columns('lease')}, ${valueSql('r')}
       FROM mvcc_rev r WHERE (main, sub) > (?, ?) AND main <= ? AND (main > ? OR ? OR (${KEPT}))
       ORDER BY main, sub LIMIT ?`,
      [this.#at.main, this.#at.sub, this.#rev, this.#compactMain, this.#keepAll ? 1 : 0, this.#rev, limit],
      (row) => {
        const main = row[0] as number
        const tombstone = row[2] !== 0
        view.setBigInt64(0, BigInt(main))
        view.setBigInt64(9, BigInt(row[1] as number))
        this.#crc.bytes(tombstone ? this.#revKey : this.#revKey.subarray(0, 17))
        kv.reset().bytes(1, row[3] as Uint8Array)
        if (!tombstone) {
          kv.varint(2, row[4] as number).varint(3, main).varint(4, row[5] as number)
          kv.bytes(5, row[8] as Uint8Array).varint(6, int64Of(row[6] as number, row[7] as number))
        }
        this.#crc.bytes(kv.written())
        this.#at = { main, sub: row[1] as number }
        rows++
      },
    )
    return rows < limit ? this.#crc.value() : null
  }
}

/** Protobuf fields into one reused buffer (zero values left out, as proto3 encoders do). */
class ProtoWriter {
  #buf = new Uint8Array(256)
  #len = 0

  reset(): this {
    this.#len = 0
    return this
  }

  written(): Uint8Array {
    return this.#buf.subarray(0, this.#len)
  }

  varint(field: number, value: number | bigint): this {
    if (value === 0 || value === 0n) return this
    this.#raw(field << 3)
    return this.#raw(value)
  }

  bytes(field: number, data: Uint8Array): this {
    if (data.length === 0) return this
    this.#raw((field << 3) | 2).#raw(data.length)
    this.#room(data.length)
    this.#buf.set(data, this.#len)
    this.#len += data.length
    return this
  }

  /** One unsigned varint (values here are never negative). */
  #raw(value: number | bigint): this {
    this.#room(10)
    let v = BigInt(value)
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.#buf[this.#len++] = Number(v)
    return this
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n))
    grown.set(this.#buf.subarray(0, this.#len))
    this.#buf = grown
  }
}

export function storeHash(sql: Sql, rev: number, compactMain: number): number {
  const crc = new Crc32c()
  new HashKvWalk(sql, rev, compactMain, crc).next(Number.MAX_SAFE_INTEGER)
  crc.int64(rev).int64(compactMain)
  sql.each(`SELECT ${int64Columns('id')}, ttl, remaining_ms FROM mvcc_lease ORDER BY id`, [], (row) => {
    crc.int64(int64Of(row[0] as number, row[1] as number)).int64(row[2] as number).int64(row[3] as number)
  })
  const enc = new TextEncoder()
  sql.each(`SELECT ${int64Columns('member_id')}, alarm FROM mvcc_alarm ORDER BY member_id, alarm`, [], (row) => {
    crc.int64(int64Of(row[0] as number, row[1] as number)).field(enc.encode(row[2] as string))
  })
  return crc.value()
}
