/**
 * The answers the gateway gives itself: src/api's etcd answers (error bodies, the plain-text
 * 404/405, the CORS preflight) as Web Responses, the errors only a gateway raises, and `/health`
 * (etcd-v3-http-api.md §12: a JSON body served as text/plain).
 *
 * @module
 */
import { CORS_HEADERS, errorResponse, healthAnswer, type ApiResponse } from '../api/index.ts'
import { connectionLost } from '../client/index.ts'
import { EtcdError, Errors, GrpcCode } from '../mvcc/errors.ts'

export { CORS_HEADERS }

/** The errors the gateway raises itself. */
export const GatewayErrors = {
  /** No member could be reached before the deadline. */
  unhealthy: Errors.unhealthy,
  /** The deadline passed after the request may have reached a member: the outcome is unknown. */
  timeout: Errors.timeout,
  /** The connection broke after the request may have reached a member: the outcome is unknown. */
  connectionLost,
  /** A member's response stream broke (gRPC's wording for a lost transport). */
  streamBroken: (): EtcdError => new EtcdError(GrpcCode.Unavailable, 'transport is closing'),
  /** Too many failed logins from this client (login-guard.ts): a member's own answer to it. */
  tooManyRequests: (): EtcdError => new EtcdError(GrpcCode.ResourceExhausted, 'etcdserver: too many requests'),
} as const

/**
 * An answer as plain data: what the gateway's unary path passes through (a member's status,
 * headers and body bytes, untouched) or makes itself (an {@link ApiResponse} is one). An empty
 * body is no body.
 */
export interface GatewayAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array
}

export function toResponse(answer: GatewayAnswer): Response {
  // (Never a SharedArrayBuffer's view: the bytes come from a socket or an encoder.)
  const body = answer.body.length === 0 ? null : (answer.body as string | Uint8Array<ArrayBuffer>)
  return new Response(body, { status: answer.status, headers: answer.headers })
}

/** etcd's JSON error body with the HTTP status its code maps to. */
export function etcdErrorAnswer(error: EtcdError): GatewayAnswer {
  return errorResponse(error)
}

/** {@link etcdErrorAnswer} as a Response. */
export function etcdErrorResponse(error: EtcdError): Response {
  return toResponse(errorResponse(error))
}

/** etcd's `/health` answer (api/errors.ts healthAnswer). */
export function healthResponse(healthy: boolean): Response {
  return toResponse(healthAnswer(healthy))
}
