/**
 * One write transaction at one revision: every change gets the next sub-revision, lands in the
 * history and the live-key table at once, and is recorded as an event for the watch hub.
 *
 * A key's life, in generations (etcd's keyIndex, here spelled out in mvcc_rev rows):
 * ```
 *  put@2        put@5        del@7(t)       put@9        put@12
 *  ├─ v1 ───────┼─ v2 ───────┤               ├─ v1 ───────┼─ v2 ──▶
 *  create=2                  tombstone       create=9 (new generation, version restarts at 1)
 *  generation 1: {2, 5, 7(t)}                generation 2: {9, 12}
 * ```
 * A put keeps create_rev and bumps version; a delete writes a tombstone row (version 0, empty value,
 * no lease) and drops the key from mvcc_kv; the next put starts a new generation.
 *
 * Invariant: within one transaction a key changes at most once (the duplicate-key rules of
 * txn-check.ts guarantee it), which is what makes (key, main) a primary key of mvcc_rev.
 *
 * @module
 */
import { spanSql, type KeySpan } from './key-range.ts'
import { eachKv, eachLiveKey, oneKv } from './reader.ts'
import type { Event, KeyValue } from './kv.ts'
import { int64Param, type Sql } from './sql.ts'
import { insertRevision, type ValueLayout } from './value-parts.ts'

const EMPTY = new Uint8Array(0)

export class WriteTxn {
  readonly #sql: Sql
  readonly #layout: ValueLayout
  /** The store revision when the transaction began. */
  readonly beginRev: number
  readonly #events: Event[] = []

  constructor(sql: Sql, layout: ValueLayout, beginRev: number) {
    this.#sql = sql
    this.#layout = layout
    this.beginRev = beginRev
  }

  /** The revision reads see: beginRev, or beginRev + 1 once something changed. */
  get rev(): number {
    return this.#events.length > 0 ? this.beginRev + 1 : this.beginRev
  }

  /** Changes so far, in sub-revision order. Caller must not mutate. */
  get events(): readonly Event[] {
    return this.#events
  }

  /** The live kv of `key` (its value only when `withValue`), or null. One seek for a missing key, two otherwise. */
  live(key: Uint8Array, withValue = true): KeyValue | null {
    return oneKv(this.#sql, key, this.rev, true, withValue)
  }

  /**
   * Puts `value` under `key`; returns the previous kv, with its value only when `prevValue` (asked
   * for by prev_kv, in the answer or by a watcher): the PUT event's prevKv is then that kv, else
   * null. Not reading a value the answer and the watchers do without saves half the read.
   */
  put(key: Uint8Array, value: Uint8Array, lease: bigint, prevValue: boolean): KeyValue | null {
    const prev = this.live(key, prevValue)
    const main = this.beginRev + 1
    const kv: KeyValue = {
      key,
      createRevision: prev === null ? main : prev.createRevision,
      modRevision: main,
      version: prev === null ? 1 : prev.version + 1,
      value,
      lease,
    }
    insertRevision(this.#sql, this.#layout, { kv, main, sub: this.#events.length, tombstone: false })
    this.#sql.run('INSERT OR REPLACE INTO mvcc_kv VALUES (?, ?, ?, ?, CAST(? AS INTEGER))', [
      key,
      main,
      kv.createRevision,
      kv.version,
      int64Param(lease),
    ])
    this.#events.push({ type: 'PUT', kv, prevKv: prevValue ? prev : null })
    return prev
  }

  /**
   * Deletes the live keys of `span`; returns how many, and their previous kvs in key order only
   * when `withValues` (asked for by prev_kv, in the answer or by a watcher): each DELETE event's
   * prevKv is then that kv, else null (and only the keys are read). Several keys take two
   * statements for the whole span (their tombstones numbered in key order, as the events), not
   * two per key.
   */
  deleteRange(span: KeySpan, withValues: boolean): { readonly deleted: number; readonly prevs: KeyValue[] } {
    const prevs: KeyValue[] = []
    const keys: Uint8Array[] = []
    if (withValues) {
      eachKv(this.#sql, span, this.rev, true, true, (kv) => {
        prevs.push(kv)
        keys.push(kv.key)
      })
    } else {
      eachLiveKey(this.#sql, span, (key) => keys.push(key))
    }
    if (keys.length === 0) return { deleted: 0, prevs }
    const main = this.beginRev + 1
    const first = this.#events.length
    if (keys.length === 1) {
      const key = keys[0] as Uint8Array
      this.#sql.run("INSERT INTO mvcc_rev VALUES (?, ?, ?, 0, 0, x'', 0, 1, 0)", [key, main, first])
      this.#sql.run('DELETE FROM mvcc_kv WHERE key = ?', [key])
    } else {
      const s = spanSql(span, 'key')
      this.#sql.run(
        `INSERT INTO mvcc_rev SELECT key, ?, ? + row_number() OVER (ORDER BY key) - 1, 0, 0, x'', 0, 1, 0 FROM mvcc_kv WHERE ${s.where}`,
        [main, first, ...s.params],
      )
      this.#sql.run(`DELETE FROM mvcc_kv WHERE ${s.where}`, s.params)
    }
    for (const [i, key] of keys.entries()) {
      const kv: KeyValue = { key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0n }
      this.#events.push({ type: 'DELETE', kv, prevKv: withValues ? (prevs[i] as KeyValue) : null })
    }
    return { deleted: keys.length, prevs }
  }
}
