/**
 * The member's end of the call channel (api/call-frames.ts): a WebSocket on the client port at
 * {@link CALL_CHANNEL_PATH} over which a gateway sends batches of unary calls (Node only, as
 * node-unary.ts). Each call is served as the same POST over HTTP on the channel's connection
 * would be:
 *
 *   a call this member answers itself (app.ts `servesUnary`, no deadline header)
 *        ──▶ serveUnary, as node-unary.ts (the leader hint on it when this member does not lead);
 *            one carried as protobuf (PROTOBUF_CALL): serveDecoded, as the gRPC port serves it
 *   any other unary call (a forward to the leader, a call with a deadline, an unknown path)
 *        ──▶ the Hono app (`serve`), as a Web Request, its Response read whole; aborted when the
 *            channel closes. One carried as protobuf goes as the same call in JSON, and a 200
 *            answer comes back as protobuf.
 *   a stream, or a call that waits on other clients (lock, campaign)
 *        ──▶ refused: their answers do not end, or end only when their client is gone, which a
 *            channel shared by many clients cannot tell; the gateway carries them over HTTP
 *
 * The answers that become ready during one event-loop turn go back in one message. The client's
 * identity is the channel's connection (its address, its TLS certificate) with each call's own
 * headers (a token, a forwarding member's claim), as tls.ts reads an HTTP request's. A message
 * that is not a batch of calls closes the channel (1008).
 *
 * Flow control: while {@link MAX_IN_FLIGHT} calls are being served, or more than
 * {@link HIGH_WATER_BYTES} of answers wait in the socket (a gateway that stopped reading), the
 * channel is not read further; TCP then holds the gateway back.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { Context, Handler } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import {
  CALL_CHANNEL_PATH, ChannelFrameError, decodeCalls, decodeResponse, encodeAnswers, encodeRequest, errorResponse, findEndpoint, GRPC_TIMEOUT_HEADER,
  HOP_HEADERS, LEADER_HINT_HEADER, PROTOBUF_CALL, type AnyEndpoint, type ChannelAnswer, type ChannelCall,
} from '../api/index.ts'
import { decodeProto, encodeProto } from '../api/proto-wire.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { callError, leaderOnly, serveDecoded, serveUnary, servesUnary, waitsOnOthers } from './app.ts'
import type { Connection, HeaderSource } from './auth-gate.ts'
import { settleForwardedClaim } from './forwarded-user.ts'
import { bodyCap, bodyTooLarge } from './http-body.ts'
import type { MemberContext } from './member-context.ts'
import type { NodeUnaryOptions } from './node-unary.ts'

const utf8 = new TextEncoder()
const text = new TextDecoder()

/** The answers ready in a turn go out at once when their bodies reach this many bytes. */
const BATCH_BYTES = 1024 * 1024

/** Calls served at once on one channel, at most, before it is read further. */
export const MAX_IN_FLIGHT = 4096

/** Bytes of answers waiting in the socket above which the channel is not read further. */
export const HIGH_WATER_BYTES = 8 * 1024 * 1024

/** How often a paused channel looks at its socket again, in milliseconds. */
const DRAIN_POLL_MS = 5

export interface CallChannelOptions extends NodeUnaryOptions {
  /** The member's Hono app, for the calls serveUnary does not answer (`env` as @hono/node-server's). */
  readonly serve: (request: Request, env: { incoming: IncomingMessage }) => Response | Promise<Response>
}

export interface CallChannelRoute {
  readonly path: string
  readonly handler: Handler
}

/** What the `ws` socket under Hono's WSContext offers for flow control. */
interface RawSocket {
  readonly bufferedAmount: number
  pause(): void
  resume(): void
}

export function callChannelRoute<T>(m: MemberContext, upgradeWebSocket: UpgradeWebSocket<T>, options: CallChannelOptions): CallChannelRoute {
  return {
    path: CALL_CHANNEL_PATH,
    handler: async (c: Context): Promise<Response> => {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return c.text('WebSocket only\n', 426)
      const upgrade = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
      if (upgrade === undefined) return c.text('not served on this runtime\n', 501)
      const channel = new ServedChannel<T>(m, upgrade, options)
      return upgradeWebSocket(c, {
        onMessage: (event, ws) => channel.message(event.data, ws),
        onClose: () => channel.closed(),
        onError: () => channel.closed(),
      })
    },
  }
}

/** One gateway's channel, as this member serves it. */
class ServedChannel<T> {
  readonly #m: MemberContext
  readonly #upgrade: IncomingMessage
  readonly #options: CallChannelOptions
  /** Aborts the calls the app is still serving when the channel closes. */
  readonly #gone = new AbortController()
  #ready: ChannelAnswer[] = []
  #readyBytes = 0
  #inFlight = 0
  #paused = false
  #polling = false

  constructor(m: MemberContext, upgrade: IncomingMessage, options: CallChannelOptions) {
    this.#m = m
    this.#upgrade = upgrade
    this.#options = options
  }

  message(data: unknown, ws: WSContext<T>): void {
    if (this.#gone.signal.aborted) return
    let calls: ChannelCall[]
    try {
      if (!(data instanceof ArrayBuffer)) throw new ChannelFrameError('a text message')
      calls = decodeCalls(new Uint8Array(data))
    } catch (err) {
      if (!(err instanceof ChannelFrameError)) throw err
      this.closed()
      ws.close(1008, 'not a batch of calls')
      return
    }
    this.#inFlight += calls.length
    for (const call of calls) {
      // (#serve answers every failure itself; a 500 if something still threw, never an unhandled rejection.)
      void this.#serve(call).then((a) => this.#answer(ws, a), () => this.#answer(ws, failedAnswer(call)))
    }
    this.#flow(ws)
  }

  closed(): void {
    this.#gone.abort()
    this.#ready = []
  }

  async #serve(call: ChannelCall): Promise<ChannelAnswer> {
    const query = call.path.indexOf('?')
    const ep = findEndpoint(query < 0 ? call.path : call.path.slice(0, query))
    // As an HTTP request on the channel's connection: its socket, this call's headers.
    const incoming = { socket: this.#upgrade.socket, headers: call.headers } as unknown as IncomingMessage
    if (ep === null) return this.#viaApp(call, incoming)
    if (ep.stream !== 'unary' || waitsOnOthers(ep)) return refused(call, ep)
    const here = servesUnary(this.#m, ep) && call.headers[GRPC_TIMEOUT_HEADER] === undefined
    if (call.headers['content-type'] === PROTOBUF_CALL) {
      return here ? served(this.#m, ep, call, incoming, this.#options, protobufAnswer(this.#m, ep, call)) : this.#protobufViaApp(ep, call, incoming)
    }
    if (!here) return this.#viaApp(call, incoming)
    return served(this.#m, ep, call, incoming, this.#options, (headers, connection) => serveUnary(this.#m, ep, call.body, headers, connection))
  }

  /** A protobuf call the app serves: as the same call in JSON; a 200 answer turned back into protobuf. */
  async #protobufViaApp(ep: AnyEndpoint, call: ChannelCall, incoming: IncomingMessage): Promise<ChannelAnswer> {
    let json: ChannelCall
    try {
      const request = decodeProto(ep.request, call.body)
      json = { ...call, headers: { ...call.headers, 'content-type': 'application/json' }, body: utf8.encode(encodeRequest(ep, request)) }
    } catch (err) {
      const e = callError(this.#m, ep, err)
      const r = errorResponse(e)
      this.#options.onRequest?.(ep.path, r.status, 0, e.code)
      return apiAnswer(call, r)
    }
    const a = await this.#viaApp(json, incoming)
    if (a.status !== 200) return a
    try {
      const body = encodeProto(ep.response, decodeResponse(ep, text.decode(a.body)))
      return { ...a, headers: { ...a.headers, 'content-type': PROTOBUF_CALL }, body }
    } catch (err) {
      // The app's own answer that does not decode (it should not happen): logged, and Unknown.
      return apiAnswer(call, errorResponse(callError(this.#m, ep, err)))
    }
  }

  /** A call the app serves: as a POST to it, the answer read whole (a 500 if the app threw, which it should not). */
  async #viaApp(call: ChannelCall, incoming: IncomingMessage): Promise<ChannelAnswer> {
    try {
      const init = { method: 'POST', headers: call.headers, body: call.body as Uint8Array<ArrayBuffer>, signal: this.#gone.signal }
      const response = await this.#options.serve(new Request(`http://member${call.path}`, init), { incoming })
      const body = new Uint8Array(await response.arrayBuffer())
      return { id: call.id, status: response.status, headers: answerHeaders(response.headers.entries()), body }
    } catch {
      return failedAnswer(call)
    }
  }

  #answer(ws: WSContext<T>, a: ChannelAnswer): void {
    this.#inFlight--
    if (this.#gone.signal.aborted) return
    if (this.#ready.length === 0) setImmediate(() => this.#flush(ws))
    this.#ready.push(a)
    this.#readyBytes += a.body.length
    if (this.#readyBytes >= BATCH_BYTES) this.#flush(ws)
  }

  #flush(ws: WSContext<T>): void {
    const batch = this.#ready
    this.#ready = []
    this.#readyBytes = 0
    if (batch.length > 0 && !this.#gone.signal.aborted) ws.send(encodeAnswers(batch) as Uint8Array<ArrayBuffer>)
    this.#flow(ws)
  }

  /** Pauses or resumes reading the channel (see the module doc). */
  #flow(ws: WSContext<T>): void {
    const raw = ws.raw as RawSocket | undefined
    if (raw === undefined || typeof raw.pause !== 'function' || this.#gone.signal.aborted) return
    const backedUp = raw.bufferedAmount > HIGH_WATER_BYTES
    const over = backedUp || this.#inFlight >= MAX_IN_FLIGHT
    if (over !== this.#paused) {
      this.#paused = over
      if (over) raw.pause()
      else raw.resume()
    }
    // Nothing tells when the socket's buffer drains: look again while it is what holds the channel.
    if (backedUp && !this.#polling) {
      this.#polling = true
      setTimeout(() => {
        this.#polling = false
        this.#flow(ws)
      }, DRAIN_POLL_MS)
    }
  }
}

/** An answer of the API: an ApiResponse, or a protobuf message's. */
interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array
}

/** How a call this member answers itself is run, given its headers and its client. */
type Answer = (headers: HeaderSource, connection: Connection) => Promise<Reply>

/** A call this member answers itself (`answer`), with node-unary.ts's checks and metrics. */
async function served(
  m: MemberContext,
  ep: AnyEndpoint,
  call: ChannelCall,
  incoming: IncomingMessage,
  options: CallChannelOptions,
  answer: Answer,
): Promise<ChannelAnswer> {
  const start = performance.now()
  let r: Reply
  let code: GrpcCode = GrpcCode.OK
  try {
    const cap = bodyCap(m.limits.maxRequestBytes)
    if (call.body.length > cap) throw bodyTooLarge(call.body.length, cap, m.limits.maxRequestBytes)
    const connection = settleForwardedClaim(m, options.connection(incoming), { method: 'POST', path: ep.path }, leaderOnly(ep))
    r = await answer({ get: (name) => call.headers[name] ?? null }, connection)
  } catch (err) {
    const e = callError(m, ep, err)
    code = e.code
    r = errorResponse(e)
  }
  options.onRequest?.(ep.path, r.status, performance.now() - start, code)
  const a = apiAnswer(call, r)
  if (!m.actor.isLeader) a.headers[LEADER_HINT_HEADER] = String(m.actor.leader)
  return a
}

/** A protobuf call answered from its decoded request (serveDecoded, as the gRPC port answers it). */
function protobufAnswer(m: MemberContext, ep: AnyEndpoint, call: ChannelCall): Answer {
  return async (headers, connection) => {
    const message = await serveDecoded(m, ep, decodeProto(ep.request, call.body), headers, connection)
    return { status: 200, headers: PROTOBUF_HEADERS, body: encodeProto(ep.response, message) }
  }
}

const PROTOBUF_HEADERS: Readonly<Record<string, string>> = { 'content-type': PROTOBUF_CALL }

function refused(call: ChannelCall, ep: AnyEndpoint): ChannelAnswer {
  return apiAnswer(call, errorResponse(new EtcdError(GrpcCode.InvalidArgument, `edgecd: ${ep.path} is not carried by the call channel`)))
}

/** `r` as the answer to `call`. */
function apiAnswer(call: ChannelCall, r: Reply): ChannelAnswer {
  return { id: call.id, status: r.status, headers: answerHeaders(Object.entries(r.headers)), body: typeof r.body === 'string' ? Buffer.from(r.body) : r.body }
}

/** What a call whose serving threw is answered (it should never be): 500, nothing else. */
function failedAnswer(call: ChannelCall): ChannelAnswer {
  return { id: call.id, status: 500, headers: {}, body: new Uint8Array(0) }
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
