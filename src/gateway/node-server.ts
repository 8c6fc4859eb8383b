/**
 * The gateway served from node:http (Node only: workers/gateway-node.ts uses it; index.ts does not
 * export it, so the Worker never bundles it). Two paths, one gateway:
 *
 *   POST to a unary API endpoint ──▶ Gateway.unary: the body's bytes in, the member's status,
 *                                    headers and bytes out (one write, Content-Length, with the
 *                                    turn's other answers: Outbox)
 *   everything else               ──▶ the Hono app through @hono/node-server (streams, /health,
 *                                    /version, /ui, OPTIONS, logins, errors for unknown paths)
 *
 * The unary path skips what a pass-through does not need: Web Request and Response objects, Web
 * streams for a body that is read whole anyway, and a chunked answer written in pieces. Its
 * answers are the app's for the same request (same rules, same errors, same CORS headers:
 * test/gateway/node-server.test.ts runs the gateway suite against it). Members are reached over
 * their call channels (channel-exchange.ts), and over the keep-alive pool of node-exchange.ts for
 * what those do not carry, unless an exchange is injected.
 *
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { Outbox, ApiErrors, MAX_HELD_REQUEST_BYTES, cleanPathRedirect } from '../api/index.ts'
import { etcdErrorAnswer, type GatewayAnswer } from './answers.ts'
import { createGateway, type Gateway, type GatewayOptions } from './app.ts'
import { channelExchange } from './channel-exchange.ts'
import { nodeExchange, type NodeExchangeOptions } from './node-exchange.ts'

export interface NodeGatewayOptions extends GatewayOptions {
  /** The pool to the members, when no `exchange` is given. */
  readonly pool?: NodeExchangeOptions
  /** A unary body longer than this is refused before it is whole (default {@link MAX_HELD_REQUEST_BYTES}). */
  readonly maxBodyBytes?: number
}

export interface NodeGateway {
  readonly gateway: Gateway
  /** The request listener for `http.createServer` (or `https.createServer`). */
  readonly listener: RequestListener
  /** Closes the pooled connections to the members (the server is the caller's to close). */
  close(): void
}

export function createNodeGateway(options: NodeGatewayOptions): NodeGateway {
  const pool = options.exchange === undefined ? nodeExchange(options.pool) : undefined
  const channels = pool === undefined ? undefined : channelExchange(pool.exchange)
  const exchange = channels?.exchange ?? pool?.exchange
  const gateway = createGateway(exchange === undefined ? options : { ...options, exchange })
  const fallback = getRequestListener(gateway.app.fetch)
  const maxBodyBytes = options.maxBodyBytes ?? MAX_HELD_REQUEST_BYTES
  const outbox = new Outbox()

  const listener: RequestListener = (req, res) => {
    const url = req.url ?? ''
    const moved = cleanPathRedirect(req.method ?? 'GET', url)
    if (moved !== null) return write(res, moved)
    const query = url.indexOf('?')
    const endpoint = req.method === 'POST' ? gateway.unaryEndpoint(query < 0 ? url : url.slice(0, query)) : undefined
    if (endpoint === undefined) {
      void fallback(req, res)
      return
    }
    const chunks: Buffer[] = []
    let length = 0
    let refused = false
    const refuse = (size: number): void => {
      refused = true
      chunks.length = 0
      // Close the connection once answered: the rest of the body is not read.
      res.shouldKeepAlive = false
      write(res, etcdErrorAnswer(ApiErrors.messageTooLarge(size, maxBodyBytes)))
      res.once('finish', () => req.destroy())
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > maxBodyBytes) return refuse(declared)
    req.on('data', (chunk: Buffer) => {
      if (refused) return
      length += chunk.length
      if (length > maxBodyBytes) return refuse(length)
      chunks.push(chunk)
    })
    req.on('error', () => res.destroy())
    req.on('end', () => {
      if (refused) return
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)
      gateway.unary(endpoint, (name) => header(req, name), body, leftSignal(req.socket)).then(
        (answer) => outbox.push(() => write(res, answer)),
        () => outbox.push(() => write(res, FAILED)),
      )
    })
  }

  const close = (): void => {
    channels?.close()
    pool?.close()
  }
  return { gateway, listener, close }
}

/** Per client connection: aborted when it closes (the client left). */
const LEFT = Symbol('edgecd.gateway.left')

/**
 * The signal that the client of a request has gone: its connection closed. One per connection
 * rather than per request (an AbortController costs more than the rest of a request's
 * bookkeeping): a keep-alive connection carries one request at a time, and a request is over once
 * its answer is written, so the connection's close can only cut short the request under way.
 * (A response that is finished but not yet flushed when the connection closes is answered
 * already; nothing listens to its signal any more.)
 */
function leftSignal(socket: Socket): AbortSignal {
  const holder = socket as Socket & { [LEFT]?: AbortController }
  let left = holder[LEFT]
  if (left === undefined) {
    const controller = new AbortController()
    left = controller
    holder[LEFT] = controller
    socket.once('close', () => controller.abort())
  }
  return left.signal
}

/** What @hono/node-server answers when the app throws (it never should). */
const FAILED: GatewayAnswer = { status: 500, headers: {}, body: '' }

/** A request header as Web Headers' get() has it: repeated ones joined by ", ". */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function write(res: ServerResponse, answer: GatewayAnswer): void {
  if (res.destroyed || res.headersSent) return
  const body = answer.body
  const headers: Record<string, string | number> = { ...answer.headers }
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
  res.writeHead(answer.status, headers)
  res.end(body)
}
