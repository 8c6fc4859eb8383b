/**
 * HTTP answers that are not a decoded response: etcd 3.4's error bodies and statuses
 * (grpc-gateway v1's code → HTTP table, FailedPrecondition → 412), the plain-text 404/405 of the
 * gateway's router, and the header sets every answer carries (CORS, the gRPC content type).
 *
 * @module
 */

import { EtcdError, GrpcCode } from '../mvcc/errors.ts'
import { parseJson, type JsonValue } from './go-json.ts'
import { jsonString } from './go-strings.ts'

/** One complete HTTP answer, runtime-neutral (the member and gateway turn it into a Response). */
export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
}

/** Headers of every successful JSON answer (streams included). */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  'Grpc-Metadata-Content-Type': 'application/grpc',
  ...CORS_HEADERS,
}

/** Headers of an error answer: etcd sends the gRPC content type as a trailer there, not a header. */
export const ERROR_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  ...CORS_HEADERS,
}

/** Headers of Go's http.Error answers. */
export const TEXT_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/plain; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
  ...CORS_HEADERS,
}

const C = GrpcCode

/** grpc-gateway v1's HTTPStatusFromCode. */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [C.OK]: 200,
  [C.Canceled]: 408,
  [C.Unknown]: 500,
  [C.InvalidArgument]: 400,
  [C.DeadlineExceeded]: 504,
  [C.NotFound]: 404,
  [C.AlreadyExists]: 409,
  [C.PermissionDenied]: 403,
  [C.ResourceExhausted]: 429,
  [C.FailedPrecondition]: 412,
  [C.Aborted]: 409,
  [C.OutOfRange]: 400,
  [C.Unimplemented]: 501,
  [C.Internal]: 500,
  [C.Unavailable]: 503,
  [C.DataLoss]: 500,
  [C.Unauthenticated]: 401,
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout',
  409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
}

export function httpStatus(code: GrpcCode): number {
  return HTTP_STATUS[code] ?? 500
}

/** Anything thrown becomes an EtcdError; a non-etcd error is gRPC's Unknown (code 2). */
export function asEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err
  return new EtcdError(C.Unknown, err instanceof Error ? err.message : String(err))
}

/** `{"error":msg,"message":msg,"code":N}` (the 3.4 shape). */
export function errorBody(err: EtcdError): string {
  const msg = jsonString(err.message)
  return `{"error":${msg},"message":${msg},"code":${err.code}}`
}

export function errorResponse(err: unknown): ApiResponse {
  const e = asEtcdError(err)
  return { status: httpStatus(e.code), headers: ERROR_HEADERS, body: errorBody(e) }
}

/**
 * A streaming call whose *first* request message could not be decoded: the gateway answers with
 * a plain error (gRPC Unknown), so 500 and code 2 whatever the decoding error was, unwrapped.
 */
export function streamRequestError(err: EtcdError): ApiResponse {
  return errorResponse(new EtcdError(C.Unknown, err.message))
}

/**
 * An error ending a response stream after messages were sent: its last line, in grpc-gateway
 * v1's stream-error shape, and without a newline, as etcd 3.4 writes it (ending a watch with
 * `etcdserver: no leader`, or on a request past gRPC's receive limit).
 */
export function streamErrorLine(err: unknown): string {
  const e = asEtcdError(err)
  const status = httpStatus(e.code)
  return `{"error":{"grpc_code":${e.code},"http_code":${status},"message":${jsonString(e.message)},` +
    `"http_status":${jsonString(STATUS_TEXT[status] ?? '')}}}`
}

/**
 * A stream refused by the server before it sent anything (no leader, a first request past the
 * receive limit, a snapshot the caller may not take): the error's status, and its stream-error
 * line as the whole body.
 */
export function streamRefused(err: EtcdError): ApiResponse {
  return { status: httpStatus(err.code), headers: JSON_HEADERS, body: streamErrorLine(err) }
}

function text(status: number, body: string): ApiResponse {
  return { status, headers: TEXT_HEADERS, body }
}

/** Go's ServeMux answer to a path that is not clean: 301 to `location`, no body. */
export function movedPermanently(location: string): ApiResponse {
  return { status: 301, headers: { Location: location, ...CORS_HEADERS }, body: '' }
}

/** A request Go's HTTP server cannot parse (a path with a bad percent escape): its bare 400, and the connection closes. */
export function badRequest(): ApiResponse {
  return { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }, body: '400 Bad Request' }
}

/** An unknown path under /v3/. */
export function notFound(): ApiResponse {
  return text(404, 'Not Found\n')
}

/** A known API path with a method other than POST. */
export function methodNotAllowed(): ApiResponse {
  return text(405, 'Method Not Allowed\n')
}

/** A path outside every served prefix (Go's http.NotFound). */
export function pageNotFound(): ApiResponse {
  return text(404, '404 page not found\n')
}

/**
 * etcd's `/health` answer: healthy, 200 and the JSON alone (Go sniffs it as text); unhealthy, 503
 * through Go's http.Error (its text headers, and a newline after the JSON).
 */
export function healthAnswer(healthy: boolean): ApiResponse {
  const body = JSON.stringify({ health: String(healthy) })
  if (!healthy) return text(503, `${body}\n`)
  return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...CORS_HEADERS }, body }
}

/** The CORS preflight: 200, empty body. */
export function preflight(): ApiResponse {
  return { status: 200, headers: CORS_HEADERS, body: '' }
}

/** A successful unary answer. */
export function jsonResponse(body: string): ApiResponse {
  return { status: 200, headers: JSON_HEADERS, body }
}

function stringEntry(v: JsonValue | undefined): string | null {
  return v?.kind === 'string' ? v.value : null
}

/**
 * The client's side: the EtcdError an error answer stands for. Understands the 3.4 body, the
 * 3.5/3.6 ones (`{"code","message"}`), the stream-error line, and falls back to the HTTP status
 * for plain-text answers.
 */
export function errorFromBody(status: number, body: string): EtcdError {
  let v: JsonValue | null = null
  try {
    v = parseJson(body)
  } catch {
    // not JSON: a plain-text answer
  }
  if (v?.kind === 'object') {
    const inner = v.entries.get('error')
    const obj = inner?.kind === 'object' ? inner.entries : v.entries
    const code = obj.get('code') ?? obj.get('grpc_code')
    const message = stringEntry(obj.get('message')) ?? stringEntry(obj.get('error'))
    if (code?.kind === 'number' && message !== null) return new EtcdError(Number(code.text) as GrpcCode, message)
  }
  const code = Object.entries(HTTP_STATUS).find(([, s]) => s === status)?.[0]
  return new EtcdError((code === undefined ? C.Unknown : Number(code)) as GrpcCode, body.trim())
}
