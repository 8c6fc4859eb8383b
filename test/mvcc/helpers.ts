/**
 * Test helpers for the MVCC store: a fresh store on an in-memory sql.js database, request
 * builders with etcd's defaults (zero values), and a driver that applies commands at increasing
 * raft indexes and unwraps their responses.
 */
import assert from 'node:assert/strict'
import initSqlJs, { type Database } from 'sql.js'
import {
  MvccStore,
  encodeCommand,
  type ApplyResult,
  type Command,
  type CommandResponse,
  type Compare,
  type DeleteRangeRequest,
  type KeyValue,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type StoreConfig,
  type TxnRequest,
} from '../../src/mvcc/index.ts'

export const SQL = await initSqlJs()

const enc = new TextEncoder()
const dec = new TextDecoder()

export const b = (s: string): Uint8Array => enc.encode(s)
export const s = (u: Uint8Array): string => dec.decode(u)

export function rangeReq(key: string, o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: b(key),
    rangeEnd: new Uint8Array(0),
    limit: 0,
    revision: 0,
    sortOrder: 'NONE',
    sortTarget: 'KEY',
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  }
}

export function putReq(key: string, value: string, o: Partial<PutRequest> = {}): PutRequest {
  return { key: b(key), value: b(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false, ...o }
}

export function delReq(key: string, o: Partial<DeleteRangeRequest> = {}): DeleteRangeRequest {
  return { key: b(key), rangeEnd: new Uint8Array(0), prevKv: false, ...o }
}

export function cmp(key: string, o: Partial<Compare> = {}): Compare {
  return {
    key: b(key),
    rangeEnd: new Uint8Array(0),
    target: 'VERSION',
    result: 'EQUAL',
    version: 0,
    createRevision: 0,
    modRevision: 0,
    value: new Uint8Array(0),
    lease: 0n,
    ...o,
  }
}

export const opPut = (key: string, value: string, o: Partial<PutRequest> = {}): RequestOp => ({
  type: 'put',
  request: putReq(key, value, o),
})
export const opRange = (key: string, o: Partial<RangeRequest> = {}): RequestOp => ({
  type: 'range',
  request: rangeReq(key, o),
})
export const opDel = (key: string, o: Partial<DeleteRangeRequest> = {}): RequestOp => ({
  type: 'delete-range',
  request: delReq(key, o),
})
export const opTxn = (t: Partial<TxnRequest>): RequestOp => ({ type: 'txn', request: txnReq(t) })

export function txnReq(t: Partial<TxnRequest>): TxnRequest {
  return { compare: [], success: [], failure: [], ...t }
}

type ResponseOf<T extends Command['type']> = Extract<CommandResponse, { type: T }>['response']

/** A store plus a raft-index counter; `run` applies a command and returns its result. */
export class Harness {
  readonly db: Database
  readonly store: MvccStore
  index = 0

  constructor(config: StoreConfig = {}, db: Database = new SQL.Database()) {
    this.db = db
    this.store = new MvccStore(db, config)
  }

  run(c: Command): ApplyResult {
    return this.store.apply(++this.index, encodeCommand(c)) as ApplyResult
  }

  /** Applies and returns the response; throws the EtcdError when the command failed. */
  ok<T extends Command['type']>(c: Extract<Command, { type: T }>): ResponseOf<T> {
    const r = this.run(c)
    if (r.error !== null) throw r.error
    return (r.response as CommandResponse).response as ResponseOf<T>
  }

  put(key: string, value: string, o: Partial<PutRequest> = {}) {
    return this.ok({ type: 'put', request: putReq(key, value, o) })
  }

  del(key: string, o: Partial<DeleteRangeRequest> = {}) {
    return this.ok({ type: 'delete-range', request: delReq(key, o) })
  }

  txn(t: Partial<TxnRequest>) {
    return this.ok({ type: 'txn', request: txnReq(t) })
  }

  get(key: string, o: Partial<RangeRequest> = {}) {
    return this.store.range(rangeReq(key, o))
  }

  grant(ttl: number, id = 0n) {
    return this.ok({ type: 'lease-grant', request: { ttl, id } })
  }

  revoke(id: bigint) {
    return this.ok({ type: 'lease-revoke', request: { id } })
  }

  compact(revision: number) {
    return this.ok({ type: 'compaction', request: { revision, physical: false } })
  }
}

/** A kv in a compact, comparable form. */
export function kvText(kv: KeyValue): string {
  const lease = kv.lease === 0n ? '' : ` lease=${kv.lease}`
  return `${s(kv.key)}=${s(kv.value)} c${kv.createRevision} m${kv.modRevision} v${kv.version}${lease}`
}

export const keys = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => s(kv.key))

/** The first column of the first row of `sql`. */
export function count(db: Database, sql: string): number {
  return db.exec(sql)[0]?.values[0]?.[0] as number
}

/** The invariant of value-parts.ts: a row with n parts has exactly parts 0..n-1, and no part is orphaned. */
export function assertPartsConsistent(db: Database): void {
  assert.equal(
    count(db, 'SELECT count(*) FROM mvcc_value p WHERE NOT EXISTS (SELECT 1 FROM mvcc_rev r WHERE r.main = p.main AND r.sub = p.sub)'),
    0,
    'orphaned parts',
  )
  assert.equal(
    count(
      db,
      `SELECT count(*) FROM mvcc_rev r WHERE parts != (SELECT count(*) FROM mvcc_value p WHERE p.main = r.main AND p.sub = r.sub)
         OR (parts > 0 AND (SELECT max(part) FROM mvcc_value p WHERE p.main = r.main AND p.sub = r.sub) != parts - 1)`,
    ),
    0,
    'rows whose parts are missing or extra',
  )
}
