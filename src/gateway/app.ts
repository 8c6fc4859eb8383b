/**
 * `createGatewayApp`: the stateless gateway as one runtime-free Hono app (Web fetch and streams
 * only), served by workers/gateway.ts on Workers and by workers/gateway-node.ts on Node.
 *
 *   /v3/… and /v3beta/…   POST, forwarded to the cluster by the rules of routes.ts and proxy.ts;
 *                         also over WebSocket, as etcd serves them (api/websocket-json.ts)
 *   /health               GET: 200 {"health":"true"} when a leader answers, else 503
 *   /version              GET, passed on from a member
 *   /metrics, /debug/vars GET, passed on from the leader (etcd's gRPC proxy passes /metrics on)
 *   /ui, /ui/…            GET: the web dashboard and its cluster snapshot (ui.ts)
 *   OPTIONS anything      200 with the CORS headers etcd sends on every response
 *
 * A request may name the member it is for with the `Edgecd-Member` header (its client URL, or its
 * member ID in decimal), as `etcdctl endpoint status` does per endpoint; it then goes only there.
 *
 * Failed `auth/authenticate` answers are limited per client address (client-address.ts) by the
 * gateway itself (login-guard.ts), in this app's memory: a client over the limit is answered 429
 * without contacting the cluster.
 *
 * @module
 */
import { Hono, type Context } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import {
  CORS_HEADERS as API_CORS_HEADERS,
  MAX_HELD_REQUEST_BYTES,
  getOnly,
  pageNotFound,
  preflight,
  GRPC_TIMEOUT_HEADER,
  REQUIRE_LEADER_HEADER,
  route,
  webSocketJson,
  type AnyEndpoint,
} from '../api/index.ts'
import { Errors } from '../mvcc/errors.ts'
import { CORS_HEADERS, etcdErrorAnswer, healthResponse, toResponse, type GatewayAnswer } from './answers.ts'
import { runtimeClientAddress, type ClientAddress } from './client-address.ts'
import { fetchExchange, type Exchange, type ProtobufCall } from './exchange.ts'
import { guardLogin } from './login-guard.ts'
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './login-limiter.ts'
import { MemberDirectory } from './members.ts'
import { proxy, proxyUnary, type ProxySettings } from './proxy.ts'
import { ReplayableBody } from './replayable-body.ts'
import { refine, refineDecoded, routeOf } from './routes.ts'
import { mountUi } from './ui.ts'

export interface GatewayOptions {
  /** Client URLs of the members, e.g. `http://127.0.0.1:2381`. */
  readonly endpoints: readonly string[]
  /** Defaults to the global fetch. Streams (and, without `exchange`, every call) go through it. */
  readonly fetch?: typeof fetch
  /** How unary calls and status probes reach a member. Default: over `fetch`. */
  readonly exchange?: Exchange
  /** Milliseconds a request may take, retries included (streams: until their first answer). Default 5000. */
  readonly requestTimeoutMs?: number
  /** Milliseconds one status probe of one member may take. Default 1000. */
  readonly probeTimeoutMs?: number
  /** First pause between two rounds of retries, in milliseconds. Default 50. */
  readonly retryBackoffMs?: number
  /** Follow membership changes: use the client URLs from `cluster/member/list`. Default false. */
  readonly autoSync?: boolean
  /** Failed logins per client address the gateway allows itself (login-limiter.ts); null: no limit. Default DEFAULT_LOGIN_LIMITS. */
  readonly authFailures?: LoginLimits | null
  /** Who the client of a request is (client-address.ts). Default: the runtime's own answer. */
  readonly clientAddress?: ClientAddress
  /** The login limiter's clock, in milliseconds. Default Date.now. */
  readonly now?: () => number
  /** The runtime's WebSocket upgrade: with it, the API is also served over WebSocket (api/websocket-json.ts). */
  readonly upgradeWebSocket?: UpgradeWebSocket<any>
  /**
   * Mark streamed answers `Content-Encoding: identity`, so that no layer in front compresses
   * them (proxy.ts). Default false; the Worker sets it.
   */
  readonly uncompressedStreams?: boolean
}

/** The request header that pins a request to one member (client URL or decimal member ID). */
export const MEMBER_HEADER = 'Edgecd-Member'

/**
 * Request headers passed on to the member; everything else stays at the gateway. The member keeps
 * a call's Grpc-Timeout (each attempt gets it whole: a call sent again may take longer in all).
 */
const FORWARDED = ['authorization', 'grpc-metadata-token', 'content-type', REQUIRE_LEADER_HEADER, GRPC_TIMEOUT_HEADER]

/** A request header by (lower-case) name, as the serving runtime has it. */
export type HeaderLookup = (name: string) => string | undefined

export interface Gateway {
  /** The whole gateway as a Hono app (every path, streams included). */
  readonly app: Hono
  /**
   * The unary API endpoint that a POST to `path` (no query) calls, or undefined when the path is
   * anything else (a stream, an unknown or non-API path, or a login, which the app limits per
   * client address): those are the app's to answer.
   */
  unaryEndpoint(path: string): AnyEndpoint | undefined
  /**
   * Carries one unary API call (a POST to `endpoint` with `body`: its JSON, or a gRPC call's
   * decoded request) and gives the answer with the CORS headers the app adds to everything. Never
   * rejects. `signal`: the caller went away. A decoded call is routed by its request and carried
   * as protobuf where the exchange can (a 200 answer is then protobuf, as its content-type says).
   */
  unary(endpoint: AnyEndpoint, header: HeaderLookup, body: Uint8Array | DecodedCall, signal: AbortSignal): Promise<GatewayAnswer>
}

/** A unary call as its decoded request, and as protobuf (its JSON made only if an exchange sends JSON). */
export interface DecodedCall {
  readonly request: unknown
  readonly protobuf: ProtobufCall
}

/** The CORS headers under lower-case names (member answers come with lower-case names). */
const CORS_LOWER: ReadonlyArray<readonly [string, string]> = Object.entries(API_CORS_HEADERS).map(
  ([name, value]) => [name.toLowerCase(), value] as const,
)

export function createGatewayApp(options: GatewayOptions): Hono {
  return createGateway(options).app
}

export function createGateway(options: GatewayOptions): Gateway {
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init))
  const exchange = options.exchange ?? fetchExchange(fetchImpl)
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000
  const probeTimeoutMs = options.probeTimeoutMs ?? Math.min(1000, requestTimeoutMs)
  const directory = new MemberDirectory({
    endpoints: options.endpoints,
    exchange,
    probeTimeoutMs,
    autoSync: options.autoSync ?? false,
  })
  const settings: ProxySettings = {
    directory,
    fetch: fetchImpl,
    exchange,
    requestTimeoutMs,
    retryBackoffMs: options.retryBackoffMs ?? 50,
    slowAfterMs: probeTimeoutMs,
    uncompressedStreams: options.uncompressedStreams ?? false,
  }

  const limits = options.authFailures === undefined ? DEFAULT_LOGIN_LIMITS : options.authFailures
  const limiter = limits === null ? null : new LoginLimiter(limits, options.now ?? (() => Date.now()))
  const clientAddress = options.clientAddress ?? runtimeClientAddress

  const unaryEndpoint = (path: string): AnyEndpoint | undefined => {
    const found = route('POST', path)
    if (found === null || !('endpoint' in found)) return undefined
    const endpoint = found.endpoint
    return routeOf(endpoint).stream || endpoint.name === LOGIN ? undefined : endpoint
  }

  const unary = async (
    endpoint: AnyEndpoint,
    header: HeaderLookup,
    body: Uint8Array | DecodedCall,
    signal: AbortSignal,
  ): Promise<GatewayAnswer> => {
    const headers: Record<string, string> = {}
    for (const name of FORWARDED) {
      const value = header(name)
      if (value !== undefined) headers[name] = value
    }
    const named = header(MEMBER_HEADER_LOWER)
    const member = named === undefined ? undefined : await directory.resolve(named)
    if (named !== undefined && member === undefined) return withCors(etcdErrorAnswer(Errors.memberNotFound()))
    const request =
      body instanceof Uint8Array
        ? { body, route: refine(endpoint, routeOf(endpoint), body) }
        : { body: undefined, protobuf: body.protobuf, route: refineDecoded(endpoint, routeOf(endpoint), body.request) }
    const answer = await proxyUnary({ method: 'POST', path: endpoint.path, headers, signal, member, ...request }, settings)
    return withCors(answer)
  }

  const app = new Hono()

  if (options.upgradeWebSocket !== undefined)
    app.use(
      '*',
      webSocketJson(options.upgradeWebSocket, (request, env) => app.fetch(request, env), {
        maxBodyBytes: MAX_HELD_REQUEST_BYTES,
        // Who the client is on Workers (client-address.ts), and the member it pins the call to.
        keepHeaders: ['cf-connecting-ip', MEMBER_HEADER_LOWER],
      }),
    )

  app.use('*', async (c, next) => {
    if (c.req.method === 'OPTIONS') return toResponse(preflight())
    await next()
    if (carriesCors.has(c.res)) return
    for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value)
  })

  getOnly(app, '/health', async () => healthResponse((await directory.refreshLeader()) !== undefined))

  getOnly(app, '/version', async (c) => {
    const plan = { route: VERSION_ROUTE, signal: c.req.raw.signal, member: undefined }
    const answer = await proxyUnary({ ...plan, method: 'GET', path: '/version', headers: {}, body: undefined }, settings)
    return toResponse(answer)
  })
  // As etcd's gRPC proxy passes /metrics on from a member: here the leader's, and its /debug/vars
  // (metrics to any method, as etcd's Prometheus handler; the page to GET only).
  const leaderPage = (path: string) => async (c: Context): Promise<Response> => {
    const plan = { route: LEADER_PAGE_ROUTE, signal: c.req.raw.signal, member: undefined }
    return toResponse(await proxyUnary({ ...plan, method: 'GET', path, headers: {}, body: undefined }, settings))
  }
  app.all('/metrics', leaderPage('/metrics'))
  getOnly(app, '/debug/vars', leaderPage('/debug/vars'))

  mountUi(app, { endpoints: options.endpoints, fetch: fetchImpl, timeoutMs: probeTimeoutMs })

  app.all('*', async (c) => {
    // The path as sent (c.req.path is percent-decoded): a redirect's Location must stay encoded.
    const url = new URL(c.req.url)
    const found = route(c.req.method, url.pathname, url.search)
    if (found === null) return toResponse(pageNotFound())
    if ('response' in found) return toResponse(found.response)
    const endpoint = found.endpoint
    const carried = routeOf(endpoint)
    if (!carried.stream) {
      const body = new Uint8Array(await c.req.arrayBuffer())
      const send = async (): Promise<Response> => {
        const response = toResponse(await unary(endpoint, (name) => c.req.header(name), body, c.req.raw.signal))
        carriesCors.add(response)
        return response
      }
      return endpoint.name === LOGIN ? guardLogin(limiter, clientAddress(c), send) : send()
    }
    const headers = new Headers()
    for (const name of FORWARDED) {
      const value = c.req.header(name)
      if (value !== undefined) headers.set(name, value)
    }
    const named = c.req.header(MEMBER_HEADER)
    const member = named === undefined ? undefined : await directory.resolve(named)
    if (named !== undefined && member === undefined) return toResponse(etcdErrorAnswer(Errors.memberNotFound()))
    const body = new ReplayableBody(c.req.raw.body)
    const response = await proxy(
      { method: 'POST', url: endpoint.path, headers, signal: c.req.raw.signal, member, route: carried, body },
      settings,
    )
    if (response.body === null || response.status !== 200) body.cancel()
    return response
  })

  return { app, unaryEndpoint, unary }
}

const MEMBER_HEADER_LOWER = MEMBER_HEADER.toLowerCase()

/** The endpoint whose failures the gateway limits per client (login-guard.ts). */
const LOGIN = 'auth.authenticate'

const VERSION_ROUTE = { stream: false, idempotent: true, target: 'spread', blocking: false } as const
const LEADER_PAGE_ROUTE = { ...VERSION_ROUTE, target: 'leader' } as const

/** Responses that already carry the CORS headers (the unary path's): the middleware leaves them be. */
const carriesCors = new WeakSet<Response>()

/** The answer with etcd's CORS headers, as the app's middleware sets them on every answer. */
function withCors(answer: GatewayAnswer): GatewayAnswer {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(answer.headers)) {
    const lower = name.toLowerCase()
    if (!CORS_NAMES.has(lower)) headers[lower] = value
  }
  for (const [name, value] of CORS_LOWER) headers[name] = value
  return { status: answer.status, headers, body: answer.body }
}

const CORS_NAMES: ReadonlySet<string> = new Set(CORS_LOWER.map(([name]) => name))
