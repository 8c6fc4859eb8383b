/**
 * The JSON API over WebSocket, as etcd serves it (grpc-websocket-proxy in front of its gateway,
 * on every path under /v3/ and /v3beta/): a WebSocket upgrade of an API path becomes a POST of
 * that path whose body is the client's messages, each followed by a newline, and every line of
 * the answer goes back as one text message. The socket is closed when the answer ends.
 *
 *   client messages ──▶ request body ──▶ the app (`serve`) ──▶ answer lines ──▶ text messages
 *
 * - Bidirectional streams (watch, lease keepalive): the body is every message, until the client
 *   closes the socket, which ends the call.
 * - Every other path: the body is the messages up to the first complete JSON value, as far as
 *   etcd's json.Decoder reads; the answer (a result, or etcd's error body: the status is not
 *   sent) is one message, then the socket closes. Nothing is asked before the first message.
 * - A token comes as a `token` cookie or as `Sec-WebSocket-Protocol: Bearer, <token>` (a browser
 *   cannot set headers on a WebSocket); the cookie wins, as in etcd. etcd passes it on as `Authorization: Bearer <token>`,
 *   which its own token check then refuses; here the token itself is used.
 * - Backpressure: the next piece of the answer is read only once the socket's send buffer is
 *   below HIGH_WATER_BYTES (where the runtime tells it), so a slow reader slows its watch instead
 *   of filling memory.
 *
 * Runtime-free: the runtime's `upgradeWebSocket` is a parameter (Node: @hono/node-server, Workers:
 * hono/cloudflare-workers). Events may start with a message (Workers has no open event).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { JsonStreamSplitter } from './json-stream.ts'
import { findEndpoint } from './routes.ts'

/** The prefixes whose upgrades are carried (etcd's wsproxy wraps the gateway on both). */
const PREFIXES = ['/v3/', '/v3beta/']

/** Above this many bytes waiting in the socket, the answer is not read further. */
export const HIGH_WATER_BYTES = 1024 * 1024

/** How often a full send buffer is looked at again, in milliseconds. */
const DRAIN_POLL_MS = 5

/** Answers a request as the app does: `env` is the upgrade request's (its connection, its client). */
export type Serve = (request: Request, env: unknown) => Response | Promise<Response>

export interface WebSocketJsonOptions {
  /** A non-streaming call's messages are gathered up to this many bytes at most (then sent as they are, for the app to refuse). */
  readonly maxBodyBytes: number
}

/** Middleware: API upgrades are carried to `serve`; everything else passes on to `next`. */
export function webSocketJson<T>(upgradeWebSocket: UpgradeWebSocket<T>, serve: Serve, options: WebSocketJsonOptions): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket' || !PREFIXES.some((p) => c.req.path.startsWith(p))) return next()
    const call = new BridgedCall(c, serve, options.maxBodyBytes)
    const upgraded = await upgradeWebSocket(c, {
      onMessage: (event, ws) => call.message(event.data, ws),
      onClose: () => call.closed(),
      onError: () => call.closed(),
    })
    return upgraded ?? next()
  }
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

/** One upgraded connection: its request, built from the messages, and its answer, sent back as lines. */
class BridgedCall {
  readonly #url: string
  readonly #env: unknown
  readonly #serve: Serve
  readonly #maxBodyBytes: number
  readonly #headers: Record<string, string>
  /** Every message is part of the body (a bidirectional stream). */
  readonly #streamed: boolean
  readonly #aborted = new AbortController()
  /** A non-streaming call's messages so far, until they hold one JSON value. */
  readonly #gathered: Array<Uint8Array<ArrayBuffer>> = []
  #gatheredBytes = 0
  readonly #splitter = new JsonStreamSplitter()
  /** A streaming call's body, open while the socket is. */
  #body: ReadableStreamDefaultController<Uint8Array> | null = null
  #started = false
  #closed = false

  constructor(c: Context, serve: Serve, maxBodyBytes: number) {
    this.#url = c.req.url
    this.#env = c.env
    this.#serve = serve
    this.#maxBodyBytes = maxBodyBytes
    this.#streamed = findEndpoint(c.req.path)?.stream === 'bidi'
    const token = upgradeToken(c)
    this.#headers = token === null ? {} : { authorization: token }
  }

  message(data: unknown, ws: WSContext<unknown>): void {
    if (this.#closed) return
    const bytes = withNewline(data)
    if (this.#streamed) {
      if (!this.#started) this.#start(ws, new ReadableStream<Uint8Array>({ start: (controller) => void (this.#body = controller) }))
      this.#body?.enqueue(bytes)
      return
    }
    if (this.#started) return
    this.#gathered.push(bytes)
    this.#gatheredBytes += bytes.length
    const batch = this.#splitter.push(bytes)
    if (batch.values.length === 0 && batch.error === null && this.#gatheredBytes <= this.#maxBodyBytes) return
    this.#start(ws, new Blob(this.#gathered))
  }

  /** The client went away (or the socket failed): the call ends. */
  closed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#aborted.abort()
    try {
      this.#body?.close()
    } catch {
      // Already closed or errored by the app's reader.
    }
  }

  #start(ws: WSContext<unknown>, body: BodyInit): void {
    this.#started = true
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

  /** Sends each line of the app's answer as a text message. */
  async #answer(ws: WSContext<unknown>, request: Request): Promise<void> {
    const response = await this.#serve(request, this.#env)
    const reader = response.body?.getReader()
    if (reader === undefined) return
    this.#aborted.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true })
    const decoder = new TextDecoder()
    let pending = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done || this.#closed) break
      pending += decoder.decode(value, { stream: true })
      const lines = pending.split('\n')
      pending = lines.pop() as string
      for (const line of lines) if (line !== '') ws.send(line)
      await drained(ws, () => this.#closed)
    }
    pending += decoder.decode()
    if (pending !== '' && !this.#closed) ws.send(pending)
  }

  #close(ws: WSContext<unknown>, code: number): void {
    if (this.#closed) return
    this.#closed = true
    this.#aborted.abort()
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

/** Resolves once the socket's send buffer is below HIGH_WATER_BYTES, or at once where the runtime does not say. */
async function drained(ws: WSContext<unknown>, gone: () => boolean): Promise<void> {
  const raw = ws.raw as { readonly bufferedAmount?: unknown } | undefined
  while (!gone() && typeof raw?.bufferedAmount === 'number' && raw.bufferedAmount > HIGH_WATER_BYTES) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
  }
}
