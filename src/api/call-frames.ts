/**
 * The frames of the call channel: one WebSocket from the gateway to a member (src/gateway/
 * channel-exchange.ts, src/member/call-channel.ts) that carries many unary calls at once, instead
 * of one HTTP request on one connection each. Each binary message is a msgpack array of calls
 * (gateway → member) or of answers (member → gateway): the calls or answers that became ready
 * during one event-loop turn, so a burst of calls costs each side one socket write and one read.
 *
 *   call    [id, path, headers, body]        id: the gateway's number for the call, unique on
 *                                            the channel; path: e.g. `/v3/kv/put`; headers:
 *                                            an HTTP request's, names in lower case; body: bytes
 *   answer  [id, status, headers, body]      the call's HTTP status, headers and body
 *
 * Invariants: every call gets at most one answer, with its id; answers come in any order (each
 * call is served as HTTP would serve it, concurrently). A call is a POST under the API's rules,
 * authorized by its own headers and by the channel's connection, exactly as the same request over
 * HTTP on that connection. A message that does not decode as this says is an error: whoever
 * receives it closes the channel.
 *
 * A call whose `content-type` is {@link PROTOBUF_CALL} (new in version 2) carries its request as the
 * endpoint's protobuf message instead of JSON (what a gRPC client sent the gateway, passed on),
 * and a 200 answer to it carries the response's protobuf message, with that content type; every
 * other answer is the JSON one. The JSON API over HTTP does not take it: etcd reads any body as
 * JSON, and so do members over HTTP.
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'

/**
 * The member's path that a gateway upgrades to the call channel (not an etcd path). It names the
 * frames' version: a member without it refuses the upgrade, and the gateway uses HTTP.
 */
export const CALL_CHANNEL_PATH = '/edgecd/v2/calls'

/** The content type of a call (and of its 200 answer) carried as protobuf messages. */
export const PROTOBUF_CALL = 'application/x-edgecd-protobuf'

export interface ChannelCall {
  readonly id: number
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

export interface ChannelAnswer {
  readonly id: number
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Uint8Array
}

// One of each per process: a decoder keeps its cache of map keys (header names) warm.
const encoder = new Encoder()
const decoder = new Decoder()

/** A message that is not a batch of calls or of answers. */
export class ChannelFrameError extends Error {}

export function encodeCalls(calls: readonly ChannelCall[]): Uint8Array {
  return encoder.encode(calls.map((c) => [c.id, c.path, c.headers, c.body]))
}

export function encodeAnswers(answers: readonly ChannelAnswer[]): Uint8Array {
  return encoder.encode(answers.map((a) => [a.id, a.status, a.headers, a.body]))
}

/** The calls of one message; throws ChannelFrameError when it is not a batch of calls. */
export function decodeCalls(bytes: Uint8Array): ChannelCall[] {
  return entries(bytes).map((e) => {
    const [id, path, headers, body] = e
    if (typeof path !== 'string') throw new ChannelFrameError('a call without a path')
    return { id: idOf(id), path, headers: headersOf(headers), body: bytesOf(body) }
  })
}

/** The answers of one message; throws ChannelFrameError when it is not a batch of answers. */
export function decodeAnswers(bytes: Uint8Array): ChannelAnswer[] {
  return entries(bytes).map((e) => {
    const [id, status, headers, body] = e
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw new ChannelFrameError('an answer without an HTTP status')
    return { id: idOf(id), status, headers: headersOf(headers), body: bytesOf(body) }
  })
}

function entries(bytes: Uint8Array): unknown[][] {
  let value: unknown
  try {
    value = decoder.decode(bytes)
  } catch (err) {
    throw new ChannelFrameError(`not msgpack: ${(err as Error).message}`)
  }
  if (!Array.isArray(value) || !value.every((e) => Array.isArray(e) && e.length === 4)) throw new ChannelFrameError('not a batch')
  return value as unknown[][]
}

function idOf(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new ChannelFrameError('an entry without an id')
  return id
}

/** An HTTP header name in lower case (RFC 9110's token), and a value without CR, LF or NUL. */
const NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/
const BAD_VALUE = /[\r\n\0]/

function headersOf(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || headers instanceof Uint8Array)
    throw new ChannelFrameError('headers that are not a map')
  for (const [name, value] of Object.entries(headers)) {
    if (!NAME.test(name)) throw new ChannelFrameError('a header name that is not a lower-case token')
    if (typeof value !== 'string' || BAD_VALUE.test(value)) throw new ChannelFrameError('a header value that is not a line of text')
  }
  return headers as Record<string, string>
}

function bytesOf(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array)) throw new ChannelFrameError('a body that is not bytes')
  return body
}
