/**
 * Snapshot files offline: reading one (checking its integrity), describing it (`snapshot
 * status`), and building a new member's data dir from it (`snapshot restore`).
 *
 * A snapshot file is what `snapshot save` writes, as etcd does: a database followed by its
 * 32-byte SHA-256. The database is etcd's backend, a bbolt file (what members send since they
 * speak etcd's format: src/member/etcd-backend.ts; and what etcd sends, so an etcd snapshot
 * restores into edgecd), or a member's SQLite image (what older members sent; a member's own
 * `checkpoint.db`, src/storage/checkpoint.ts, is one too).
 *
 * Restore keeps the MVCC state (keys, history, leases, alarms, revision, compaction) and the auth
 * store (users, roles, whether auth is on; not the tokens), and drops the rest, then starts fresh
 * Raft state the way a new cluster's bootstrap does (src/member/member.ts): the membership is the
 * given initial cluster, written as a snapshot at index 1, term 1 (the store's applied index set
 * to match), checkpointed, with member.id beside it. A member started on that dir with the same
 * `--initial-cluster` and token resumes from it.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js'
import { ConfigError, foundingMembers, parseMemberConfig, type MemberConfig } from '../member/index.ts'
import { AuthStore, encodeAuthCommand } from '../member/auth-store.ts'
import { ClusterTable } from '../member/cluster-table.ts'
import { backendContents } from '../member/etcd-backend.ts'
import { resolveIdentity, type Identity } from '../member/identity-file.ts'
import { MvccStore } from '../mvcc/index.ts'
import { META, setMeta } from '../mvcc/schema.ts'
import { Sql } from '../mvcc/sql.ts'
import type { ConfState } from '../raft/index.ts'
import { BoltFormatError, databaseImage, MemberStorage, NodeDisk, readBolt, type BoltFile } from '../storage/index.ts'
import { BOLT_MAGIC, PAGE_HEADER_BYTES } from '../storage/bolt-format.ts'
import { crc32c } from '../storage/crc32c.ts'
import { decodeCheckpoint, encodeCheckpoint } from '../storage/checkpoint.ts'
import { CliError, ExitCode } from './errors.ts'
import type { DbStatus } from './output.ts'

const SHA256_BYTES = 32
const CHECKPOINT_MAGIC = [0x45, 0x44, 0x43, 0x4b] // 'EDCK'

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest()
}

/**
 * The SQLite image in a snapshot file's bytes. The trailing SHA-256 (present when the length is
 * 32 past a multiple of 512, as etcd tells) is checked unless `skipHashCheck`; a file without one
 * needs `skipHashCheck`, as in etcd.
 */
export function snapshotImage(bytes: Uint8Array, file: string, skipHashCheck: boolean): Uint8Array {
  if (CHECKPOINT_MAGIC.every((b, i) => bytes[i] === b)) return decodeCheckpoint(bytes, file)
  if (bytes.length % 512 !== SHA256_BYTES) {
    if (!skipHashCheck) throw new CliError(ExitCode.Error, 'snapshot missing hash but --skip-hash-check=false')
    return bytes
  }
  const image = bytes.subarray(0, bytes.length - SHA256_BYTES)
  const expected = bytes.subarray(bytes.length - SHA256_BYTES)
  const actual = sha256(image)
  if (!skipHashCheck && toHex(actual) !== toHex(expected))
    throw new CliError(ExitCode.Error, `expected sha256 ${toHex(expected)}, got ${toHex(actual)}`)
  return image
}

/** True when `image` starts with a bbolt meta page (etcd's backend) rather than SQLite's header. */
function isBolt(image: Uint8Array): boolean {
  return image.length >= PAGE_HEADER_BYTES + 4 &&
    new DataView(image.buffer, image.byteOffset + PAGE_HEADER_BYTES, 4).getUint32(0, true) === BOLT_MAGIC
}

function readBackend(image: Uint8Array, file: string): BoltFile {
  try {
    return readBolt(image)
  } catch (err) {
    if (err instanceof BoltFormatError) throw new CliError(ExitCode.Error, `${file}: ${err.message}`)
    throw err
  }
}

/**
 * A member's database holding what `image` holds: the image itself when it is one (refused
 * unless it has `mvcc_meta`), or one built from etcd's buckets.
 */
function openSnapshot(sql: SqlJsStatic, image: Uint8Array, file: string): Database {
  if (isBolt(image)) return databaseFromBackend(sql, readBackend(image, file), file)
  let db: Database | null = null
  try {
    db = new sql.Database(image)
    const found = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mvcc_meta'")
    if (found.length === 0) throw new Error('it has no mvcc tables')
    return db
  } catch (err) {
    db?.close()
    throw new CliError(ExitCode.Error, `${file}: not an edgecd snapshot (${(err as Error).message})`)
  }
}

/** A new member database holding the MVCC state and auth store of etcd's buckets. */
function databaseFromBackend(sql: SqlJsStatic, bolt: BoltFile, file: string): Database {
  const db = new sql.Database()
  try {
    const contents = backendContents(bolt.buckets)
    const store = new MvccStore(db)
    store.loadContents(contents.rows, contents.summary)
    store.close()
    const auth = new AuthStore(db)
    for (const command of contents.auth(randomBytes(32))) {
      const refused = auth.apply(encodeAuthCommand(command))
      if (refused !== null) throw new Error(`auth ${command.type}: ${refused.message}`)
    }
    return db
  } catch (err) {
    db.close()
    throw err instanceof CliError ? err : new CliError(ExitCode.Error, `${file}: ${(err as Error).message}`)
  }
}

function tableNames(db: Database): string[] {
  const rows = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")
  return (rows[0]?.values ?? []).map((r) => r[0] as string)
}

const isMvccTable = (name: string): boolean => name.startsWith('mvcc_')
/** What a restore keeps: the MVCC state and the auth store. */
const isKept = (name: string): boolean => isMvccTable(name) || name.startsWith('auth_')

/**
 * `snapshot status`. Of etcd's backend, what etcd prints: the CRC-32C of every bucket's name,
 * keys and values in order, the revision of the last history row, the entries of all buckets,
 * and the database's size. Of a member's SQLite image: the store hash (the same as
 * `/v3/maintenance/hash` answered at that revision), the revision, the rows of the MVCC tables,
 * and the image size.
 */
export async function snapshotStatus(image: Uint8Array, file: string): Promise<DbStatus> {
  if (isBolt(image)) return backendStatus(readBackend(image, file))
  const db = openSnapshot(await initSqlJs(), image, file)
  try {
    const store = new MvccStore(db)
    const status = { hash: store.hash(), revision: store.currentRevision() }
    store.close()
    let totalKey = 0
    for (const name of tableNames(db).filter(isMvccTable))
      totalKey += Number(db.exec(`SELECT count(*) FROM "${name}"`)[0]?.values[0]?.[0] ?? 0)
    return { ...status, totalKey, totalSize: image.length }
  } finally {
    db.close()
  }
}

function backendStatus(bolt: BoltFile): DbStatus {
  const encoder = new TextEncoder()
  let hash = 0
  let revision = 0
  let totalKey = 0
  for (const bucket of bolt.buckets) {
    hash = crc32c(encoder.encode(bucket.name), hash)
    for (const [k, v] of bucket.entries) {
      hash = crc32c(v, crc32c(k, hash))
      totalKey++
    }
    const last = bucket.entries[bucket.entries.length - 1]
    if (bucket.name === 'key' && last !== undefined && last[0].length >= 8)
      revision = Number(new DataView(last[0].buffer, last[0].byteOffset, 8).getBigUint64(0))
  }
  return { hash, revision, totalKey, totalSize: bolt.pageCount * bolt.pageSize }
}

/** The image a restored member starts from: MVCC tables kept, the new membership, applied index 1. */
function restoredImage(sql: SqlJsStatic, image: Uint8Array, file: string, config: MemberConfig): Uint8Array {
  const db = openSnapshot(sql, image, file)
  try {
    for (const name of tableNames(db).filter((n) => !isKept(n))) db.exec(`DROP TABLE "${name}"`)
    if (tableNames(db).includes('auth_tokens')) db.exec('DELETE FROM auth_tokens')
    const meta = new Sql(db)
    setMeta(meta, META.appliedIndex, 1)
    meta.free()
    const cluster = new ClusterTable(db)
    for (const f of foundingMembers(config))
      cluster.upsert({ id: f.id, name: f.name, peerUrls: f.peerUrls, isLearner: false })
    db.exec('VACUUM')
    return databaseImage(db)
  } finally {
    db.close()
  }
}

/** The new member's configuration from restore's flags (member flag names), defaults as a member's. */
export function restoreConfig(args: readonly string[]): MemberConfig {
  try {
    return parseMemberConfig(args, {})
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(ExitCode.BadArgs, err.message)
    throw err
  }
}

/** Checks what etcd's restore checks: a new dir, and this member's URLs as the cluster lists them. */
function checkRestoreConfig(config: MemberConfig): void {
  if (existsSync(config.dataDir) && readdirSync(config.dataDir).length > 0)
    throw new CliError(ExitCode.Error, `data-dir ${JSON.stringify(config.dataDir)} exists`)
  const listed = [...(config.initialCluster.get(config.name) ?? [])].sort().join(',')
  const advertised = [...config.initialAdvertisePeerUrls].sort().join(',')
  if (listed !== advertised)
    throw new CliError(
      ExitCode.Error,
      `--initial-cluster has ${config.name}=${listed} but --initial-advertise-peer-urls is ${advertised}`,
    )
}

/** Builds `config.dataDir` for member `config.name` of a new cluster holding the snapshot's data. */
export async function restoreSnapshot(image: Uint8Array, file: string, config: MemberConfig): Promise<Identity> {
  checkRestoreConfig(config)
  const sql = await initSqlJs()
  const restored = restoredImage(sql, image, file, config)
  const disk = new NodeDisk()
  const neverJoining = (): Promise<never> => Promise.reject(new Error('a restored member founds its cluster'))
  const identity = await resolveIdentity(disk, config, neverJoining)
  const storage = await MemberStorage.open(
    disk,
    config.dataDir,
    { clusterId: config.initialClusterToken, memberId: identity.memberId },
    sql,
  )
  try {
    const voters = foundingMembers(config).map((f) => f.id).sort((a, b) => a - b)
    const confState: ConfState = { voters, learners: [] }
    await storage.installSnapshot({ metadata: { index: 1, term: 1, confState }, data: encodeCheckpoint(restored) })
    await storage.saveReady([], { term: 1, vote: 0, commit: 1 }, null)
  } finally {
    await storage.close()
  }
  return identity
}
