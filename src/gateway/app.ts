/**
 * `createGatewayApp`: the stateless gateway as one runtime-free Hono app (Web fetch and streams
 * only), served by workers/gateway.ts on Workers and by workers/gateway-node.ts on Node.
 *
 *   /v3/… and /v3beta/…   POST, forwarded to the cluster by the rules of routes.ts and proxy.ts
 *   /health               GET: 200 {"health":"true"} when a leader answers, else 503
 *   /version              GET, passed on from a member
 *   /ui, /ui/…            GET: the web dashboard and its cluster snapshot (ui.ts)
 *   OPTIONS anything      200 with the CORS headers etcd sends on every response
 *
 * A request may name the member it is for with the `Edgecd-Member` header (its client URL, or its
 * member ID in decimal), as `etcdctl endpoint status` does per endpoint; it then goes only there.
 *
 * @module
 */
import { Hono } from 'hono'
import { methodNotAllowed, pageNotFound, preflight, route } from '../api/index.ts'
import { Errors } from '../mvcc/errors.ts'
import { CORS_HEADERS, etcdErrorResponse, healthResponse, toResponse } from './answers.ts'
import { MemberDirectory } from './members.ts'
import { proxy, type ProxySettings } from './proxy.ts'
import { ReplayableBody } from './replayable-body.ts'
import { refine, routeOf } from './routes.ts'
import { mountUi } from './ui.ts'

export interface GatewayOptions {
  /** Client URLs of the members, e.g. `http://127.0.0.1:2381`. */
  readonly endpoints: readonly string[]
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch
  /** Milliseconds a request may take, retries included (streams: until their first answer). Default 5000. */
  readonly requestTimeoutMs?: number
  /** Milliseconds one status probe of one member may take. Default 1000. */
  readonly probeTimeoutMs?: number
  /** First pause between two rounds of retries, in milliseconds. Default 50. */
  readonly retryBackoffMs?: number
  /** Follow membership changes: use the client URLs from `cluster/member/list`. Default false. */
  readonly autoSync?: boolean
}

/** The request header that pins a request to one member (client URL or decimal member ID). */
export const MEMBER_HEADER = 'Edgecd-Member'

/** Request headers passed on to the member; everything else stays at the gateway. */
const FORWARDED = ['authorization', 'grpc-metadata-token', 'content-type']

export function createGatewayApp(options: GatewayOptions): Hono {
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init))
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000
  const directory = new MemberDirectory({
    endpoints: options.endpoints,
    fetch: fetchImpl,
    probeTimeoutMs: options.probeTimeoutMs ?? Math.min(1000, requestTimeoutMs),
    autoSync: options.autoSync ?? false,
  })
  const settings: ProxySettings = {
    directory,
    fetch: fetchImpl,
    requestTimeoutMs,
    retryBackoffMs: options.retryBackoffMs ?? 50,
  }
  const app = new Hono()

  app.use('*', async (c, next) => {
    if (c.req.method === 'OPTIONS') return toResponse(preflight())
    await next()
    for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value)
  })

  app.get('/health', async () => healthResponse((await directory.refreshLeader()) !== undefined))
  app.all('/health', () => toResponse(methodNotAllowed()))

  app.get('/version', (c) =>
    proxy(
      {
        method: 'GET',
        url: '/version',
        route: { stream: false, idempotent: true, target: 'spread', blocking: false },
        headers: new Headers(),
        body: undefined,
        signal: c.req.raw.signal,
        member: undefined,
      },
      settings,
    ),
  )

  const probeTimeoutMs = options.probeTimeoutMs ?? Math.min(1000, requestTimeoutMs)
  mountUi(app, { endpoints: options.endpoints, fetch: fetchImpl, timeoutMs: probeTimeoutMs })

  app.all('*', async (c) => {
    const found = route(c.req.method, c.req.path)
    if (found === null) return toResponse(pageNotFound())
    if ('response' in found) return toResponse(found.response)
    const endpoint = found.endpoint
    const headers = new Headers()
    for (const name of FORWARDED) {
      const value = c.req.header(name)
      if (value !== undefined) headers.set(name, value)
    }
    const named = c.req.header(MEMBER_HEADER)
    const member = named === undefined ? undefined : await directory.resolve(named)
    if (named !== undefined && member === undefined) return etcdErrorResponse(Errors.memberNotFound())
    const base = { method: 'POST', url: endpoint.path, headers, signal: c.req.raw.signal, member } as const
    const carried = routeOf(endpoint)
    if (!carried.stream) {
      const body = new Uint8Array(await c.req.arrayBuffer())
      return proxy({ ...base, route: refine(endpoint, carried, body), body }, settings)
    }
    const body = new ReplayableBody(c.req.raw.body)
    const response = await proxy({ ...base, route: carried, body }, settings)
    if (response.body === null || response.status !== 200) body.cancel()
    return response
  })

  return app
}
