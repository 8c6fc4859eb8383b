/**
 * The member's HTTP surface as one Hono app: the etcd v3 JSON API under /v3/ (and /v3beta/), also
 * over WebSocket as etcd serves it, `/health`, `/version`, `/metrics`, `/debug/vars`, and the peer
 * WebSocket route. Runtime-specific pieces come in as parameters (`peerRoute`, `metrics`,
 * `processVars`, `connection`), so tests call the app in-process with
 * `app.request(...)`.
 *
 * Every request is decoded by src/api (etcd's exact errors for bad input), run against the
 * member (after the auth check of auth-gate.ts), and encoded back; anything thrown becomes etcd's
 * error body. Calls only the leader can answer are forwarded to it.
 *
 * @module
 */
import { setImmediate } from 'node:timers/promises'
import { Hono, type Context, type Handler } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import {
  ApiErrors,
  asEtcdError,
  checkRequest,
  CORS_HEADERS,
  decodeRequest,
  encodeResponse,
  errorFromBody,
  errorResponse,
  findEndpoint,
  jsonResponse,
  KeyValueSchema,
  getOnly,
  GRPC_TIMEOUT_HEADER,
  grpcTimeoutMs,
  pageNotFound,
  preflight,
  proposalField,
  protoSize,
  REQUIRE_LEADER_HEADER,
  requestSizeError,
  requiresLeader,
  route,
  streamRefused,
  webSocketJson,
  withHeader,
  writeItemsInSlices,
  type AnyEndpoint,
  type ApiResponse,
} from '../api/index.ts'
import {
  Errors, EtcdError, GrpcCode, txnReadOnly, type Command, type LeaseGrantRequest, type PutRequest, type RangeRequest, type RangeResponse,
  type TxnRequest,
} from '../mvcc/index.ts'
import { encodeItemsInSlices } from '../api/proto-wire.ts'
import { authGate, UNKNOWN_CONNECTION, type Caller, type Connection, type HeaderSource } from './auth-gate.ts'
import * as auth from './auth-service.ts'
import * as cluster from './cluster-service.ts'
import * as election from './election-service.ts'
import { raftStatusJson, renderDebugVars, type ProcessVars } from './debug-vars.ts'
import { forwardToLeader, toResponse } from './forward.ts'
import { settleForwardedClaim, vouchForCaller } from './forwarded-user.ts'
import { deadlineBound, withinDeadline } from './call-deadline.ts'
import { bodyCap, readBody } from './http-body.ts'
import { mountHealthRoutes, type MetricsText } from './health-routes.ts'
import { handleKeepAlive } from './keepalive-http.ts'
import { handleLogLevel, type RuntimeLogLevel } from './log-level-http.ts'
import * as kv from './kv-service.ts'
import * as lease from './lease-service.ts'
import * as lock from './lock-service.ts'
import * as maintenance from './maintenance-service.ts'
import { LeaderMonitor, leaderBound } from './leader-monitor.ts'
import { headerContext, type MemberContext } from './member-context.ts'
import { handleObserve } from './observe-http.ts'
import { handleSnapshot } from './snapshot-http.ts'
import { onEnd } from './stream-end.ts'
import { handleWatch } from './watch-http.ts'

/** `signal` aborts when the client disconnects (ends blocking calls: lock, campaign). */
type Unary = (m: MemberContext, req: any, signal: AbortSignal, caller: Caller) => unknown

const UNARY: Readonly<Record<string, Unary>> = {
  'kv.range': kv.range,
  'kv.put': kv.put,
  'kv.deleterange': kv.deleteRange,
  'kv.txn': kv.txn,
  'kv.compaction': kv.compact,
  'lease.grant': lease.grant,
  'lease.revoke': lease.revoke,
  'lease.timetolive': lease.timeToLive,
  'lease.leases': lease.leases,
  'cluster.member.list': cluster.list,
  'cluster.member.add': cluster.add,
  'cluster.member.remove': cluster.remove,
  'cluster.member.update': cluster.update,
  'cluster.member.promote': cluster.promote,
  'maintenance.status': maintenance.status,
  'maintenance.hash': maintenance.hash,
  'maintenance.hashkv': maintenance.hashKv,
  'maintenance.alarm': maintenance.alarm,
  'maintenance.defragment': maintenance.defragment,
  'maintenance.transfer-leadership': maintenance.moveLeader,
  'lock.lock': lock.lock,
  'lock.unlock': lock.unlock,
  'election.campaign': election.campaign,
  'election.proclaim': election.proclaim,
  'election.leader': election.leader,
  'election.resign': election.resign,
  'auth.enable': auth.enable,
  'auth.disable': auth.disable,
  'auth.status': auth.status,
  'auth.authenticate': auth.authenticate,
  'auth.user.add': auth.userAdd,
  'auth.user.get': auth.userGet,
  'auth.user.list': auth.userList,
  'auth.user.delete': auth.userDelete,
  'auth.user.changepw': auth.userChangePassword,
  'auth.user.grant': auth.userGrantRole,
  'auth.user.revoke': auth.userRevokeRole,
  'auth.role.add': auth.roleAdd,
  'auth.role.get': auth.roleGet,
  'auth.role.list': auth.roleList,
  'auth.role.delete': auth.roleDelete,
  'auth.role.grant': auth.roleGrantPermission,
  'auth.role.revoke': auth.roleRevokePermission,
}

/** Calls answered by the leader only: its clock (leases) or its decision (membership). */
const LEADER_ONLY: ReadonlySet<string> = new Set([
  'lease.timetolive',
  'lock.lock',
  'election.campaign',
  'cluster.member.add',
  'cluster.member.remove',
  'cluster.member.update',
  'cluster.member.promote',
  'maintenance.transfer-leadership',
])

/**
 * Calls that block until something happens and end when the client goes away: only they get the
 * request's AbortSignal. (On @hono/node-server, reading `request.signal` creates an AbortController
 * per request, a few % of a leader's CPU under load; the other calls get one that never aborts.)
 */
const WAITS: ReadonlySet<string> = new Set(['lock.lock', 'election.campaign'])
const NEVER_ABORTED = new AbortController().signal

/**
 * What a learner answers, as etcd's interceptors: status, and ranges that are serializable; every
 * other call and every stream is refused (Unavailable, so clients try another member). Without
 * the decoded request (`req` undefined: before the body is read) a range may still be served.
 */
function servedByLearner(ep: AnyEndpoint, req?: unknown): boolean {
  if (ep.name === 'maintenance.status') return true
  return ep.name === 'kv.range' && (req === undefined || (req as RangeRequest).serializable)
}

/** Calls whose writes etcd checks against the quota first (its quota servers), as the command each proposes. */
const QUOTA_CHECKED: Readonly<Record<string, (req: any) => Command>> = {
  'kv.put': (request: PutRequest) => ({ type: 'put', request }),
  'kv.txn': (request: TxnRequest) => ({ type: 'txn', request }),
  'lease.grant': (request: LeaseGrantRequest) => ({ type: 'lease-grant', request }),
}

/**
 * The InternalRaftRequest field `req` is proposed in, as etcd proposes it, so that it is checked
 * against --max-request-bytes; null when it is not proposed (a txn of ranges only is served
 * without a proposal). Lock and campaign propose txns: concurrency.ts checks those.
 */
function proposedIn(ep: AnyEndpoint, req: unknown): number | null {
  if (ep.name === 'kv.txn' && txnReadOnly(req as TxnRequest)) return null
  return proposalField(ep.name)
}

export interface MemberAppOptions {
  readonly member: MemberContext
  /** The peer mesh's WebSocket route (mounted as GET). */
  readonly peerRoute?: { readonly path: string; readonly handler: Handler }
  /** The gateways' call channel (call-channel.ts; Node only). */
  readonly callChannel?: { readonly path: string; readonly handler: Handler }
  /** The runtime's WebSocket upgrade: with it, the API is also served over WebSocket (api/websocket-json.ts). */
  readonly upgradeWebSocket?: UpgradeWebSocket<any>
  /** Prometheus text for /metrics. */
  readonly metrics?: MetricsText
  /** Sets the process's log level, for etcd's `PUT /config/local/log` (404 without it). */
  readonly setLogLevel?: (level: RuntimeLogLevel) => void
  /** The process's variables for /debug/vars (the page then has only `raft.status` without it). */
  readonly processVars?: () => ProcessVars
  /** The client's address and verified certificate CN, from the runtime's connection. */
  readonly connection?: (c: Context) => Connection
  /** Told of every API request once its answer has started (see {@link RequestHook}). */
  readonly onRequest?: RequestHook
  /** Told when a response stream that began (200) ends: OK at its end, Canceled if the client left. */
  readonly onStreamEnd?: (path: string, code: GrpcCode) => void
}

/**
 * An API request's answer has started: its endpoint's path ('unknown' for none), the HTTP status,
 * milliseconds, and its gRPC code (OK, or the error body's), null for a request that is not a
 * call (not a POST).
 */
export type RequestHook = (path: string, status: number, ms: number, code: GrpcCode | null) => void

/** Whether only the leader answers `ep` (a follower forwards it). */
export function leaderOnly(ep: AnyEndpoint): boolean {
  return LEADER_ONLY.has(ep.name)
}

/** Whether `ep` waits on other clients (lock, campaign): only its connection's closing tells that its client left. */
export function waitsOnOthers(ep: AnyEndpoint): boolean {
  return WAITS.has(ep.name)
}

/**
 * Whether `ep` may be served by {@link serveUnary} on this member now (no stream, no forward, no
 * abort, and the member has known a leader: calls before that wait in the app).
 */
export function servesUnary(m: MemberContext, ep: AnyEndpoint): boolean {
  return m.actor.led && UNARY[ep.name] !== undefined && !waitsOnOthers(ep) && !(LEADER_ONLY.has(ep.name) && !m.actor.isLeader)
}

/**
 * One unary call from its body's bytes to its answer: decoded (etcd's errors for bad input),
 * checked against --max-request-bytes if it becomes a proposal, authorized, run, encoded.
 * Throws what the call fails with (the caller turns it into etcd's error body).
 */
export async function serveUnary(
  m: MemberContext,
  ep: AnyEndpoint,
  body: Uint8Array,
  headers: HeaderSource,
  connection: Connection,
  signal: AbortSignal = NEVER_ABORTED,
): Promise<ApiResponse> {
  checkServed(m, ep)
  const res = await runUnaryCall(m, ep, decodeRequest(ep, body, m.limits), headers, connection, signal)
  const many = manyKvs(ep, res)
  const written = many === null ? res : { ...many, kvs: await writeItemsInSlices(KeyValueSchema, many.kvs, KVS_PER_SLICE, () => setImmediate()) }
  return jsonResponse(encodeResponse(ep, written, headerContext(m)))
}

/** Kvs of a range answer written as JSON (or protobuf) between two yields to the event loop: ~30 ms here. */
export const KVS_PER_SLICE = 5000

/**
 * `res` when it is a range answer of more than KVS_PER_SLICE kvs, else null. Such an answer's
 * kvs are written as JSON (json-writer.ts), or encoded as protobuf (proto-wire.ts), a slice at a
 * time with a yield between slices, so that writing a 40 MB answer (100,000 kvs, 0.6 s as JSON,
 * 0.25 s as protobuf) does not hold the member's loop, and a leader's heartbeats, in one piece.
 */
function manyKvs(ep: AnyEndpoint, res: unknown): RangeResponse | null {
  return ep.name === 'kv.range' && (res as RangeResponse).kvs.length > KVS_PER_SLICE ? (res as RangeResponse) : null
}

/**
 * {@link serveUnary} for a request already decoded (the gRPC front's, from protobuf), answered as
 * a message: the same checks and the same answer, without the JSON in between. Rejects with an
 * EtcdError (callError: anything else is logged and becomes gRPC's Unknown).
 */
export async function serveDecoded(m: MemberContext, ep: AnyEndpoint, wire: unknown, headers: HeaderSource, connection: Connection): Promise<unknown> {
  try {
    checkServed(m, ep)
    const res = await runUnaryCall(m, ep, checkRequest(ep, wire, m.limits), headers, connection, NEVER_ABORTED)
    const many = manyKvs(ep, res)
    const encoded = many === null ? res : { ...many, kvs: await encodeItemsInSlices(ep.response, 'kvs', many.kvs, KVS_PER_SLICE, () => setImmediate()) }
    return withHeader(ep, encoded, headerContext(m))
  } catch (err) {
    throw callError(m, ep, err)
  }
}

/** The checks before a unary call's request is read: served here, and not refused by a learner (etcd's interceptor; ranges wait for the request, see runUnaryCall). */
function checkServed(m: MemberContext, ep: AnyEndpoint): void {
  if (UNARY[ep.name] === undefined) throw new EtcdError(GrpcCode.Unimplemented, `edgecd: ${ep.path} is not served by this version`)
  if (m.actor.isLearner && !servedByLearner(ep)) throw Errors.notSupportedForLearner()
}

/** What a call that threw `err` fails with: an EtcdError (anything else is logged, and becomes Unknown). */
export function callError(m: MemberContext, ep: AnyEndpoint, err: unknown): EtcdError {
  if (!(err instanceof EtcdError)) m.actor.log.error({ path: ep.path, err: String(err) }, 'request failed unexpectedly')
  return asEtcdError(err)
}

/** A decoded unary request: the learner, leader and size checks, authorization, then the call. */
async function runUnaryCall(
  m: MemberContext,
  ep: AnyEndpoint,
  req: unknown,
  headers: HeaderSource,
  connection: Connection,
  signal: AbortSignal,
): Promise<unknown> {
  if (m.actor.isLearner && !servedByLearner(ep, req)) throw Errors.notSupportedForLearner()
  if (m.actor.leader === 0 && requiresLeader(headers.get(REQUIRE_LEADER_HEADER))) throw Errors.noLeader()
  const quota = QUOTA_CHECKED[ep.name]
  if (quota !== undefined) m.actor.checkQuota(quota(req))
  const field = proposedIn(ep, req)
  if (field !== null) {
    const tooLarge = requestSizeError(protoSize(ep.request, req), field, m.limits.maxRequestBytes)
    if (tooLarge !== null) throw tooLarge
  }
  const caller = await authGate(m).authorize(m, ep.name, req, headers, connection)
  return (UNARY[ep.name] as Unary)(m, req, signal, caller)
}

/** etcd's error body for `err`; anything not an etcd error is logged, as it should not happen. */
function failedResponse(m: MemberContext, ep: AnyEndpoint, err: unknown): ApiResponse {
  return errorResponse(callError(m, ep, err))
}

/** `waits`: what ends a call that waits (lock, campaign); the client's leaving when not given. */
async function runUnary(m: MemberContext, ep: AnyEndpoint, request: Request, connection: Connection, waits?: AbortSignal): Promise<Response> {
  const body = UNARY[ep.name] === undefined ? new Uint8Array(0) : await readBody(request, bodyCap(m.limits.maxRequestBytes), m.limits.maxRequestBytes)
  const signal = WAITS.has(ep.name) ? (waits ?? request.signal) : NEVER_ABORTED
  return toResponse(await serveUnary(m, ep, body, request.headers, connection, signal))
}

/**
 * A routed call (after the learner and leader checks): forwarded to the leader, streamed, or
 * unary. `waits` (the client's leaving when not given) ends a call that waits and a forward.
 */
async function serveCall(
  m: MemberContext,
  ep: AnyEndpoint,
  request: Request,
  connection: Connection,
  forwardable: boolean,
  waits?: AbortSignal,
): Promise<Response> {
  if (forwardable && !m.actor.isLeader)
    return forwardToLeader(m.actor, request, request.body, m.fetch, (leader) => vouchForCaller(m, connection, request, leader), waits)
  if (ep.name === 'watch') return handleWatch(m, request, connection)
  if (ep.name === 'lease.keepalive') return handleKeepAlive(m, request)
  if (ep.name === 'maintenance.snapshot') {
    // etcd's gateway decodes the (empty) request first: a malformed body is a 400, not a snapshot.
    const body = await readBody(request, bodyCap(m.limits.maxRequestBytes), m.limits.maxRequestBytes)
    const req = decodeRequest(ep, body, m.limits)
    // Refused by the server, which has started the stream: the stream-error shape.
    const refused = await authGate(m).authorize(m, ep.name, req, request.headers, connection).then(
      () => null,
      (err: unknown) => (err instanceof EtcdError ? err : Promise.reject(err)),
    )
    const answer = refused ?? (await handleSnapshot(m))
    return answer instanceof EtcdError ? toResponse(streamRefused(answer)) : answer
  }
  if (ep.name === 'election.observe') return handleObserve(m, request, connection)
  return runUnary(m, ep, request, connection, waits)
}

/** {@link serveCall} within the call's deadline (call-deadline.ts), if it has one. */
async function serveCallWithin(
  m: MemberContext,
  ep: AnyEndpoint,
  request: Request,
  connection: Connection,
  forwardable: boolean,
  timeoutMs: number | null,
): Promise<Response> {
  if (timeoutMs === null) return serveCall(m, ep, request, connection, forwardable)
  if (ep.stream === 'unary')
    return withinDeadline(timeoutMs, request.signal, (waits) => serveCall(m, ep, request, connection, forwardable, waits))
  if (timeoutMs <= 0) throw ApiErrors.deadlineExceeded()
  return deadlineBound(await serveCall(m, ep, request, connection, forwardable), timeoutMs)
}

export function createMemberApp(options: MemberAppOptions): Hono {
  const m = options.member
  const app = new Hono()
  const monitor = new LeaderMonitor(() => m.actor.leader !== 0, m.actor.config.tickMs * m.actor.config.electionTicks)
  // Before the metrics: the upgrade itself is not a call; the call it carries is counted.
  if (options.upgradeWebSocket !== undefined)
    app.use('*', webSocketJson(options.upgradeWebSocket, (request, env) => app.fetch(request, env), { maxBodyBytes: bodyCap(m.limits.maxRequestBytes) }))
  const { onRequest, onStreamEnd } = options
  if (onRequest !== undefined)
    app.use('*', async (c, next) => {
      const start = performance.now()
      await next()
      if (!c.req.path.startsWith('/v3')) return
      // Labelled by endpoint, never by the raw path: unknown paths must not grow the label set.
      const ep = findEndpoint(c.req.path)
      const path = ep?.path ?? 'unknown'
      const status = c.res.status
      const ms = performance.now() - start
      const code = c.req.method !== 'POST' ? null : status === 200 ? GrpcCode.OK : errorFromBody(status, await c.res.clone().text()).code
      onRequest(path, status, ms, code)
      if (onStreamEnd === undefined || ep === null || ep.stream === 'unary' || code !== GrpcCode.OK) return
      // Only a stream's body is touched: reading a unary answer's would make @hono/node-server
      // build a full Response for it (its CPU, and a text/plain content type on empty bodies).
      const body = c.res.body
      if (body !== null) c.res = new Response(onEnd(body, (ended) => onStreamEnd(path, ended)), c.res)
    })
  // As etcd's server: OPTIONS on any path is the CORS preflight, and every answer carries the CORS headers.
  app.use('*', async (c, next) => {
    if (c.req.method === 'OPTIONS') return toResponse(preflight())
    await next()
    if (c.res.headers.has('access-control-allow-origin')) return
    for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value)
  })
  if (options.peerRoute !== undefined) app.get(options.peerRoute.path, options.peerRoute.handler)
  if (options.callChannel !== undefined) app.get(options.callChannel.path, options.callChannel.handler)
  mountHealthRoutes(app, m, options.metrics)
  getOnly(app, '/version', (c) => c.json({ etcdserver: m.versions.server, etcdcluster: m.versions.cluster }))
  app.all('/config/local/log', (c) =>
    options.setLogLevel === undefined ? toResponse(pageNotFound()) : handleLogLevel(c.req.raw, options.setLogLevel),
  )
  getOnly(app, '/debug/vars', () => {
    const vars = { ...options.processVars?.(), 'raft.status': raftStatusJson(m.actor.status()) }
    return new Response(renderDebugVars(vars), { headers: { 'Content-Type': 'application/json; charset=utf-8' } })
  })
  app.all('*', async (c) => {
    const request = c.req.raw
    const url = new URL(request.url)
    const r = route(request.method, url.pathname, url.search)
    if (r === null) return toResponse(pageNotFound())
    if ('response' in r) return toResponse(r.response)
    const ep = r.endpoint
    // A forwarding member's claim for its client's certificate user counts on leader-only calls only.
    const forwardable = leaderOnly(ep)
    const call = { method: request.method, path: c.req.path }
    const connection = settleForwardedClaim(m, options.connection?.(c) ?? UNKNOWN_CONNECTION, call, forwardable)
    try {
      // As etcd's gateway: a bad Grpc-Timeout is refused before anything else.
      const timeoutMs = grpcTimeoutMs(request.headers.get(GRPC_TIMEOUT_HEADER))
      // No call is served before this member has known a leader since it started (actor.firstLeader).
      if (!m.actor.led) await m.actor.firstLeader
      const streamed = ep.stream !== 'unary'
      // A learner refuses what it does not serve (a stream with the stream-error line, as etcd's gateway).
      if (m.actor.isLearner && !servedByLearner(ep)) {
        if (streamed) return toResponse(streamRefused(Errors.notSupportedForLearner()))
        throw Errors.notSupportedForLearner()
      }
      // Calls that require a leader are refused without one (streams with the stream-error line;
      // unary calls here only when forwarded, else once decoded: runUnaryCall), and streams end
      // when it is gone for long.
      const leaderRequired = requiresLeader(request.headers.get(REQUIRE_LEADER_HEADER))
      if (leaderRequired && m.actor.leader === 0) {
        if (streamed) return toResponse(streamRefused(Errors.noLeader()))
        if (forwardable) throw Errors.noLeader()
      }
      const response = await serveCallWithin(m, ep, request, connection, forwardable, timeoutMs)
      return leaderRequired && streamed ? leaderBound(response, monitor) : response
    } catch (err) {
      return toResponse(failedResponse(m, ep, err))
    }
  })
  return app
}
