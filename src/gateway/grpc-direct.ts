/**
 * The gateway's unary gRPC calls, carried as node-server.ts carries JSON ones (Node only): no Web
 * Request, Response or Hono routing in between; a call the caller cancels (or whose deadline
 * passes) is given up as the app's would be. Each call goes to Gateway.unary with its decoded
 * request (which routes it) and its protobuf message: over a member's call channel it travels as
 * protobuf both ways, and the member's answer is passed on as it came (EncodedMessage), never
 * decoded here; over HTTP it goes as the same JSON call, whose answer is decoded. Calls the
 * gateway's app must see itself (logins, which it limits per client address; streams) are null
 * here and go through the app.
 *
 * @module
 */
import { decodeResponse, encodeRequest, ENDPOINTS, errorFromBody, PROTOBUF_CALL, type AnyEndpoint } from '../api/index.ts'
import { EncodedMessage, encodeProto } from '../api/proto-wire.ts'
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
  // The endpoints the listener carries (it depends on the path only).
  const carried = new Set(ENDPOINTS.filter((ep) => gateway.unaryEndpoint(ep.path) !== undefined))
  return (ep, request, headers, _client, cancel) => {
    if (!carried.has(ep)) return null
    const protobuf = { message: encodeProto(ep.request, request), json: () => utf8.encode(encodeRequest(ep, request)) }
    return gateway.unary(ep, (name) => headers.get(name) ?? undefined, { request, protobuf }, cancel.signal).then((answer) => {
      if (answer.status === 200 && answer.headers['content-type'] === PROTOBUF_CALL && typeof answer.body !== 'string') {
        return new EncodedMessage(answer.body)
      }
      const json = typeof answer.body === 'string' ? answer.body : text.decode(answer.body)
      if (answer.status === 200) return decodeResponse(ep, json)
      throw errorFromBody(answer.status, json)
    })
  }
}
