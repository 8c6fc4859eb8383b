/**
 * The JSON API over WebSocket, as etcd serves it (grpc-websocket-proxy in front of its gateway,
 * on every path under /v3/ and /v3beta/): a WebSocket upgrade of an API path becomes a POST of
 * that path whose body is the client's messages, each followed by a newline, and every line of
 * the answer goes back as one text message. The socket is closed when the answer ends (etcd drops
 * the connection, which clients see as 1006; here a close frame says 1000, 1011 on a failure).
 *
 *   client messages ──▶ request body ──▶ the app (`serve`) ──▶ answer lines ──▶ text messages
 *
 * - The call starts as the socket opens (where the runtime says so: Workers has no open event,
 *   there it starts with the first message), so an unknown path answers `Not Found` at once.
 * - Bidirectional streams (watch, lease keepalive): the body is every message, until the client
 *   closes the socket, which ends the call.
 * - Every other call: the body ends with the first complete JSON value (etcd's json.Decoder
 *   reads no further), or once it reaches `maxBodyBytes` (for the app to refuse as too large);
 *   the answer (a result, or etcd's error body: there is no status) is one message.
 * - A path that is not clean is refused before the upgrade (Go's 301), as etcd's mux does.
 * - A token comes as a `token` cookie or as `Sec-WebSocket-Protocol: Bearer, <token>` (a browser
 *   cannot set headers on a WebSocket); the cookie wins, as in etcd, and the answer's subprotocol
 *   is `Bearer` then (`acceptedProtocol`). etcd passes the token on as `Authorization: Bearer
 *   <token>`, which its own token check then refuses; here the token itself is used.
 * - Backpressure both ways, where the runtime allows it (Node's ws): the socket stops being read
 *   while the body holds BODY_HIGH_WATER_BYTES the app has not taken, and the answer is not read
 *   further while the socket holds more than HIGH_WATER_BYTES unsent. A single message over
 *   `maxBodyBytes` on a stream closes the socket (1009).
 *
 * Runtime-free: the runtime's `upgradeWebSocket` is a parameter (Node: @hono/node-server, Workers:
 * hono/cloudflare-workers).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { JsonStreamSplitter } from './json-stream.ts'
import { findEndpoint, route } from './routes.ts'

/** The prefixes whose upgrades are carried (etcd's wsproxy wraps the gateway on both). */
const PREFIXES = ['/v3/', '/v3beta/']

/** Above this many bytes waiting in the socket, the answer is not read further. */
export const HIGH_WATER_BYTES = 1024 * 1024

/** Above this many bytes of messages the app has not read, the socket is not read further. */
export const BODY_HIGH_WATER_BYTES = 1024 * 1024

/** How often a full send buffer is looked at again, in milliseconds. */
const DRAIN_POLL_MS = 5

/** Answers a request as the app does: `env` is the upgrade request's (its connection, its client). */
export type Serve = (request: Request, env: unknown) => Response | Promise<Response>

export interface WebSocketJsonOptions {
  /** A non-streaming call's body ends at this many bytes; a longer single message on a stream closes the socket. */
  readonly maxBodyBytes: number
  /** Headers of the upgrade request the call keeps (lower-case), e.g. who the client is. */
  readonly keepHeaders?: readonly string[]
}

/** Middleware: API upgrades are carried to `serve`; everything else passes on to `next`. */
export function webSocketJson<T>(upgradeWebSocket: UpgradeWebSocket<T>, serve: Serve, options: WebSocketJsonOptions): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket' || !PREFIXES.some((p) => c.req.path.startsWith(p))) return next()
    const url = new URL(c.req.url)
    const routed = route('POST', url.pathname, url.search)
    if (routed !== null && 'response' in routed && routed.response.status === 301) {
      const { body, status, headers } = routed.response
      return new Response(body, { status, headers })
    }
    const call = new BridgedCall(c, serve, options)
    const upgraded = await upgradeWebSocket(c, {
      onOpen: (_event, ws) => call.start(ws),
      onMessage: (event, ws) => call.message(event.data, ws),
      onClose: () => call.closed(),
      onError: () => call.closed(),
    })
    // (Workers' helper declines an Upgrade header that is not exactly "websocket": served as HTTP.)
    if (upgraded === undefined) return next()
    const protocol = acceptedProtocol(c.req.header('sec-websocket-protocol'))
    if (protocol !== null && upgraded.status === 101) upgraded.headers.set('sec-websocket-protocol', protocol)
    return upgraded
  }
}

/**
 * The subprotocol the server answers an offer with: `Bearer` when the offer starts with it (the
 * token rides along as the next one), else none, as etcd. Node's ws server takes it as its
 * `handleProtocols`; on Workers the middleware puts it on the 101 answer.
 */
export function acceptedProtocol(offered: string | undefined): string | null {
  return offered?.startsWith('Bearer') === true ? 'Bearer' : null
}

/** `acceptedProtocol` as Node's ws server asks for it (its `handleProtocols` option). */
export function bearerOnly(_offered: ReadonlySet<string>, request: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }): string | false {
  const header = request.headers['sec-websocket-protocol']
  return acceptedProtocol(Array.isArray(header) ? header.join(', ') : header) ?? false
}

/** The token of an upgrade request, or null: the `token` cookie, else `Bearer, <token>` in Sec-WebSocket-Protocol (etcd's order). */
export function upgradeToken(c: Context): string | null {
  const cookie = getCookie(c, 'token')
  if (cookie !== undefined) return cookie
  const offered = c.req.header('sec-websocket-protocol') ?? ''
  const at = offered.indexOf('Bearer,')
  if (at < 0) return null
  const token = offered.slice(at + 'Bearer,'.length).trim()
  return token === '' ? null : token
}

const encoder = new TextEncoder()

/** What the bridge uses of Node's ws socket, where the runtime gives it (`WSContext.raw`). */
interface NodeSocket {
  readonly bufferedAmount: number
  pause(): void
  resume(): void
}

function nodeSocket(ws: WSContext<unknown>): NodeSocket | null {
  const raw = ws.raw as Partial<NodeSocket> | undefined
  return typeof raw?.bufferedAmount === 'number' && typeof raw.pause === 'function' ? (raw as NodeSocket) : null
}

/** One upgraded connection: its request, fed with the messages, and its answer, sent back as lines. */
class BridgedCall {
  readonly #url: string
  readonly #env: unknown
  readonly #serve: Serve
  readonly #maxBodyBytes: number
  readonly #headers: Record<string, string> = {}
  /** Every message is part of the body (a bidirectional stream); else the body ends with one JSON value. */
  readonly #streamed: boolean
  readonly #aborted = new AbortController()
  readonly #splitter = new JsonStreamSplitter()
  #bodyBytes = 0
  #body: ReadableStreamDefaultController<Uint8Array> | null = null
  #bodyOpen = true
  #started = false
  #closed = false
  #socket: NodeSocket | null = null

  constructor(c: Context, serve: Serve, options: WebSocketJsonOptions) {
    this.#url = c.req.url
    this.#env = c.env
    this.#serve = serve
    this.#maxBodyBytes = options.maxBodyBytes
    this.#streamed = findEndpoint(c.req.path)?.stream === 'bidi'
    for (const name of options.keepHeaders ?? []) {
      const value = c.req.header(name)
      if (value !== undefined) this.#headers[name] = value
    }
    const token = upgradeToken(c)
    if (token !== null) this.#headers['authorization'] = token
  }

  /** Starts the call (once): its body open for the messages, its answer sent as it comes. */
  start(ws: WSContext<unknown>): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#socket = nodeSocket(ws)
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.#body = controller),
        pull: () => this.#socket?.resume(),
        cancel: () => void (this.#bodyOpen = false),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: BODY_HIGH_WATER_BYTES }),
    )
    const request = new Request(this.#url, {
      method: 'POST',
      headers: this.#headers,
      body,
      signal: this.#aborted.signal,
      ...({ duplex: 'half' } as object),
    })
    void this.#answer(ws, request).then(
      () => this.#close(ws, 1000),
      () => this.#close(ws, 1011),
    )
  }

  message(data: unknown, ws: WSContext<unknown>): void {
    this.start(ws)
    if (this.#closed || !this.#bodyOpen || this.#body === null) return
    const bytes = withNewline(data)
    if (this.#streamed && bytes.length > this.#maxBodyBytes) {
      this.#close(ws, 1009)
      return
    }
    this.#bodyBytes += bytes.length
    this.#body.enqueue(bytes)
    if (!this.#streamed) {
      const batch = this.#splitter.push(bytes)
      if (batch.values.length > 0 || batch.error !== null || this.#bodyBytes > this.#maxBodyBytes) this.#endBody()
    } else if ((this.#body.desiredSize ?? 1) <= 0) this.#socket?.pause()
  }

  /** The client went away (or the socket failed): the call ends. */
  closed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#aborted.abort()
    this.#endBody()
  }

  #endBody(): void {
    if (!this.#bodyOpen) return
    this.#bodyOpen = false
    this.#socket?.resume()
    try {
      this.#body?.close()
    } catch {
      // Already cancelled by the app's reader.
    }
  }

  /** Sends each line of the app's answer as a text message. */
  async #answer(ws: WSContext<unknown>, request: Request): Promise<void> {
    const response = await this.#serve(request, this.#env)
    const reader = response.body?.getReader()
    if (reader === undefined) return
    const stop = (): void => void reader.cancel().catch(() => undefined)
    if (this.#aborted.signal.aborted) stop()
    else this.#aborted.signal.addEventListener('abort', stop, { once: true })
    const decoder = new TextDecoder()
    let pending = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done || this.#closed) break
      pending += decoder.decode(value, { stream: true })
      const lines = pending.split('\n')
      pending = lines.pop() as string
      for (const line of lines) if (line !== '') ws.send(line)
      await this.#drained()
    }
    pending += decoder.decode()
    if (pending !== '' && !this.#closed) ws.send(pending)
  }

  /** Resolves once the socket's send buffer is below HIGH_WATER_BYTES, or at once where the runtime does not say. */
  async #drained(): Promise<void> {
    while (!this.#closed && this.#socket !== null && this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
    }
  }

  #close(ws: WSContext<unknown>, code: number): void {
    if (this.#closed) return
    this.closed()
    ws.close(code)
  }
}

/** A message's bytes and the newline etcd's proxy writes after each. */
function withNewline(data: unknown): Uint8Array<ArrayBuffer> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : encoder.encode(String(data))
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  out[bytes.length] = 0x0a
  return out
}
