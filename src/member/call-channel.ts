/**
 * The member's end of the call channel (api/call-frames.ts): a WebSocket on the client port at
 * {@link CALL_CHANNEL_PATH} over which a gateway sends batches of unary calls (Node only, as
 * node-unary.ts). Each call is served as the same POST over HTTP on the channel's connection
 * would be:
 *
 *   a call this member answers itself (app.ts `servesUnary`, no deadline header)
 *        ──▶ serveUnary, as node-unary.ts (the leader hint on it when this member does not lead)
 *   any other (a forward to the leader, a call with a deadline, an unknown path)
 *        ──▶ the Hono app (`serve`), as a Web Request, its Response read whole
 *
 * The answers that become ready during one event-loop turn go back in one message. The client's
 * identity is the channel's connection (its address, its TLS certificate) with each call's own
 * headers (a token, a forwarding member's claim), as tls.ts reads an HTTP request's. A message
 * that is not a batch of calls closes the channel (1008). Calls that wait on other clients (lock,
 * campaign) are not sent here: the gateway carries those over HTTP, where a client that leaves
 * closes the connection and so ends the call.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { Context, Handler } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import {
  CALL_CHANNEL_PATH, ChannelFrameError, decodeCalls, encodeAnswers, errorResponse, findEndpoint, GRPC_TIMEOUT_HEADER, HOP_HEADERS, LEADER_HINT_HEADER,
  type ApiResponse, type ChannelAnswer, type ChannelCall,
} from '../api/index.ts'
import { GrpcCode } from '../mvcc/index.ts'
import { callError, leaderOnly, serveUnary, servesUnary } from './app.ts'
import { settleForwardedClaim } from './forwarded-user.ts'
import { bodyCap, bodyTooLarge } from './http-body.ts'
import type { MemberContext } from './member-context.ts'
import type { NodeUnaryOptions } from './node-unary.ts'

/** The answers ready in a turn go out at once when their bodies reach this many bytes. */
const BATCH_BYTES = 1024 * 1024

export interface CallChannelOptions extends NodeUnaryOptions {
  /** The member's Hono app, for the calls serveUnary does not answer (`env` as @hono/node-server's). */
  readonly serve: (request: Request, env: { incoming: IncomingMessage }) => Response | Promise<Response>
}

export interface CallChannelRoute {
  readonly path: string
  readonly handler: Handler
}

export function callChannelRoute<T>(m: MemberContext, upgradeWebSocket: UpgradeWebSocket<T>, options: CallChannelOptions): CallChannelRoute {
  return {
    path: CALL_CHANNEL_PATH,
    handler: async (c: Context): Promise<Response> => {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return c.text('WebSocket only\n', 426)
      const upgrade = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
      if (upgrade === undefined) return c.text('not served on this runtime\n', 501)
      let open = true
      let ready: ChannelAnswer[] = []
      let readyBytes = 0
      const flush = (ws: WSContext<T>): void => {
        const batch = ready
        ready = []
        readyBytes = 0
        if (open && batch.length > 0) ws.send(encodeAnswers(batch) as Uint8Array<ArrayBuffer>)
      }
      const answer = (ws: WSContext<T>, a: ChannelAnswer): void => {
        if (ready.length === 0) setImmediate(() => flush(ws))
        ready.push(a)
        readyBytes += a.body.length
        if (readyBytes >= BATCH_BYTES) flush(ws)
      }
      return upgradeWebSocket(c, {
        onMessage: (event, ws) => {
          let calls: ChannelCall[]
          try {
            if (!(event.data instanceof ArrayBuffer)) throw new ChannelFrameError('a text message')
            calls = decodeCalls(new Uint8Array(event.data))
          } catch (err) {
            if (!(err instanceof ChannelFrameError)) throw err
            open = false
            ws.close(1008, err.message.slice(0, 120))
            return
          }
          for (const call of calls) void serveCall(m, call, upgrade, options).then((a) => answer(ws, a))
        },
        onClose: () => {
          open = false
        },
        onError: () => {
          open = false
        },
      })
    },
  }
}

/** One call's answer; never rejects. */
async function serveCall(m: MemberContext, call: ChannelCall, upgrade: IncomingMessage, options: CallChannelOptions): Promise<ChannelAnswer> {
  const query = call.path.indexOf('?')
  const ep = findEndpoint(query < 0 ? call.path : call.path.slice(0, query))
  // As an HTTP request on the channel's connection: its socket, this call's headers.
  const incoming = { socket: upgrade.socket, headers: call.headers } as unknown as IncomingMessage
  if (ep === null || !servesUnary(m, ep) || call.headers[GRPC_TIMEOUT_HEADER] !== undefined) return viaApp(call, incoming, options)
  const start = performance.now()
  let r: ApiResponse
  let code: GrpcCode = GrpcCode.OK
  try {
    const cap = bodyCap(m.limits.maxRequestBytes)
    if (call.body.length > cap) throw bodyTooLarge(call.body.length, cap, m.limits.maxRequestBytes)
    const connection = settleForwardedClaim(m, options.connection(incoming), { method: 'POST', path: ep.path }, leaderOnly(ep))
    r = await serveUnary(m, ep, call.body, { get: (name) => call.headers[name] ?? null }, connection)
  } catch (err) {
    const e = callError(m, ep, err)
    code = e.code
    r = errorResponse(e)
  }
  options.onRequest?.(ep.path, r.status, performance.now() - start, code)
  const headers = answerHeaders(Object.entries(r.headers))
  if (!m.actor.isLeader) headers[LEADER_HINT_HEADER] = String(m.actor.leader)
  return { id: call.id, status: r.status, headers, body: Buffer.from(r.body) }
}

/** A call the app serves: as a POST to it, the answer read whole (the app never throws; a 500 if it did). */
async function viaApp(call: ChannelCall, incoming: IncomingMessage, options: CallChannelOptions): Promise<ChannelAnswer> {
  try {
    const request = new Request(`http://member${call.path}`, { method: 'POST', headers: call.headers, body: call.body as Uint8Array<ArrayBuffer> })
    const response = await options.serve(request, { incoming })
    const headers = answerHeaders(response.headers.entries())
    return { id: call.id, status: response.status, headers, body: new Uint8Array(await response.arrayBuffer()) }
  } catch {
    return { id: call.id, status: 500, headers: {}, body: new Uint8Array(0) }
  }
}

/** An answer's headers as the gateway takes them: lower-case names, no hop-by-hop ones. */
function answerHeaders(entries: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of entries) {
    const lower = name.toLowerCase()
    if (!HOP_HEADERS.has(lower)) out[lower] = value
  }
  return out
}
