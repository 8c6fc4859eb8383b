/**
 * How etcd-diff.ts compares an answer of etcd with edgecd's: what may legitimately differ (the
 * header's cluster_id, member_id and raft_term; lease IDs, compared by the order they were
 * granted in, and member IDs by the order members were added in; the system's own member, whose
 * name and URLs differ; the order of a lease list, a lease's keys, members and alarms; a remaining
 * TTL by one second; a status's sizes and raft indexes, and a hash) is normalized away,
 * everything else must be equal.
 *
 * @module
 */
import type { GeneratedRequest } from './requests.ts'

export interface Answer {
  readonly status: number
  /** The headers compared (lowercase names, see COMPARED_HEADERS). */
  readonly headers?: Readonly<Record<string, string>>
  readonly text: string
  readonly json: unknown
}

/** One system's IDs, to compare lease and member IDs by the order they were made in. */
export interface SystemIds {
  /** IDs of the leases granted so far, in order. */
  readonly leases: string[]
  /** IDs of leases granted by raw requests (never referred to later). */
  readonly rawLeases: Set<string>
  /** IDs of the members added so far, in order. */
  readonly members: string[]
  /** The system's own member: its ID and peer URL. */
  readonly self: { readonly id: string; readonly peerUrl: string }
}

/**
 * The body as `system` gets it: each `{ $lease: n }` becomes its n-th lease ID (or an unknown
 * one), `{ $member: n }` its n-th added member's ID (-1: its own; an unknown one past the end),
 * `{ $selfPeer: true }` its own peer URL.
 */
export function render(req: GeneratedRequest, system: SystemIds): string {
  if (req.raw !== undefined) return req.raw
  return JSON.stringify(req.body, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null) return v
    if ('$lease' in v) {
      const n = (v as { $lease: number }).$lease
      return system.leases[n] ?? String(424242 + n)
    }
    if ('$member' in v) {
      const n = (v as { $member: number }).$member
      return n < 0 ? system.self.id : (system.members[n] ?? String(525252 + n))
    }
    if ('$selfPeer' in v) return system.self.peerUrl
    return v
  })
}

/** Fields of a status (and a hash) that depend on each system's storage and raft log. */
const STORAGE_FIELDS = new Set(['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm', 'leader', 'hash'])

const byJson = (a: unknown, b: unknown): number => JSON.stringify(a).localeCompare(JSON.stringify(b))

/** What is compared: the answer without what may differ (see the module doc); TTL set apart. */
export function normalize(json: unknown, system: SystemIds): { readonly body: string; readonly ttl: number | null } {
  let ttl: number | null = null
  const body = JSON.stringify(json, function (key: string, v: unknown) {
    if (key === 'cluster_id' || key === 'member_id' || key === 'raft_term') return undefined
    if (STORAGE_FIELDS.has(key) && (typeof v === 'string' || typeof v === 'number')) return 'N'
    // The system's own member differs in name and URLs: it is compared as "self".
    if (key === 'members' && Array.isArray(v))
      return v
        .map((m: { ID?: string }) => (m.ID === system.self.id ? 'self' : normalize(m, system).body))
        .sort()
        .map((m: string) => (m === 'self' ? m : (JSON.parse(m) as unknown)))
    if (key === 'alarms' && Array.isArray(v)) return [...v].sort(byJson)
    if (key === 'TTL' && this !== json) return v
    if (key === 'TTL' && typeof v === 'string') {
      ttl = Number(v)
      return 'T'
    }
    if ((key === 'ID' || key === 'lease') && typeof v === 'string') {
      const n = system.leases.indexOf(v)
      if (n >= 0) return `lease#${n}`
      if (system.rawLeases.has(v)) return 'raw lease'
      const m = system.members.indexOf(v)
      return m >= 0 ? `member#${m}` : v === system.self.id ? 'self' : v
    }
    // A lease's keys come in Go map order from etcd.
    if (key === 'keys' && Array.isArray(v)) return [...v].sort()
    if (key === 'leases' && Array.isArray(v)) {
      // Leases from raw grants (2 s, expiring whenever) are left out; the rest in grant order.
      const known = v.map((l: { ID: string }) => system.leases.indexOf(l.ID)).filter((n) => n >= 0)
      return known.sort((a, b) => a - b).map((n) => ({ ID: `lease#${n}` }))
    }
    return v
  })
  return { body, ttl }
}

/** Response headers a client may look at; the rest (Date, Connection, lengths) may differ. */
export const COMPARED_HEADERS = [
  'content-type', 'grpc-metadata-content-type', 'x-content-type-options',
  'access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers',
]

export function same(a: Answer, b: Answer, ea: SystemIds, eb: SystemIds): boolean {
  if (a.status !== b.status || JSON.stringify(a.headers ?? {}) !== JSON.stringify(b.headers ?? {})) return false
  if (a.json === null || b.json === null) return a.text === b.text
  const na = normalize(a.json, ea)
  const nb = normalize(b.json, eb)
  if (na.body !== nb.body) return false
  return na.ttl === nb.ttl || (na.ttl !== null && nb.ttl !== null && Math.abs(na.ttl - nb.ttl) <= 1)
}

