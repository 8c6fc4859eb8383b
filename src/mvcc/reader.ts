/**
 * Range reads at a revision, answered by SQLite in key (or requested) order and stepped lazily:
 * rows are pulled only until the limit or the response byte cap is reached, so a big range never
 * materializes in JS beyond what it returns.
 *
 * Two sources, same columns (key, mod, create, version, value, lease halves):
 * ```
 * latest revision   mvcc_kv ⋈ mvcc_rev on (key, main)     one row per live key, no history scan
 * older revision R  newest mvcc_rev row per key with main ≤ R, dropped when it is a tombstone
 * ```
 * `count` comes from a separate COUNT over the same source without the min/max filters, as etcd's
 * count ignores limit and filters. Sorting happens in SQL before the limit (etcd sorts, then cuts).
 *
 * @module
 */
import { Errors } from './errors.ts'
import { compareBytes, keySpan, spanSql, type KeySpan } from './key-range.ts'
import type { KeyValue, RangeRequest, RangeResponse } from './kv.ts'
import { int64Columns, int64Of, type Row, type Sql } from './sql.ts'
import { valueSql } from './value-parts.ts'

/** Per-kv overhead counted against the response byte cap (revisions, lease, framing). */
const KV_OVERHEAD_BYTES = 64

const EMPTY = new Uint8Array(0)

/** What a read needs to know about the store at the moment it runs. */
export interface ReadView {
  /** The newest revision visible (inside a write txn with changes: its own revision). */
  readonly rev: number
  /** The compacted revision; -1 when never compacted (etcd's compactMainRev). */
  readonly compactMain: number
}

export function kvOf(row: Row): KeyValue {
  return {
    key: row[0] as Uint8Array,
    modRevision: row[1] as number,
    createRevision: row[2] as number,
    version: row[3] as number,
    value: row[4] as Uint8Array,
    lease: int64Of(row[5] as number, row[6] as number),
  }
}

/** Where a source's columns are, for ORDER BY. */
interface Columns {
  readonly key: string
  readonly mod: string
  readonly create: string
  readonly version: string
}

interface Source {
  readonly from: string
  readonly where: string
  readonly params: Row
  readonly col: Columns
  /** The source's kvs in key order: `from`, `where` and the order, as one string. */
  readonly each: string
}

/** The columns of either source's results, by their names (what a query over a source sees). */
const RESULT_COLUMNS: Columns = { key: 'key', mod: 'main', create: 'create_rev', version: 'version' }

type SourceText = Omit<Source, 'params'>

/**
 * Source SQL by (span kind, latest, withValue); only the parameters change per call. Reusing the
 * same strings matters: a statement is looked up by its text, and a string built anew for every
 * read is hashed anew (~3 µs of a 20 µs put, for its read of the previous version).
 */
const sources = new Map<string, SourceText>()

function source(span: KeySpan, rev: number, latest: boolean, withValue: boolean): Source {
  const id = `${span.kind}|${latest}|${withValue}`
  let text = sources.get(id)
  if (text === undefined) {
    const { params: _, ...t } = buildSource(span, rev, latest, withValue)
    text = t
    sources.set(id, text)
  }
  const params = spanSql(span, '').params
  return { ...text, params: latest ? params : [...params, rev] }
}

/**
 * One key needs no ORDER BY, GROUP BY or join, and must not have them: SQLite prepares such a
 * statement again at every bind of the key (a point read took 24 µs instead of 6). Its value comes
 * from a scalar subquery instead of a join, and at an older revision max(main) over its rows
 * yields one row, of NULLs when it has none (which `tombstone = 0` drops). That subquery's literal
 * LIMIT 1 keeps SQLite from copying `tombstone = 0` into it as a HAVING, which would turn its
 * max(main) from one seek into a scan of all the key's versions.
 */
function buildSource(span: KeySpan, rev: number, latest: boolean, withValue: boolean): Source {
  const one = span.kind === 'one'
  if (latest) {
    const s = spanSql(span, 'c.key')
    const join = withValue && !one ? 'JOIN mvcc_rev h ON h.key = c.key AND h.main = c.main' : ''
    const value = !withValue ? "x''" : one ? `(SELECT ${valueSql('h')} FROM mvcc_rev h WHERE h.key = c.key AND h.main = c.main)` : valueSql('h')
    const from = `SELECT c.key, c.main, c.create_rev, c.version, ${value} AS value, ${int64Columns('c.lease')}
        FROM mvcc_kv c ${join}`
    return {
      from,
      where: s.where,
      params: s.params,
      col: { key: 'c.key', mod: 'c.main', create: 'c.create_rev', version: 'c.version' },
      each: `${from} WHERE ${s.where}${one ? '' : ' ORDER BY c.key'}`,
    }
  }
  const s = spanSql(span, 'key')
  const from = `SELECT key, main, create_rev, version, ${withValue ? valueSql('r') : "x''"} AS value, ${int64Columns('lease')} FROM (
        SELECT key, max(main) AS main, sub, create_rev, version, value, parts, lease, tombstone FROM mvcc_rev
        WHERE ${s.where} AND main <= ?${one ? ' LIMIT 1' : ' GROUP BY key'}) r`
  return {
    from,
    where: 'tombstone = 0',
    params: [...s.params, rev],
    col: RESULT_COLUMNS,
    each: `${from} WHERE tombstone = 0${one ? '' : ' ORDER BY key'}`,
  }
}

/**
 * Visits the kvs of a span as of `rev`, in key order, until `visit` returns false. `latest` means
 * no row newer than `rev` exists, so the live-key table can answer.
 */
export function eachKv(
  sql: Sql,
  span: KeySpan,
  rev: number,
  latest: boolean,
  withValue: boolean,
  visit: (kv: KeyValue) => boolean | void,
): void {
  if (span.kind === 'none') return
  const s = source(span, rev, latest, withValue)
  sql.each(s.each, s.params, (row) => visit(kvOf(row)))
}

/** The live keys of a span, in key order (only the keys: a kv's other columns cost their reading). */
export function eachLiveKey(sql: Sql, span: KeySpan, visit: (key: Uint8Array) => void): void {
  if (span.kind === 'none') return
  const s = spanSql(span, 'key')
  sql.each(`SELECT key FROM mvcc_kv WHERE ${s.where} ORDER BY key`, s.params, (row) => visit(row[0] as Uint8Array))
}

/** The kv of `key` as of `rev` (see {@link eachKv}), or null when it has none there. */
export function oneKv(sql: Sql, key: Uint8Array, rev: number, latest: boolean, withValue: boolean): KeyValue | null {
  let found: KeyValue | null = null
  eachKv(sql, { kind: 'one', key }, rev, latest, withValue, (kv) => {
    found = kv
  })
  return found as KeyValue | null
}

function countOf(sql: Sql, span: KeySpan, rev: number, latest: boolean): number {
  if (latest) {
    const s = spanSql(span, 'key')
    return sql.number(`SELECT count(*) FROM mvcc_kv WHERE ${s.where}`, s.params)
  }
  const s = spanSql(span, 'key')
  return sql.number(
    `SELECT count(*) FROM (SELECT max(main), tombstone FROM mvcc_rev WHERE ${s.where} AND main <= ? GROUP BY key)
     WHERE tombstone = 0`,
    [...s.params, rev],
  )
}

function orderBy(req: RangeRequest, col: Columns): string {
  const order = req.sortTarget !== 'KEY' && req.sortOrder === 'NONE' ? 'ASCEND' : req.sortOrder
  const dir = order === 'DESCEND' ? ' DESC' : ''
  if (req.sortTarget === 'KEY' || order === 'NONE') return `${col.key}${dir}`
  const target = {
    VERSION: col.version,
    CREATE: col.create,
    MOD: col.mod,
    VALUE: 'value',
  }[req.sortTarget]
  // Ties stay in ascending key order, either direction: etcd sorts its key-ordered result with Go's
  // sort.Sort, whose insertion sort (up to 12 kvs) leaves equal elements where they were; past
  // that its order of ties is unspecified.
  return `${target}${dir}, ${col.key}`
}

function filterSql(req: RangeRequest, s: Source): { readonly where: string; readonly params: Row } {
  const parts: string[] = []
  const params: Row = []
  const bound = (value: number, expr: string): void => {
    if (value !== 0) {
      parts.push(expr)
      params.push(value)
    }
  }
  bound(req.minModRevision, `${s.col.mod} >= ?`)
  bound(req.maxModRevision, `${s.col.mod} <= ?`)
  bound(req.minCreateRevision, `${s.col.create} >= ?`)
  bound(req.maxCreateRevision, `${s.col.create} <= ?`)
  return { where: parts.map((p) => ` AND ${p}`).join(''), params }
}

/** Whether `kv` passes the request's revision filters (0 = no bound). */
export function passesFilters(req: RangeRequest, kv: KeyValue): boolean {
  return (
    (req.minModRevision === 0 || kv.modRevision >= req.minModRevision) &&
    (req.maxModRevision === 0 || kv.modRevision <= req.maxModRevision) &&
    (req.minCreateRevision === 0 || kv.createRevision >= req.minCreateRevision) &&
    (req.maxCreateRevision === 0 || kv.createRevision <= req.maxCreateRevision)
  )
}

/**
 * Checks a requested revision against the view as etcd's range does: ≤ 0 means the view's
 * revision, above it is a future revision, below the compacted one is compacted. Returns the
 * revision to read at.
 */
export function readRevision(view: ReadView, requested: number): number {
  if (requested > view.rev) throw Errors.futureRev()
  const rev = requested <= 0 ? view.rev : requested
  if (rev < view.compactMain) throw Errors.compacted()
  return rev
}

/**
 * etcd's Range over the tables as of `view`. `maxBytes` caps the kvs returned: when reached, fewer
 * kvs come back with `more` set (at least one kv is always returned).
 */
export function range(sql: Sql, view: ReadView, req: RangeRequest, maxBytes: number): RangeResponse {
  return whole(openRange(sql, view, req, maxBytes, Number.POSITIVE_INFINITY))
}

/** The answer of a range opened without pages (pageRows: infinity). */
export function whole(opened: RangeResponse | PagedRange): RangeResponse {
  if (opened instanceof PagedRange) throw new Error('mvcc: a range opened without pages came in pages')
  return opened
}

/**
 * {@link range}, or, for one that may return more than `pageRows` kvs in key order (either
 * direction), a {@link PagedRange} that reads them a page at a time. Every other range (a point
 * read, a count, one sorted on something else, which SQLite sorts whole) is answered at once.
 */
export function openRange(sql: Sql, view: ReadView, req: RangeRequest, maxBytes: number, pageRows: number): RangeResponse | PagedRange {
  if (req.key.length === 0) throw Errors.keyNotProvided()
  const rev = readRevision(view, req.revision)
  const header = { revision: view.rev }
  const span = keySpan(req.key, req.rangeEnd)
  if (span.kind === 'none') return { header, kvs: [], more: false, count: 0 }
  const latest = rev === view.rev
  const withValue = !req.keysOnly

  if (span.kind === 'one') {
    const kv = oneKv(sql, span.key, rev, latest, withValue)
    const count = kv === null ? 0 : 1
    const kvs = kv !== null && !req.countOnly && passesFilters(req, kv) ? [kv] : []
    return { header, kvs, more: false, count }
  }

  const count = countOf(sql, span, rev, latest)
  if (req.countOnly || count === 0) return { header, kvs: [], more: false, count }
  const limit = req.limit > 0 ? req.limit : Number.MAX_SAFE_INTEGER
  if (req.sortTarget === 'KEY' && Math.min(count, limit) > pageRows) return new PagedRange(sql, req, maxBytes, { header, count, rev, span })

  const s = source(span, rev, latest, withValue || req.sortTarget === 'VALUE')
  const f = filterSql(req, s)
  // etcd's order of work: with a sort order or a revision filter it fetches the whole range, then
  // filters, sorts and truncates; without either it fetches limit + 1 keys in key order, and a
  // non-KEY target (which sorts ascending even with order NONE) sorts only those.
  const sortsFetched = req.sortOrder === 'NONE' && req.sortTarget !== 'KEY' && req.limit > 0 && f.where === ''
  // At the latest revision, in key order (either direction, along mvcc_kv's key), the loop below
  // stops stepping at limit + 1 rows, so the query has no LIMIT: one bound as a parameter makes
  // SQLite prepare the statement again at every run, as it plans with the value (15-30 µs, more
  // than reading a few keys takes). Everything else goes through a sorter (at an older revision
  // too: the rows come from an aggregate, which SQLite never reads as ordered), and keeps its
  // LIMIT, with which SQLite keeps only the top rows instead of sorting them all.
  const limited = req.sortTarget !== 'KEY' || !latest
  const query = sortsFetched
    ? `SELECT * FROM (${s.from} WHERE ${s.where} ORDER BY ${s.col.key} LIMIT ?) ORDER BY ${orderBy(req, RESULT_COLUMNS)}`
    : `${s.from} WHERE ${s.where}${f.where} ORDER BY ${orderBy(req, s.col)}${limited ? ' LIMIT ?' : ''}`
  const answer = new Answer(limit, maxBytes)
  sql.each(
    query,
    limited ? [...s.params, ...f.params, req.limit > 0 ? req.limit + 1 : -1] : [...s.params, ...f.params],
    (row) => {
      const kv = kvOf(row)
      return answer.take(kv, withValue ? kv : { ...kv, value: EMPTY })
    },
  )
  return { header, kvs: answer.kvs, more: answer.more, count }
}

/** The kvs of a range answer as they are read: at most `limit`, and `maxBytes` of data unless just one. */
class Answer {
  readonly kvs: KeyValue[] = []
  more = false
  #bytes = 0

  constructor(
    readonly limit: number,
    readonly maxBytes: number,
  ) {}

  /** Adds `kept` (`kv` as the answer holds it) if there is room for `kv`; else sets `more` and returns false. */
  take(kv: KeyValue, kept: KeyValue): boolean {
    const size = kv.key.length + kv.value.length + KV_OVERHEAD_BYTES
    if (this.kvs.length === this.limit || (this.kvs.length > 0 && this.#bytes + size > this.maxBytes)) {
      this.more = true
      return false
    }
    this.#bytes += size
    this.kvs.push(kept)
    return true
  }
}

/** Page queries by (span kind, descending, withValue), built once (see `sources`). */
const pageQueries = new Map<string, string>()

/**
 * The newest row at or below a revision of each key of a span, tombstones included, in key order
 * (either direction), at most a page of them. The aggregate runs as a co-routine along mvcc_rev's
 * primary key and stops at the LIMIT: a page costs its own rows whatever the span's size (a
 * LIMIT outside it would have SQLite aggregate the whole span for every page).
 */
function pageQuery(span: KeySpan, desc: boolean, withValue: boolean): string {
  const id = `${span.kind}|${desc}|${withValue}`
  let text = pageQueries.get(id)
  if (text === undefined) {
    const dir = desc ? ' DESC' : ''
    text = `SELECT key, main, create_rev, version, ${withValue ? valueSql('r') : "x''"} AS value, ${int64Columns('lease')}, tombstone FROM (
        SELECT key, max(main) AS main, sub, create_rev, version, value, parts, lease, tombstone FROM mvcc_rev
        WHERE ${spanSql(span, 'key').where} AND main <= ? GROUP BY key ORDER BY key${dir} LIMIT ?) r ORDER BY key${dir}`
    pageQueries.set(id, text)
  }
  return text
}

/** What {@link openRange} found before the first page. */
interface RangeStart {
  readonly header: { readonly revision: number }
  readonly count: number
  /** The revision every page reads at. */
  readonly rev: number
  readonly span: KeySpan
}

/**
 * A range in key order read a page at a time, with the caller giving the event loop back between
 * pages (a range near the 32 MiB cap reads 100,000 rows or more). Every page reads the history
 * as of the revision the range was opened at (the live-key table moves on with every write in
 * between) and starts after the last key the page before it read, so the pages add up to what
 * {@link range} answers at that revision. Between pages the caller must make sure the store is
 * the same one (a snapshot did not replace it) and that no compaction past `revision` was
 * scheduled (it would remove rows the next pages read); one up to `revision` removes none of them.
 */
export class PagedRange {
  readonly #sql: Sql
  readonly #req: RangeRequest
  readonly #start: RangeStart
  /** What is left to read: the span, narrowed past each page's last key. */
  #span: KeySpan
  readonly #answer: Answer

  constructor(sql: Sql, req: RangeRequest, maxBytes: number, start: RangeStart) {
    this.#sql = sql
    this.#req = req
    this.#start = start
    this.#span = start.span
    this.#answer = new Answer(req.limit > 0 ? req.limit : Number.MAX_SAFE_INTEGER, maxBytes)
  }

  /** The revision every page reads at. */
  get revision(): number {
    return this.#start.rev
  }

  /** Reads up to `pageRows` more keys; the answer once the range is read, else null. */
  next(pageRows: number): RangeResponse | null {
    const req = this.#req
    const desc = req.sortOrder === 'DESCEND'
    const answer = this.#answer
    let rows = 0
    let last: Uint8Array | null = null
    this.#sql.each(pageQuery(this.#span, desc, !req.keysOnly), [...spanSql(this.#span, '').params, this.#start.rev, pageRows], (row) => {
      rows++
      last = row[0] as Uint8Array
      if (row[7] !== 0) return true
      const kv = kvOf(row)
      return !passesFilters(req, kv) || answer.take(kv, kv)
    })
    const rest = last === null || answer.more || rows < pageRows ? null : remainingSpan(this.#span, last, desc)
    if (rest !== null && rest.kind !== 'none') {
      this.#span = rest
      return null
    }
    return { header: this.#start.header, kvs: answer.kvs, more: answer.more, count: this.#start.count }
  }
}

/** What is left of `span` after `last`, read in key order (descending: before it). */
function remainingSpan(span: KeySpan, last: Uint8Array, desc: boolean): KeySpan {
  if (span.kind !== 'from' && span.kind !== 'between') return { kind: 'none' }
  if (desc) return compareBytes(last, span.key) > 0 ? { kind: 'between', key: span.key, end: last } : { kind: 'none' }
  // The smallest key after `last`: `last` and a zero byte.
  const after = new Uint8Array(last.length + 1)
  after.set(last)
  return span.kind === 'from' ? { kind: 'from', key: after } : keySpan(after, span.end)
}
