/**
 * Shared pieces of the storage tests: the sql.js module (loaded once), a seeded RandomInt, entry
 * builders and a fresh temp dir for NodeDisk.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import initSqlJs from 'sql.js'
import type { Database, SqlJsStatic } from 'sql.js'
import type { Entry, RandomInt } from '../../src/raft/types.ts'
import type { MemberIdentity } from '../../src/storage/identity.ts'

let sqlModule: Promise<SqlJsStatic> | null = null

export function loadSql(): Promise<SqlJsStatic> {
  sqlModule ??= initSqlJs()
  return sqlModule
}

/** mulberry32: a small seeded PRNG; returns integers in [0, n). */
export function seeded(seed: number): RandomInt {
  let a = seed >>> 0
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296
    return Math.floor(r * n)
  }
}

export function entry(index: number, term: number, data: string | Uint8Array = `e${index}`): Entry {
  return {
    index,
    term,
    type: 'normal',
    data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
  }
}

export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push(entry(i, term))
  return out
}

/** Entries as plain comparable tuples. */
export function plain(es: readonly Entry[]): [number, number, string, string][] {
  return es.map((e) => [e.index, e.term, e.type, new TextDecoder().decode(e.data)])
}

export const ID: MemberIdentity = { clusterId: 'c-test', memberId: 1 }

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgecd-storage-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * A stand-in for the MVCC store: entry data "k=v" sets k, applied in one transaction with the
 * applied index (as the member will). Tables use the mvcc_ prefix like the real store.
 */
export function applyEntries(db: Database, es: readonly Entry[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS mvcc_kv (k TEXT PRIMARY KEY, v TEXT);' +
      'CREATE TABLE IF NOT EXISTS mvcc_meta (id INTEGER PRIMARY KEY, applied INTEGER)',
  )
  if (es.length === 0) return
  db.exec('BEGIN')
  const put = db.prepare('INSERT OR REPLACE INTO mvcc_kv (k, v) VALUES (?, ?)')
  for (const e of es) {
    const [k, v] = new TextDecoder().decode(e.data).split('=')
    if (v !== undefined) put.run([k, v])
  }
  put.free()
  db.run('INSERT OR REPLACE INTO mvcc_meta (id, applied) VALUES (0, ?)', [es[es.length - 1].index])
  db.exec('COMMIT')
}

export function appliedIndex(db: Database): number {
  try {
    return (
      (db.exec('SELECT applied FROM mvcc_meta WHERE id = 0')[0]?.values[0]?.[0] as number | undefined) ?? 0
    )
  } catch {
    return 0
  }
}

export function kvState(db: Database): Record<string, string> {
  try {
    const rows = db.exec('SELECT k, v FROM mvcc_kv ORDER BY k')[0]?.values ?? []
    return Object.fromEntries(rows.map(([k, v]) => [k as string, v as string]))
  } catch {
    return {}
  }
}

export function kvEntries(from: number, to: number, term: number, tag = 'v'): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push(entry(i, term, `k${i % 7}=${tag}${i}`))
  return out
}
