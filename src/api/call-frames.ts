/**
 * The frames of the call channel: one WebSocket from the gateway to a member (src/gateway/
 * channel-exchange.ts, src/member/call-channel.ts) that carries many unary calls at once, instead
 * of one HTTP request on one connection each. Each binary message is a msgpack array of calls
 * (gateway → member) or of answers (member → gateway): the calls or answers that became ready
 * during one event-loop turn, so a burst of calls costs each side one socket write and one read.
 *
 *   call    [id, path, headers, body]        id: the gateway's number for the call, unique on
 *                                            the channel; path: e.g. `/v3/kv/put`; headers:
 *                                            lower-case names, as an HTTP request's; body: bytes
 *   answer  [id, status, headers, body]      the call's HTTP status, headers and body
 *
 * Invariants: every call gets at most one answer, with its id; answers come in any order (each
 * call is served as HTTP would serve it, concurrently). A call is a POST under the API's rules,
 * authorized by its own headers and by the channel's connection, exactly as the same request over
 * HTTP on that connection. A message that does not decode as this says is an error: whoever
 * receives it closes the channel.
 *
 * @module
 */
import { decode, encode } from '@msgpack/msgpack'

/** The member's path that a gateway upgrades to the call channel (not an etcd path). */
export const CALL_CHANNEL_PATH = '/edgecd/calls'

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

/** A message that is not a batch of calls or of answers. */
export class ChannelFrameError extends Error {}

export function encodeCalls(calls: readonly ChannelCall[]): Uint8Array {
  return encode(calls.map((c) => [c.id, c.path, c.headers, c.body]))
}

export function encodeAnswers(answers: readonly ChannelAnswer[]): Uint8Array {
  return encode(answers.map((a) => [a.id, a.status, a.headers, a.body]))
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
    if (typeof status !== 'number' || !Number.isInteger(status)) throw new ChannelFrameError('an answer without a status')
    return { id: idOf(id), status, headers: headersOf(headers), body: bytesOf(body) }
  })
}

function entries(bytes: Uint8Array): unknown[][] {
  let value: unknown
  try {
    value = decode(bytes)
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

function headersOf(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || headers instanceof Uint8Array)
    throw new ChannelFrameError('headers that are not a map')
  for (const value of Object.values(headers)) if (typeof value !== 'string') throw new ChannelFrameError('a header that is not text')
  return headers as Record<string, string>
}

function bytesOf(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array)) throw new ChannelFrameError('a body that is not bytes')
  return body
}
