/**
 * How etcd-diff.ts compares an answer of etcd with edgecd's: what may legitimately differ (the
 * header's cluster_id, member_id and raft_term; lease IDs, compared by the order they were
 * granted in; the order of a lease list and of a lease's keys; a remaining TTL by one second) is
 * normalized away, everything else must be equal.
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

/** One system's leases, to compare lease IDs by the order they were granted in. */
export interface Leases {
  /** IDs of the leases granted so far, in order. */
  readonly leases: string[]
  /** IDs of leases granted by raw requests (never referred to later). */
  readonly rawLeases: Set<string>
}

/** The body as `system` gets it: each `{ $lease: n }` becomes its n-th lease ID (or an unknown one). */
export function render(req: GeneratedRequest, system: Leases): string {
  if (req.raw !== undefined) return req.raw
  return JSON.stringify(req.body, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && '$lease' in v) {
      const n = (v as { $lease: number }).$lease
      return system.leases[n] ?? String(424242 + n)
    }
    return v
  })
}

/** What is compared: the answer without what may differ (see the module doc); TTL set apart. */
export function normalize(json: unknown, system: Leases): { readonly body: string; readonly ttl: number | null } {
  let ttl: number | null = null
  const body = JSON.stringify(json, function (key: string, v: unknown) {
    if (key === 'cluster_id' || key === 'member_id' || key === 'raft_term') return undefined
    if (key === 'TTL' && this !== json) return v
    if (key === 'TTL' && typeof v === 'string') {
      ttl = Number(v)
      return 'T'
    }
    if ((key === 'ID' || key === 'lease') && typeof v === 'string') {
      const n = system.leases.indexOf(v)
      return n >= 0 ? `lease#${n}` : system.rawLeases.has(v) ? 'raw lease' : v
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

export function same(a: Answer, b: Answer, ea: Leases, eb: Leases): boolean {
  if (a.status !== b.status || JSON.stringify(a.headers ?? {}) !== JSON.stringify(b.headers ?? {})) return false
  if (a.json === null || b.json === null) return a.text === b.text
  const na = normalize(a.json, ea)
  const nb = normalize(b.json, eb)
  if (na.body !== nb.body) return false
  return na.ttl === nb.ttl || (na.ttl !== null && nb.ttl !== null && Math.abs(na.ttl - nb.ttl) <= 1)
}

