/**
 * How the gateway carries each etcd endpoint (src/api's table says which paths exist and which
 * stream): whether its bodies are streamed both ways, where it goes (the leader, or spread over
 * live members), whether it may be sent again after it may have reached a member, and whether it
 * waits on other clients (lock, campaign) and so has no deadline. `refine` adjusts a unary
 * request by a peek at its JSON body (`serializable` ranges, `GET` alarms).
 *
 * An endpoint missing from the tables below (a new one) is carried as a write to the leader:
 * never resent, which is always safe.
 *
 * @module
 */
import { parseRequestBody, type AnyEndpoint, type JsonValue } from '../api/index.ts'
import type { AlarmRequest, RangeRequest } from '../mvcc/kv.ts'

/** `follower`: spread over the members that do not lead first (a stream the leader's death should not cut). */
export type Target = 'leader' | 'spread' | 'follower'

export interface Route {
  /** Request and response bodies are streams (watch, keepalive, observe, snapshot). */
  readonly stream: boolean
  /** Safe to send again after it may have reached a member: a read, or a watch. */
  readonly idempotent: boolean
  readonly target: Target
  /** Waits on other clients (lock, campaign): no deadline; only the caller's disconnect ends it. */
  readonly blocking: boolean
}

const WRITE: Route = { stream: false, idempotent: false, target: 'leader', blocking: false }
const READ: Route = { ...WRITE, idempotent: true }
const SPREAD_READ: Route = { ...READ, target: 'spread' }
const BLOCKING: Route = { ...WRITE, blocking: true }
const STREAM: Route = { stream: true, idempotent: true, target: 'spread', blocking: false }
const LEADER_STREAM: Route = { ...STREAM, target: 'leader' }
const FOLLOWER_STREAM: Route = { ...STREAM, target: 'follower' }

/** Endpoints (by src/api name) that are not plain writes. */
const SPECIAL: ReadonlyMap<string, Route> = new Map([
  ['kv.range', READ],
  ['watch', STREAM],
  // Any member serves it (a follower forwards each renewal to the leader, waiting out an
  // election), so it goes to one that does not lead: the leader's going away does not cut it.
  ['lease.keepalive', FOLLOWER_STREAM],
  ['lease.timetolive', READ],
  ['lease.leases', READ],
  ['cluster.member.list', READ],
  ['maintenance.status', READ],
  ['maintenance.hash', READ],
  ['maintenance.hashkv', READ],
  ['maintenance.defragment', READ],
  ['maintenance.snapshot', LEADER_STREAM],
  ['auth.status', READ],
  ['auth.user.get', READ],
  ['auth.user.list', READ],
  ['auth.role.get', READ],
  ['auth.role.list', READ],
  ['lock.lock', BLOCKING],
  ['election.campaign', BLOCKING],
  ['election.leader', READ],
  ['election.observe', STREAM],
])

export function routeOf(endpoint: AnyEndpoint): Route {
  const special = SPECIAL.get(endpoint.name)
  if (special !== undefined) return special
  return endpoint.stream === 'unary' ? WRITE : { ...STREAM, idempotent: false }
}

/**
 * The route for one unary request, refined by its body: a `serializable` range is spread over
 * the members, and an alarm `GET` (the default action) is a read. A body that is not a JSON object
 * leaves the route alone; the member answers it with etcd's 400.
 */
export function refine(endpoint: AnyEndpoint, route: Route, body: Uint8Array): Route {
  if (endpoint.name !== 'kv.range' && endpoint.name !== 'maintenance.alarm') return route
  // A range body that cannot hold `"serializable"` (spelled out, or with an escape in it) is
  // left as it is without parsing it: most ranges.
  if (endpoint.name === 'kv.range' && !mayHold(body, SERIALIZABLE)) return route
  let value: JsonValue
  try {
    value = parseRequestBody(body)
  } catch {
    return route
  }
  if (value.kind !== 'object') return route
  if (endpoint.name === 'kv.range') {
    const serializable = value.entries.get('serializable')
    return refineDecoded(endpoint, route, { serializable: serializable?.kind === 'bool' && serializable.value })
  }
  const action = value.entries.get('action')
  const get =
    action === undefined ||
    action.kind === 'null' ||
    (action.kind === 'string' && action.value === 'GET') ||
    (action.kind === 'number' && Number(action.text) === 0)
  return refineDecoded(endpoint, route, { action: get ? 'GET' : undefined })
}

/**
 * The route for one unary request already decoded (a gRPC call's; {@link refine} reads the same
 * fields from JSON): a serializable range is spread, an alarm GET is a read.
 */
export function refineDecoded(endpoint: AnyEndpoint, route: Route, request: unknown): Route {
  if (endpoint.name === 'kv.range') return (request as RangeRequest).serializable ? SPREAD_READ : route
  if (endpoint.name === 'maintenance.alarm') return (request as AlarmRequest).action === 'GET' ? READ : route
  return route
}

const SERIALIZABLE = new TextEncoder().encode('serializable')
const BACKSLASH = 0x5c

/** Whether `body` has `word` in it, or any backslash (a JSON escape could spell the word). */
function mayHold(body: Uint8Array, word: Uint8Array): boolean {
  const first = word[0] as number
  const last = body.length - word.length
  for (let i = 0; i < body.length; i++) {
    const b = body[i] as number
    if (b === BACKSLASH) return true
    if (b !== first || i > last) continue
    let j = 1
    while (j < word.length && body[i + j] === word[j]) j++
    if (j === word.length) return true
  }
  return false
}
