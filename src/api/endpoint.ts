/**
 * An endpoint is one RPC of the JSON gateway: its path, request and response schemas, how its
 * header is printed, whether it streams, and the checks etcd makes before acting on it. The
 * four directions are generic over that description:
 *
 * ```
 *   server: body ──decodeRequest──► Req        Res ──encodeResponse / encodeStreamResponse──► text
 *   client: Req ──encodeRequest───► text       text ──decodeResponse / decodeStreamResponse──► Res
 * ```
 *
 * decodeRequest follows etcd's order: JSON decoding (400 / 3), gRPC's receive limit (429 / 8),
 * then the endpoint's own checks. The max-request-bytes check belongs to the proposal
 * (see size-limits.ts).
 *
 * @module
 */

import type { ResponseHeader } from '../mvcc/kv.ts'
import { ApiErrors } from './api-errors.ts'
import { errorFromBody } from './errors.ts'
import { decodeMessage } from './fields.ts'
import { parseJson } from './go-json.ts'
import type { FullResponseHeader, HeaderContext } from './header.ts'
import { writeMessage } from './json-writer.ts'
import { parseRequestBody } from './json-stream.ts'
import { protoSize } from './proto-size.ts'
import type { MessageSchema } from './schema.ts'
import { DEFAULT_LIMITS, receiveLimitError, type Limits } from './size-limits.ts'

/**
 * - `full`: cluster_id, member_id, the response's revision, raft_term;
 * - `cluster`: the same without revision (member APIs);
 * - `none`: no header at all (alarm, defragment, snapshot).
 */
export type HeaderMode = 'full' | 'cluster' | 'none'

/** `bidi`: the request body is itself a stream of messages (watch, lease keepalive). */
export type StreamMode = 'unary' | 'server' | 'bidi'

/**
 * `Wire` is what the schema decodes into; `check` turns it into `Req` (usually the same type;
 * a txn's wire form may still hold empty ops, which check rejects).
 */
export interface Endpoint<Req, Res, Wire = Req> {
  /** e.g. `kv.range`. */
  readonly name: string
  /** The canonical path, e.g. `/v3/kv/range`. */
  readonly path: string
  /** Other paths etcd 3.4 serves it under (besides the `/v3beta` twin of every path). */
  readonly aliases: readonly string[]
  readonly request: MessageSchema<Wire>
  readonly response: MessageSchema<Res>
  readonly header: HeaderMode
  readonly stream: StreamMode
  readonly check: (wire: Wire, limits: Limits) => Req
}

/** An endpoint; by default unary, with a full header, no aliases, and no checks. */
export function endpoint<Req, Res, Wire = Req>(spec: {
  readonly name: string
  readonly path: string
  readonly request: MessageSchema<Wire>
  readonly response: MessageSchema<Res>
  readonly header?: HeaderMode
  readonly stream?: StreamMode
  readonly aliases?: readonly string[]
  readonly check?: (wire: Wire, limits: Limits) => Req
}): Endpoint<Req, Res, Wire> {
  return {
    aliases: [],
    header: 'full',
    stream: 'unary',
    check: (wire) => wire as unknown as Req,
    ...spec,
  }
}

/** Any endpoint, for tables (schemas make Endpoint invariant in its type parameters). */
export type AnyEndpoint = Endpoint<any, any, any>

/**
 * A request message already decoded (from JSON, or from protobuf by the gRPC front) → the typed
 * request: refused past the gRPC receive limit, then the endpoint's checks.
 */
export function checkRequest<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, wire: Wire, limits: Limits = DEFAULT_LIMITS): Req {
  const tooBig = receiveLimitError(protoSize(ep.request, wire), limits.maxRequestBytes)
  if (tooBig !== null) throw tooBig
  return ep.check(wire, limits)
}

/** A unary request body (or a server-streaming call's single request) → the typed request. */
export function decodeRequest<Req, Res, Wire>(
  ep: Endpoint<Req, Res, Wire>,
  body: Uint8Array | string,
  limits: Limits = DEFAULT_LIMITS,
): Req {
  return checkRequest(ep, decodeMessage(ep.request, parseRequestBody(body)), limits)
}

/** `res` with the full header the endpoint answers with (what encodeResponse writes, as a message). */
export function withHeader<Res>(ep: Endpoint<unknown, Res, unknown>, res: Res, ctx: HeaderContext): Res {
  if (ep.header === 'none') return res
  const typed = (res as { readonly header?: ResponseHeader }).header
  const header: FullResponseHeader = {
    clusterId: ctx.clusterId,
    memberId: ctx.memberId,
    revision: ep.header === 'full' && typed !== undefined ? typed.revision : 0,
    raftTerm: ctx.raftTerm,
  }
  return { ...res, header }
}

/** A unary answer's JSON text (no trailing newline, as etcd). */
export function encodeResponse<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, res: Res, ctx: HeaderContext): string {
  return writeMessage(ep.response, withHeader(ep as Endpoint<unknown, Res, unknown>, res, ctx))
}

/** One message of a response stream: `{"result":{…}}` and a newline. */
export function encodeStreamResponse<Req, Res, Wire>(
  ep: Endpoint<Req, Res, Wire>,
  res: Res,
  ctx: HeaderContext,
): string {
  return '{"result":' + encodeResponse(ep, res, ctx) + '}\n'
}

/** The client's side: a request as JSON text (proto field names, zero values left out). */
export function encodeRequest<Req extends Wire, Res, Wire>(ep: Endpoint<Req, Res, Wire>, req: Req): string {
  return writeMessage(ep.request, req)
}

/**
 * The client's side: a unary answer's text → the typed response. Headers come back with all
 * four fields ({@link FullResponseHeader}).
 */
export function decodeResponse<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, text: string): Res {
  return decodeMessage(ep.response, parseJson(text))
}

/**
 * The client's side: one line of a response stream. Throws the EtcdError an error line carries.
 */
export function decodeStreamResponse<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, line: string): Res {
  const v = parseJson(line)
  const result = v.kind === 'object' ? v.entries.get('result') : undefined
  if (result !== undefined) return decodeMessage(ep.response, result)
  if (v.kind === 'object' && v.entries.has('error')) throw errorFromBody(500, line)
  throw ApiErrors.badJson('stream message without "result"')
}
