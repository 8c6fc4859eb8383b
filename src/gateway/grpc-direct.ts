/**
 * The gateway's unary gRPC calls, carried as node-server.ts carries JSON ones (Node only): the
 * request the gRPC front decoded is encoded as the same JSON call's body and handed to
 * Gateway.unary, and the member's answer decoded back; no Web Request, Response or Hono routing
 * in between; a call the caller cancels (or whose deadline passes) is given up as the app's would
 * be. Calls the gateway's app must see itself (logins, which it limits per client address;
 * streams) are null here and go through the app.
 *
 * @module
 */
import { decodeResponse, encodeRequest, errorFromBody, type AnyEndpoint } from '../api/index.ts'
import type { Gateway } from './app.ts'

const utf8 = new TextEncoder()
const text = new TextDecoder()

/** src/grpc's DirectCall, as the gateway answers it (the caller's connection is not needed). */
export type GatewayDirectCall = (
  ep: AnyEndpoint,
  request: unknown,
  headers: { get(name: string): string | null },
  client: unknown,
  cancel: { readonly signal: AbortSignal },
) => Promise<unknown> | null

export function gatewayGrpcCalls(gateway: Gateway): GatewayDirectCall {
  return (ep, request, headers, _client, cancel) => {
    if (gateway.unaryEndpoint(ep.path) === undefined) return null
    const body = utf8.encode(encodeRequest(ep, request))
    return gateway.unary(ep, (name) => headers.get(name) ?? undefined, body, cancel.signal).then((answer) => {
      const json = typeof answer.body === 'string' ? answer.body : text.decode(answer.body)
      if (answer.status === 200) return decodeResponse(ep, json)
      throw errorFromBody(answer.status, json)
    })
  }
}
