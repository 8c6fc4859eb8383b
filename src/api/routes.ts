/**
 * Which endpoint a request's method and path reach, as etcd 3.4's gateway routes them: every
 * API path also under `/v3beta/`, `POST` only (another method on a known path is 405, an
 * unknown path under the API prefixes 404 `Not Found`), and `OPTIONS` answered by the CORS
 * layer before routing. A path that is not clean (`//`, `/./`, `/../`) is redirected to the clean
 * one (301) before anything else, as Go's ServeMux does, also outside the API prefixes (under
 * Node, @hono/node-server resolves dot segments before the app sees the URL, so there only `//`
 * and escaped ones reach this). Paths are routed percent-decoded, as Go's URL.Path. Other paths outside the API prefixes are the caller's (`/health`, `/version`, or
 * Go's `404 page not found`).
 *
 * @module
 */

import { electionCampaign, electionLeader, electionObserve, electionProclaim, electionResign } from './election.ts'
import type { AnyEndpoint } from './endpoint.ts'
import { cleanPath } from './clean-path.ts'
import { badRequest, methodNotAllowed, movedPermanently, notFound, preflight, type ApiResponse } from './errors.ts'
import * as auth from './auth.ts'
import * as cluster from './cluster.ts'
import { kvCompaction, kvDeleteRange, kvPut, kvRange, kvTxn } from './kv-endpoints.ts'
import { leaseGrant, leaseKeepAlive, leaseLeases, leaseRevoke, leaseTimeToLive } from './lease.ts'
import { lockLock, lockUnlock } from './lock.ts'
import * as maintenance from './maintenance.ts'
import { watch } from './watch.ts'

export const ENDPOINTS: readonly AnyEndpoint[] = [
  kvRange, kvPut, kvDeleteRange, kvTxn, kvCompaction,
  watch,
  leaseGrant, leaseRevoke, leaseKeepAlive, leaseTimeToLive, leaseLeases,
  cluster.memberAdd, cluster.memberRemove, cluster.memberUpdate, cluster.memberList, cluster.memberPromote,
  maintenance.maintenanceStatus, maintenance.maintenanceHash, maintenance.maintenanceHashKv,
  maintenance.maintenanceAlarm, maintenance.maintenanceDefragment, maintenance.maintenanceSnapshot,
  maintenance.maintenanceTransferLeadership,
  auth.authEnable, auth.authDisable, auth.authStatus, auth.authAuthenticate,
  auth.userAdd, auth.userGet, auth.userList, auth.userDelete, auth.userChangePassword, auth.userGrantRole,
  auth.userRevokeRole, auth.roleAdd, auth.roleGet, auth.roleList, auth.roleDelete, auth.roleGrantPermission,
  auth.roleRevokePermission,
  lockLock, lockUnlock,
  electionCampaign, electionProclaim, electionLeader, electionObserve, electionResign,
]

const API_PREFIXES = ['/v3/', '/v3beta/']

const BY_PATH = new Map<string, AnyEndpoint>()
for (const ep of ENDPOINTS) {
  for (const path of [ep.path, ...ep.aliases]) {
    BY_PATH.set(path, ep)
    BY_PATH.set(path.replace(/^\/v3\//, '/v3beta/'), ep)
  }
}

/** The endpoint at `path`, or null. */
export function findEndpoint(path: string): AnyEndpoint | null {
  return BY_PATH.get(path) ?? null
}

export type Route = { readonly endpoint: AnyEndpoint } | { readonly response: ApiResponse }

/**
 * The endpoint to run or the answer to give; null for a clean path outside the API prefixes.
 * `search` is the request's query (`?…` or ''), kept in a redirect's Location.
 */
export function route(method: string, rawPath: string, search = ''): Route | null {
  if (method === 'OPTIONS') return { response: preflight() }
  // Go routes the decoded path (`%2F` is a slash there too); a bad escape does not parse at all.
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    return { response: badRequest() }
  }
  const clean = cleanPath(path)
  if (clean !== path) return { response: movedPermanently(escapePath(clean) + search) }
  // Go's mux sends a subtree's root without its slash to the subtree (etcd mounts `/v3/` so).
  if (path === '/v3') return { response: movedPermanently(`/v3/${search}`) }
  if (!API_PREFIXES.some((p) => path.startsWith(p))) return null
  const endpoint = findEndpoint(path)
  if (endpoint === null) return { response: notFound() }
  return method === 'POST' ? { endpoint } : { response: methodNotAllowed() }
}

/**
 * Go's redirect for a raw request target (`req.url`) whose path is not clean (a `.` or `..`
 * segment, percent-encoded or not, or an empty one), or null. The Node fronts check the raw
 * target first: the WHATWG URL parsing behind a Web Request (Hono's) removes dot segments before
 * route() could see them, and a bare answer carries no Content-Type (Go's 301 has none).
 */
export function cleanPathRedirect(method: string, target: string): ApiResponse | null {
  const query = target.indexOf('?')
  const path = query < 0 ? target : target.slice(0, query)
  if (!UNCLEAN.test(path)) return null
  const found = route(method, path, query < 0 ? '' : target.slice(query))
  return found !== null && 'response' in found && found.response.status === 301 ? found.response : null
}

const UNCLEAN = /\/(?:\.|%2e|\/)/i

/** `path` escaped for a Location header, as Go's URL.EscapedPath (which keeps `/` and `$&+,:;=@`). */
function escapePath(path: string): string {
  return encodeURI(path).replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'))
}
