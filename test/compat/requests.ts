/**
 * Seeded random KV and lease requests for the differential check against etcd (etcd-diff.ts):
 * puts, ranges (limits, sorts, filters, revisions), deletes, txns (compares of every target and
 * result, nested txns), compactions, lease grant / revoke / time-to-live / list, user and role
 * management (auth stays off), locks and elections, alarms, status, defragment, leader transfer,
 * member list / add (learners) / remove / update / promote, malformed bodies, and KV requests
 * with a field or a byte of their JSON mutated (mutations.ts). Keys come from a small set so
 * that requests hit each other's keys.
 *
 * A request names leases by the order they were granted in (`{ $lease: n }`) and members by the
 * order they were added in (`{ $member: n }`, -1 for the system's own): each system gets its own
 * IDs, or made-up unknown ones. No voter is ever added: a second voter that never starts would
 * leave both single-member systems without a quorum.
 *
 * @module
 */
import type { Rng } from '../chaos/prng.ts'
import { mutateRequest } from './mutations.ts'

export interface LeaseRef {
  readonly $lease: number
}

/** What the sequence has done so far that later requests depend on (one per seed). */
export interface GeneratorState {
  /** The alarm raised by the last activation, until deactivated. */
  alarm: { readonly memberID: number; readonly alarm: 'NOSPACE' | 'CORRUPT' } | null
}

export interface GeneratedRequest {
  /** POST unless said. */
  readonly method?: string
  readonly path: string
  /** A JSON body (LeaseRefs inside are replaced per system), or `raw` text sent as is. */
  readonly body: unknown
  readonly raw?: string
}

const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64')
const KEYS = ['a', 'b', 'c', 'a/1', 'a/2', 'b/1', 'z', 'foo', '\xff', 'a\x00']
const VALUES = ['v', 'w', '', 'x'.repeat(40)]

/**
 * Bodies etcd 3.4 rejects or reads oddly (shared/etcd-v3-http-api.md §2 and §5). One txn is left
 * out on purpose: a put inside a delete up to "\0" (README: differences from etcd).
 */
const RAW = [
  '{"key":"Zm9v"', '[]', '{"key":123}', '{"key":"!!!"}', '{"key":"Zm9vYg"}', '{"key":"Zm9v","limit":"abc"}',
  '{"key":"Zm9v","limit":1.5}', '{"key":"Zm9v","limit":"2"}', '{"key":"Zm9v","limit":true}', '', 'null', '{"key":null}',
  '{"key":"Zm9v","value":"YmFy","lease":"abc"}', '{"key":"Zm9v","sort_order":"descend"}', '{"key":"Zm9v","keys_only":"true"}',
  '{"compare":[{"key":"Zm9v","target":"BOGUS"}]}', '{"compare":[{"key":"Zm9v"}]}', '{"success":[{}]}', '{"success":[{"request_put":{}}]}',
  '{"TTL":"x"}', '{"key":"Zm9v","revision":"1e3"}', '{"key":"Zm9v"}{"key":"YmFy"}', '{"key":"Zm9v",}', '{"key":"Zm9v\\n"}',
  '{"key":"Zm 9v"}', '{"key":"Zm9v","range_end":""}', '{"key":"","value":"dg=="}', '{"value":"dg=="}',
  '{"success":[{"request_put":{"key":"YQ==","value":"dg=="}},{"request_put":{"key":"YQ==","value":"dg=="}}]}',
  '{"success":[{"request_put":{"key":"YQ==","value":"dg=="}},{"request_delete_range":{"key":"YQ=="}}]}',
  '{"key":"YQ==","value":"dg==","ignore_value":true}', '{"key":"YQ==","ignore_lease":true,"lease":5}',
]

/** The share of KV requests sent mutated (mutations.ts). */
const MUTATED_SHARE = 0.08

/** The `index`-th request of a sequence (it names locks and elections, so that none waits). */
export function generateRequest(rng: Rng, index: number, state: GeneratorState): GeneratedRequest {
  const request = wellFormedRequest(rng, index, state)
  return rng.chance(MUTATED_SHARE) ? mutateRequest(rng, request) : request
}

function wellFormedRequest(rng: Rng, index: number, state: GeneratorState): GeneratedRequest {
  const key = (): string => b64(rng.pick(KEYS))
  const rangeEnd = (): string | undefined => rng.pick([undefined, undefined, 'AA==', b64('b'), b64('a0'), b64('c'), b64('a'), b64('\xff\xff')])
  const lease = (): LeaseRef => ({ $lease: rng.int(0, 3) })
  const maybe = (p: number, fields: Record<string, unknown>): Record<string, unknown> => (rng.chance(p) ? fields : {})
  const r = rng.next()
  if (r < 0.22) {
    return {
      path: '/v3/kv/put',
      body: {
        key: key(),
        value: b64(rng.pick(VALUES)),
        ...maybe(0.3, { prev_kv: true }),
        ...maybe(0.1, { ignore_value: true }),
        ...maybe(0.1, { ignore_lease: true }),
        ...maybe(0.2, { lease: lease() }),
      },
    }
  }
  if (r < 0.45) {
    const end = rangeEnd()
    return {
      path: '/v3/kv/range',
      body: {
        key: key(),
        ...(end === undefined ? {} : { range_end: end }),
        ...maybe(0.4, { limit: rng.pick([0, 1, 2, 5, -1]) }),
        ...maybe(0.2, { revision: rng.pick([0, 1, 2, 5, 50, 1000, -1]) }),
        ...maybe(0.3, { sort_order: rng.pick(['NONE', 'ASCEND', 'DESCEND', 1, 2]) }),
        ...maybe(0.4, { sort_target: rng.pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE', 3]) }),
        ...maybe(0.2, { keys_only: true }),
        ...maybe(0.2, { count_only: true }),
        ...maybe(0.2, { serializable: true }),
        ...maybe(0.1, { min_mod_revision: rng.pick([0, 2, 5]) }),
        ...maybe(0.1, { max_mod_revision: rng.pick([0, 2, 5]) }),
        ...maybe(0.1, { min_create_revision: rng.pick([0, 2, 5]) }),
        ...maybe(0.1, { max_create_revision: rng.pick([0, 2, 5]) }),
      },
    }
  }
  if (r < 0.53) {
    const end = rangeEnd()
    return { path: '/v3/kv/deleterange', body: { key: key(), ...(end === undefined ? {} : { range_end: end }), ...maybe(0.4, { prev_kv: true }) } }
  }
  if (r < 0.7) return { path: '/v3/kv/txn', body: txn(rng, key, rangeEnd) }
  if (r < 0.74) return { path: '/v3/kv/compaction', body: { revision: rng.pick([1, 2, 3, 5, 8, 10000, 0, -1]), ...maybe(0.3, { physical: true }) } }
  if (r < 0.8) {
    // A TTL below etcd's minimum becomes 2 s: such a lease expires during the run, at a moment
    // the two systems do not share, so it is granted (raw) but never used afterwards.
    if (rng.chance(0.25)) return { path: '/v3/lease/grant', body: null, raw: rng.pick(['{"TTL":0}', '{"TTL":-5}', '{}']) }
    return { path: '/v3/lease/grant', body: { TTL: rng.pick([60, 100, '30', 1e10]), ...maybe(0.3, { ID: rng.int(1000, 1003) }) } }
  }
  if (r < 0.84) return { path: '/v3/lease/revoke', body: { ID: lease() } }
  if (r < 0.88) return { path: '/v3/lease/timetolive', body: { ID: lease(), ...maybe(0.5, { keys: true }) } }
  if (r < 0.89) return { path: '/v3/lease/leases', body: {} }
  if (r < 0.93) return authRequest(rng)
  if (r < 0.955) return concurrencyRequest(rng, index)
  if (r < 0.98) return adminRequest(rng, index, state)
  if (r < 0.99) {
    // Routing: other methods, unknown paths, the v3beta twins and aliases, a gone prefix.
    const path = rng.pick(['/v3/kv/range', '/v3/foo', '/v3beta/kv/range', '/v3alpha/kv/range', '/v3/kv/lease/leases', '/v3/lease/keepalive/x'])
    return { method: rng.pick(['POST', 'GET', 'OPTIONS', 'PUT']), path, body: null, raw: '{"key":"YQ=="}' }
  }
  return { path: rng.pick(['/v3/kv/put', '/v3/kv/range', '/v3/kv/txn', '/v3/kv/deleterange', '/v3/lease/grant']), body: null, raw: rng.pick(RAW) }
}

function txn(rng: Rng, key: () => string, rangeEnd: () => string | undefined): Record<string, unknown> {
  const compare = (): Record<string, unknown> => {
    const target = rng.pick(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const)
    const operand = {
      VERSION: { version: rng.pick([0, 1, 2, '1']) },
      CREATE: { create_revision: rng.pick([0, 2, 3]) },
      MOD: { mod_revision: rng.pick([0, 2, 5]) },
      VALUE: { value: b64(rng.pick(['v', 'w', ''])) },
      LEASE: { lease: rng.pick([0, 1]) },
    }[target]
    const end = rng.chance(0.2) ? (rangeEnd() ?? 'AA==') : undefined
    return { key: key(), target, result: rng.pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']), ...operand, ...(end === undefined ? {} : { range_end: end }) }
  }
  const op = (): Record<string, unknown> => {
    const t = rng.next()
    if (t < 0.4) return { request_put: { key: key(), value: b64('t'), ...(rng.chance(0.3) ? { prev_kv: true } : {}) } }
    if (t < 0.7) return { request_range: { key: key(), ...(rng.chance(0.5) ? { range_end: 'AA==' } : {}) } }
    if (t < 0.9) return { request_delete_range: { key: key(), ...(rng.chance(0.4) ? { prev_kv: true } : {}) } }
    return { request_txn: { compare: [compare()], success: [{ request_put: { key: key(), value: b64('n') } }] } }
  }
  const ops = (n: number): Record<string, unknown>[] => Array.from({ length: rng.int(0, n) }, op)
  return { compare: Array.from({ length: rng.int(0, 2) }, compare), success: ops(2), failure: ops(2) }
}

/** User and role management with auth off (etcd allows it): names from small sets, so they collide. */
function authRequest(rng: Rng): GeneratedRequest {
  const user = (): string => rng.pick(['alice', 'bob', 'root', ''])
  const role = (): string => rng.pick(['reader', 'writer', 'root', ''])
  const perm = (): Record<string, unknown> => ({
    ...(rng.chance(0.7) ? { permType: rng.pick(['READ', 'WRITE', 'READWRITE', 1]) } : {}),
    key: b64(rng.pick(['a', 'a/', 'b'])),
    ...(rng.chance(0.6) ? { range_end: rng.pick([b64('a0'), b64('c'), 'AA==']) } : {}),
  })
  const requests: Array<() => GeneratedRequest> = [
    () => ({ path: '/v3/auth/user/add', body: { name: user(), password: rng.pick(['pw', '']) } }),
    () => ({ path: '/v3/auth/user/get', body: { name: user() } }),
    () => ({ path: '/v3/auth/user/list', body: {} }),
    () => ({ path: '/v3/auth/user/delete', body: { name: user() } }),
    () => ({ path: '/v3/auth/user/changepw', body: { name: user(), password: 'pw2' } }),
    () => ({ path: '/v3/auth/user/grant', body: { user: user(), role: role() } }),
    () => ({ path: '/v3/auth/user/revoke', body: { name: user(), role: role() } }),
    () => ({ path: '/v3/auth/role/add', body: { name: role() } }),
    () => ({ path: '/v3/auth/role/get', body: { role: role() } }),
    () => ({ path: '/v3/auth/role/list', body: {} }),
    () => ({ path: '/v3/auth/role/delete', body: { role: role() } }),
    () => ({ path: '/v3/auth/role/grant', body: { name: role(), perm: perm() } }),
    () => ({ path: '/v3/auth/role/revoke', body: { role: role(), key: b64(rng.pick(['a', 'a/', 'b'])), ...(rng.chance(0.5) ? { range_end: b64('a0') } : {}) } }),
    () => ({ path: '/v3/auth/authenticate', body: { name: user(), password: 'pw' } }),
  ]
  return rng.pick(requests)()
}

/** A watch create request over the same keys: a key or a range, prev_kv, a filter, a start revision. */
export function generateWatch(rng: Rng): Record<string, unknown> {
  const end = rng.pick([undefined, 'AA==', b64('b'), b64('a0')])
  return {
    key: rng.pick([b64('a'), 'AA==', b64('b'), b64('z')]),
    ...(end === undefined ? {} : { range_end: end }),
    ...(rng.chance(0.5) ? { prev_kv: true } : {}),
    ...(rng.chance(0.3) ? { filters: [rng.pick(['NOPUT', 'NODELETE'])] } : {}),
    // A negative start below -1 is cancelled as compacted (compact_revision -1 before any compaction).
    ...(rng.chance(0.2) ? { start_revision: 1 } : rng.chance(0.1) ? { start_revision: -2 } : {}),
  }
}

/**
 * Lease keepalive (a stream that ends with the request body), locks and elections. Locks and
 * campaigns use names of their own and leases with explicit IDs (1000-1003, the same on both
 * systems, as the keys embed them), so none blocks; the rest are etcd's error paths.
 */
function concurrencyRequest(rng: Rng, index: number): GeneratedRequest {
  const name = b64(`n${index}`)
  const lease = rng.int(1000, 1004)
  const leader = { name: b64(rng.pick(['n1', 'e'])), key: b64(rng.pick(['e/3e8', 'n1/3e8'])), rev: rng.int(1, 30), lease }
  const requests: Array<() => GeneratedRequest> = [
    () => ({ path: '/v3/lease/keepalive', body: { ID: { $lease: rng.int(0, 3) } } }),
    () => ({ path: '/v3/lease/keepalive', body: { ID: lease } }),
    () => ({ path: '/v3/lock/lock', body: { name, lease } }),
    () => ({ path: '/v3/lock/unlock', body: rng.chance(0.8) ? { key: b64(`n${rng.int(0, index)}/${lease.toString(16)}`) } : {} }),
    () => ({ path: '/v3/election/campaign', body: { name, lease, value: b64('v') } }),
    () => ({ path: '/v3/election/leader', body: { name: b64(`n${rng.int(0, index)}`) } }),
    () => ({ path: '/v3/election/proclaim', body: { leader, value: b64('w') } }),
    () => ({ path: '/v3/election/resign', body: { leader } }),
  ]
  return rng.pick(requests)()
}

/**
 * Maintenance and membership. At most one alarm is raised at a time (etcd 3.4 lifts both alarms'
 * refusals when either of two is deactivated; README: differences from etcd), and it is soon
 * deactivated again. Members added are learners on fresh peer URLs.
 */
function adminRequest(rng: Rng, index: number, state: GeneratorState): GeneratedRequest {
  const member = (): { $member: number } => ({ $member: rng.int(-1, 3) })
  const fresh = (): string => `http://127.0.0.1:${31000 + index}`
  const alarm = (): GeneratedRequest => {
    const raised = state.alarm
    if (raised !== null && rng.chance(0.6)) {
      state.alarm = null
      return { path: '/v3/maintenance/alarm', body: { action: 'DEACTIVATE', ...raised } }
    }
    if (raised === null && rng.chance(0.5)) {
      state.alarm = { memberID: rng.int(1, 3), alarm: rng.pick(['NOSPACE', 'CORRUPT'] as const) }
      return { path: '/v3/maintenance/alarm', body: { action: 'ACTIVATE', ...state.alarm } }
    }
    const which = rng.pick([{}, { alarm: 'NOSPACE' }, { alarm: 'CORRUPT' }, { action: 'GET' }])
    return { path: '/v3/maintenance/alarm', body: which }
  }
  const requests: Array<() => GeneratedRequest> = [
    alarm,
    alarm,
    alarm,
    alarm,
    () => ({ path: '/v3/maintenance/status', body: {} }),
    () => ({ path: '/v3/maintenance/hash', body: {} }),
    () => ({ path: '/v3/maintenance/defragment', body: {} }),
    () => ({ path: '/v3/maintenance/transfer-leadership', body: rng.chance(0.8) ? { targetID: member() } : {} }),
    () => ({ path: '/v3/cluster/member/list', body: {} }),
    () => ({ path: '/v3/cluster/member/add', body: { peerURLs: [fresh()], isLearner: true } }),
    () => ({ path: '/v3/cluster/member/add', body: { peerURLs: [{ $selfPeer: true }], isLearner: rng.chance(0.5) } }),
    () => ({ path: '/v3/cluster/member/add', body: rng.pick([{}, { peerURLs: [] }, { peerURLs: ['notaurl'] }, { peerURLs: ['127.0.0.1:1'] }]) }),
    () => ({ path: '/v3/cluster/member/remove', body: { ID: member() } }),
    () => ({ path: '/v3/cluster/member/remove', body: { ID: { $member: rng.int(0, 3) } } }),
    // Only the own member, to its own URL (a new one would make `$selfPeer` stale, and a voter
    // added on it would take both systems' quorum), or an unknown one: etcd 3.4 lists an
    // updated learner as a voter.
    () => ({ path: '/v3/cluster/member/update', body: { ID: { $member: -1 }, peerURLs: [{ $selfPeer: true }] } }),
    () => ({ path: '/v3/cluster/member/update', body: { ID: { $member: 7 }, peerURLs: [fresh()] } }),
    () => ({ path: '/v3/cluster/member/promote', body: { ID: member() } }),
  ]
  return rng.pick(requests)()
}
