/**
 * A member's replicated state as etcd's backend buckets, and back: what a snapshot in etcd's
 * format holds (the bbolt file itself is storage's bolt-writer.ts and bolt-reader.ts). With it
 * `etcdctl snapshot status` and `snapshot restore` read an edgecd snapshot, etcd restores from
 * one, and `edgecd snapshot restore` takes etcd's.
 *
 * ```
 * key              revision (main u64 BE · '_' · sub u64 BE · 't' for a tombstone) → mvccpb.KeyValue
 * meta             consistent_index → u64 BE; finishedCompactRev, scheduledCompactRev → revision
 * lease            ID u64 BE → leasepb.Lease
 * alarm            etcdserverpb.AlarmMember → (empty)
 * auth             authEnabled → 1 byte; authRevision → u64 BE
 * authUsers        name → authpb.User (password: the stored bcrypt hash, auth-password.ts)
 * authRoles        name → authpb.Role
 * members          ID in hex → JSON {id, peerURLs, name, clientURLs}
 * members_removed  ID in hex → "removed"
 * cluster          clusterVersion → "3.4.0"
 * ```
 *
 * Reading takes only what a new cluster keeps (etcd's restore drops the membership too): the
 * history, compaction, leases, alarms and auth.
 *
 * @module
 */
import {
  AlarmMemberSchema, BackendLeaseSchema, BackendRoleSchema, BackendUserSchema, KeyValueSchema, type BackendUser,
} from '../api/index.ts'
import { decodeProto, encodeProto } from '../api/proto-wire.ts'
import type { AlarmMember, HistoryRow, KeyValue, Lease, MvccStore, RowPosition, StoreSummary } from '../mvcc/index.ts'
import { compareBytes } from '../mvcc/key-range.ts'
import type { BoltBuilder, BoltBucket, BoltEntry } from '../storage/index.ts'
import { etcdPasswordHash } from './auth-password.ts'
import { ROOT, type AuthCommand, type AuthStore } from './auth-store.ts'
import { etcdMemberJson, type MemberInfo } from './cluster-table.ts'

export const CLUSTER_VERSION = '3.4.0'

const REV_BYTES = 17
const TOMBSTONE_MARK = 0x74 // 't'
const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

function u64(value: number | bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)))
  return b
}

function readU64(b: Uint8Array): bigint {
  if (b.length < 8) throw new Error('backend: short integer')
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)
}

function revisionKey(main: number, sub: number, tombstone: boolean): Uint8Array {
  const k = new Uint8Array(tombstone ? REV_BYTES + 1 : REV_BYTES)
  const view = new DataView(k.buffer)
  view.setBigUint64(0, BigInt(main))
  k[8] = 0x5f // '_'
  view.setBigUint64(9, BigInt(sub))
  if (tombstone) k[REV_BYTES] = TOMBSTONE_MARK
  return k
}

function sorted(entries: BoltEntry[]): BoltEntry[] {
  return entries.sort((a, b) => compareBytes(a[0], b[0]))
}

const text = (s: string): Uint8Array => utf8.encode(s)

/** Where the buckets come from: the member actor. */
export interface BackendSource {
  /** The member's store now (installing a leader's snapshot replaces it). */
  readonly store: MvccStore
  readonly auth: AuthStore
  members(): MemberInfo[]
  removedIds(): number[]
}

/** History rows read between two pauses. */
const PAGE_ROWS = 2000

/** The store changed under a backend being written: start again. */
export class BackendChangedError extends Error {}

/**
 * Writes the member's state into `builder` as etcd's buckets, as of the call: the small buckets
 * at once, the history a page at a time with `pause()` awaited between pages (rows at or below
 * the starting revision change only by compaction). Throws {@link BackendChangedError} when a
 * compaction ran or the store was replaced meanwhile.
 */
export async function writeBackend(builder: BoltBuilder, src: BackendSource, pause: () => Promise<void>): Promise<void> {
  const store = src.store
  const summary = store.summary()
  const meta: BoltEntry[] = [[text('consistent_index'), u64(store.appliedIndex())]]
  if (summary.compactRevision >= 0) {
    const rev = revisionKey(summary.compactRevision, 0, false)
    meta.push([text('finishedCompactRev'), rev], [text('scheduledCompactRev'), rev])
  }
  const buckets: BoltBucket[] = [
    { name: 'meta', entries: sorted(meta) },
    { name: 'lease', entries: sorted(summary.leases.map(leaseEntry)) },
    { name: 'alarm', entries: sorted(summary.alarms.map((a) => [encodeProto(AlarmMemberSchema, a), new Uint8Array(0)])) },
    ...authBuckets(src.auth),
    { name: 'members', entries: sorted(src.members().map(memberEntry)) },
    { name: 'members_removed', entries: sorted(src.removedIds().map((id) => [text(id.toString(16)), text('removed')])) },
    { name: 'cluster', entries: [[text('clusterVersion'), text(CLUSTER_VERSION)]] },
  ]
  for (const b of buckets) builder.add(b)
  const history = builder.bucket('key')
  let at: RowPosition | null = null
  for (;;) {
    at = store.historyPage(at, summary.revision, PAGE_ROWS, (row) => {
      history.add(revisionKey(row.main, row.sub, row.tombstone), encodeProto(KeyValueSchema, row.kv))
    })
    if (at === null) break
    await pause()
    if (src.store !== store || store.compactMainRevision() !== summary.compactRevision)
      throw new BackendChangedError('the store was compacted or replaced while it was read')
  }
  history.end()
}

function leaseEntry(l: Lease): BoltEntry {
  const remainingTtl = Math.ceil(l.remainingMs / 1000)
  return [u64(l.id), encodeProto(BackendLeaseSchema, { id: l.id, ttl: l.ttl, remainingTtl })]
}

function memberEntry(m: MemberInfo): BoltEntry {
  return [text(m.id.toString(16)), text(etcdMemberJson(m))]
}

function authBuckets(auth: AuthStore): BoltBucket[] {
  const users = auth.users().map((name): BoltEntry => {
    const u = auth.user(name)
    const user: BackendUser = {
      name,
      password: u?.hash == null ? '' : etcdPasswordHash(u.hash),
      roles: u?.roles ?? [],
      options: { noPassword: u?.hash === null },
    }
    return [text(name), encodeProto(BackendUserSchema, user)]
  })
  const roles = auth.roles().map((name): BoltEntry => [
    text(name),
    encodeProto(BackendRoleSchema, { name, keyPermission: auth.role(name) ?? [] }),
  ])
  return [
    {
      name: 'auth',
      entries: [
        [text('authEnabled'), Uint8Array.of(auth.enabled() ? 1 : 0)],
        [text('authRevision'), u64(auth.revision())],
      ],
    },
    { name: 'authRoles', entries: sorted(roles) },
    { name: 'authUsers', entries: sorted(users) },
  ]
}

/** What a new cluster takes from a backend's buckets. */
export interface BackendContents {
  /** The history, ascending. */
  readonly rows: readonly HistoryRow[]
  readonly summary: StoreSummary
  /**
   * The auth store rebuilt as commands, in an order that applies: roles and their permissions,
   * users and their roles, then `enable` (whose signing key `jwtKey` gives) when it was on.
   */
  readonly auth: (jwtKey: Uint8Array) => AuthCommand[]
}

/** Reads what a new cluster keeps from etcd's buckets; a malformed record throws. */
export function backendContents(buckets: readonly BoltBucket[]): BackendContents {
  const bucket = (name: string): readonly BoltEntry[] => buckets.find((b) => b.name === name)?.entries ?? []
  const value = (name: string, key: string): Uint8Array | undefined =>
    bucket(name).find(([k]) => fromUtf8.decode(k) === key)?.[1]
  const rows = bucket('key').map(([k, v]) => historyRow(k, v))
  const compacted = value('meta', 'scheduledCompactRev')
  const compactRevision = compacted === undefined ? -1 : Number(readU64(compacted))
  const leases = bucket('lease').map(([, v]): Lease => {
    const l = decodeProto(BackendLeaseSchema, v)
    return { id: l.id, ttl: l.ttl, remainingMs: l.remainingTtl * 1000 }
  })
  const alarms = bucket('alarm').map(([k]): AlarmMember => decodeProto(AlarmMemberSchema, k))
  const revision = Math.max(rows[rows.length - 1]?.main ?? 1, compactRevision)
  const users = bucket('authUsers').map(([, v]) => decodeProto(BackendUserSchema, v))
  const roles = bucket('authRoles').map(([, v]) => decodeProto(BackendRoleSchema, v))
  const enabled = value('auth', 'authEnabled')?.[0] === 1
  const auth = (jwtKey: Uint8Array): AuthCommand[] => [
    ...roles.flatMap((r): AuthCommand[] => [
      { type: 'role-add', name: r.name },
      ...r.keyPermission.map((perm): AuthCommand => ({ type: 'role-grant', name: r.name, perm })),
    ]),
    ...users.flatMap((u): AuthCommand[] => [
      { type: 'user-add', name: u.name, hash: u.options?.noPassword === true || u.password === '' ? null : u.password },
      ...u.roles.map((role): AuthCommand => ({ type: 'user-grant', user: u.name, role })),
    ]),
    ...(enabled && users.some((u) => u.name === ROOT) ? [{ type: 'enable', jwtKey } as const] : []),
  ]
  return { rows, summary: { revision, compactRevision, leases, alarms }, auth }
}

function historyRow(k: Uint8Array, v: Uint8Array): HistoryRow {
  const tombstone = k.length === REV_BYTES + 1 && k[REV_BYTES] === TOMBSTONE_MARK
  if (k.length !== REV_BYTES && !tombstone) throw new Error('backend: a key bucket entry without a revision key')
  const view = new DataView(k.buffer, k.byteOffset, REV_BYTES)
  const main = Number(view.getBigUint64(0))
  const kv: KeyValue = decodeProto(KeyValueSchema, v)
  return { main, sub: Number(view.getBigUint64(9)), tombstone, kv: tombstone ? kv : { ...kv, modRevision: main } }
}
