/**
 * The unary gRPC calls a member answers itself, straight from the request the gRPC front decoded
 * from protobuf (src/grpc/grpc-front.ts's DirectCall; Node only, as node-unary.ts is for JSON):
 * the calls of app.ts `servesUnary`, with the same checks and answers as over JSON (serveDecoded),
 * without the JSON text and the Web Request and Response of each call in between. Anything else
 * (a forward to the leader, a call that waits, a stream) is null here and goes through the app.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import { httpStatus, type AnyEndpoint } from '../api/index.ts'
import { GrpcCode, type EtcdError } from '../mvcc/index.ts'
import { leaderOnly, serveDecoded, servesUnary } from './app.ts'
import type { HeaderSource } from './auth-gate.ts'
import { settleForwardedClaim } from './forwarded-user.ts'
import type { MemberContext } from './member-context.ts'
import type { NodeUnaryOptions } from './node-unary.ts'

/**
 * Answers `ep` from its decoded request, or null when the app must (see the module doc). `client`
 * stands for the caller's socket (src/grpc's CallClient), which the app reads as node:http's.
 */
export type DirectUnary = (ep: AnyEndpoint, request: unknown, headers: HeaderSource, client: object | undefined) => Promise<unknown> | null

export function directGrpcCalls(m: MemberContext, options: NodeUnaryOptions): DirectUnary {
  return (ep, request, headers, client) => {
    if (!servesUnary(m, ep)) return null
    const start = performance.now()
    // As the app sees a gRPC call: the caller's socket (its address, its certificate), no headers.
    const incoming = { socket: client ?? {}, headers: {} } as unknown as IncomingMessage
    const connection = settleForwardedClaim(m, options.connection(incoming), { method: 'POST', path: ep.path }, leaderOnly(ep))
    return serveDecoded(m, ep, request, headers, connection).then(
      (message) => {
        options.onRequest?.(ep.path, 200, performance.now() - start, GrpcCode.OK)
        return message
      },
      (err: EtcdError) => {
        options.onRequest?.(ep.path, httpStatus(err.code), performance.now() - start, err.code)
        throw err
      },
    )
  }
}
