/**
 * Snapshot files offline: reading one (checking its integrity), describing it (`snapshot
 * status`), and building a new member's data dir from it (`snapshot restore`).
 *
 * A snapshot file is what `snapshot save` writes, as etcd does: the member's SQLite image
 * (raft, member and `mvcc_*` tables) followed by its 32-byte SHA-256. A member's own
 * `checkpoint.db` (src/storage/checkpoint.ts: header, CRC, image) is accepted too.
 *
 * Restore keeps the MVCC tables (keys, history, leases, alarms, revision, compaction) and drops
 * every other table, then starts fresh Raft state the way a new cluster's bootstrap does
 * (src/member/member.ts): the membership is the given initial cluster, written as a snapshot at
 * index 1, term 1 (the store's applied index set to match), checkpointed, with member.id beside
 * it. A member started on that dir with the same `--initial-cluster` and token resumes from it.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js'
import { ConfigError, foundingMembers, parseMemberConfig, type MemberConfig } from '../member/index.ts'
import { ClusterTable } from '../member/cluster-table.ts'
import { resolveIdentity, type Identity } from '../member/identity-file.ts'
import { MvccStore } from '../mvcc/index.ts'
import { META, setMeta } from '../mvcc/schema.ts'
import { Sql } from '../mvcc/sql.ts'
import type { ConfState } from '../raft/index.ts'
import { databaseImage, MemberStorage, NodeDisk } from '../storage/index.ts'
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

/** Opens `image`, refusing anything that is not a member's database (no `mvcc_meta` table). */
function openSnapshot(sql: SqlJsStatic, image: Uint8Array, file: string): Database {
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

function tableNames(db: Database): string[] {
  const rows = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")
  return (rows[0]?.values ?? []).map((r) => r[0] as string)
}

const isMvccTable = (name: string): boolean => name.startsWith('mvcc_')

/**
 * `snapshot status`: the store hash (the same as `/v3/maintenance/hash` answered at that
 * revision), the revision, the rows of the MVCC tables (etcd counts every key in every bucket),
 * and the image size.
 */
export async function snapshotStatus(image: Uint8Array, file: string): Promise<DbStatus> {
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

/** The image a restored member starts from: MVCC tables kept, the new membership, applied index 1. */
function restoredImage(sql: SqlJsStatic, image: Uint8Array, file: string, config: MemberConfig): Uint8Array {
  const db = openSnapshot(sql, image, file)
  try {
    for (const name of tableNames(db).filter((n) => !isMvccTable(n))) db.exec(`DROP TABLE "${name}"`)
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
