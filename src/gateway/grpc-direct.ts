/**
 * The gateway's unary gRPC calls, carried as node-server.ts carries JSON ones (Node only): the
 * request the gRPC front decoded is encoded as the same JSON call's body and handed to
 * Gateway.unary, and the member's answer decoded back; no Web Request, Response or Hono routing
 * in between. Calls the gateway's app must see itself (logins, which it limits per client
 * address; streams) are null here and go through the app, as are the calls that wait (a lock, a
 * campaign): the app ends one when its caller cancels it or its deadline passes, where here only
 * the connection's close would.
 *
 * @module
 */
import type { Socket } from 'node:net'
import { decodeResponse, encodeRequest, errorFromBody } from '../api/index.ts'
import type { DirectCall } from '../grpc/grpc-front.ts'
import type { Gateway } from './app.ts'
import { leftSignal } from './node-server.ts'
import { routeOf } from './routes.ts'

const utf8 = new TextEncoder()
const text = new TextDecoder()

/** A signal that never fires, for a call whose connection is unknown. */
const NEVER = new AbortController().signal

export function gatewayGrpcCalls(gateway: Gateway): DirectCall {
  return (ep, request, headers, client: Socket | undefined) => {
    if (gateway.unaryEndpoint(ep.path) === undefined || routeOf(ep).blocking) return null
    const body = utf8.encode(encodeRequest(ep, request))
    return gateway.unary(ep, (name) => headers.get(name) ?? undefined, body, client === undefined ? NEVER : leftSignal(client)).then((answer) => {
      const json = typeof answer.body === 'string' ? answer.body : text.decode(answer.body)
      if (answer.status === 200) return decodeResponse(ep, json)
      throw errorFromBody(answer.status, json)
    })
  }
}
