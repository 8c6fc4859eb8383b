/**
 * The gateway's port for one unary round trip to one member (every API call that is not a
 * stream, the status probes, `/version`): request and answer as plain bytes and header records,
 * so that a call passing through is never re-encoded, re-parsed or turned into Web streams.
 *
 *   fetchExchange(fetch)   Web fetch: the default, and the only one on a Workers runtime
 *   nodeExchange()         undici's keep-alive pools (node-exchange.ts; Node only, injected
 *                          by workers/gateway-node.ts)
 *   channelExchange(x)     the members' call channels, and `x` for what they do not carry
 *                          (channel-exchange.ts; Node only, injected by node-server.ts)
 *
 * An exchange never throws: every failure is an outcome with the meaning of client/attempt.ts
 * (`unsent` only when the member provably saw nothing).
 *
 * @module
 */
import { HOP_HEADERS } from '../api/index.ts'
import { attempt } from '../client/index.ts'

export interface UnaryRequest {
  readonly method: 'POST' | 'GET'
  /** The member's client URL, normalized (`http://127.0.0.1:2381`). */
  readonly endpoint: string
  /** Path and query on the member, e.g. `/v3/kv/put`. */
  readonly path: string
  /** Request headers for the member, lower-case names (content-length is the exchange's). */
  readonly headers: Readonly<Record<string, string>>
  /** JSON (none for a GET, or for a call given as `protobuf`). */
  readonly body: Uint8Array | undefined
  /**
   * The request as its endpoint's protobuf message, for an exchange that can carry it (a call
   * channel: api/call-frames.ts's PROTOBUF_CALL); a 200 answer to it is then protobuf too, as its
   * content-type says. An exchange that sends JSON sends {@link jsonBody}.
   */
  readonly protobuf?: ProtobufCall | undefined
  /** Milliseconds for the whole exchange (status line and body); undefined: no deadline. */
  readonly timeoutMs: number | undefined
  /** The caller's signal: aborting it ends the exchange as `cancelled`. */
  readonly signal: AbortSignal
}

export interface UnaryAnswer {
  readonly status: number
  /** The member's response headers, lower-case names, without hop-by-hop ones; the caller's to change. */
  readonly headers: Record<string, string>
  readonly body: Uint8Array
}

export type UnaryOutcome =
  | { readonly kind: 'answered'; readonly answer: UnaryAnswer }
  | { readonly kind: 'unsent'; readonly error: unknown }
  | { readonly kind: 'lost'; readonly timedOut: boolean; readonly error: unknown }
  | { readonly kind: 'cancelled' }

export type Exchange = (request: UnaryRequest) => Promise<UnaryOutcome>

/** A call that can travel as its protobuf message; the same call's JSON body is made only when asked for. */
export interface ProtobufCall {
  readonly message: Uint8Array
  json(): Uint8Array
}

/** What an exchange that sends JSON sends: the body, or a protobuf call's JSON (made now). */
export function jsonBody(request: UnaryRequest): Uint8Array | undefined {
  return request.body ?? request.protobuf?.json()
}

/** An exchange over Web fetch (client/attempt.ts), for any runtime. */
export function fetchExchange(fetchImpl: typeof fetch): Exchange {
  return async (request) => {
    const outcome = await attempt({
      method: request.method,
      url: request.endpoint + request.path,
      headers: new Headers(request.headers as Record<string, string>),
      body: jsonBody(request),
      streamAnswer: false,
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      fetch: fetchImpl,
    })
    if (outcome.kind !== 'answered') return outcome
    const response = outcome.response
    const headers: Record<string, string> = {}
    // (Headers iterates lower-case names; the member's Content-Encoding is a hop header: fetch decoded the body.)
    response.headers.forEach((value, name) => {
      if (!HOP_HEADERS.has(name)) headers[name] = value
    })
    const body = new Uint8Array(await response.arrayBuffer())
    return { kind: 'answered', answer: { status: response.status, headers, body } }
  }
}
