/**
 * etcd's gRPC API in front of a JSON API app (Node only): the gateway's and each member's, so that
 * gRPC clients (etcdctl, Go's clientv3, python-etcd3, the etcd3 npm package) reach edgecd as they
 * reach etcd: same services and methods, same protobuf messages, the auth token in the `token`
 * metadata, errors as gRPC statuses with etcd's codes and messages; and gRPC's health service,
 * as etcd serves it (health-service.ts).
 *
 * Every call is carried as the same call of the JSON API through the app (the gateway's routes
 * to the leader and fails over; a member forwards as it does for JSON), so the two protocols
 * cannot answer differently; a member answers the unary calls it serves itself from the decoded
 * request instead (DirectCall: the same checks and answers, without the JSON in between), and the
 * gateway carries its unary calls as protobuf where it can (an answer that comes back as protobuf
 * is an EncodedMessage, passed on as it is):
 *
 *   protobuf request ─ decodeProto ─▶ typed ─ encodeRequest ─▶ JSON ─▶ app (gateway or member)
 *   protobuf answer ◀─ encodeProto ── typed ◀─ decodeResponse ── JSON ◀──┘
 *
 * Unary calls are read and answered off their HTTP/2 streams by unary-streams.ts, grpc-js's
 * per-call machinery left out; grpc-js serves the rest (and any unary call whose headers ask for
 * what only it handles), with the same `run`, so both answer alike.
 *
 * Streams (watch, lease keepalive, snapshot, election observe) map message for message: each
 * request message is one JSON object of the request body, each `{"result":…}` line one response
 * message; an error line ends the call with its status. gRPC and HTTP/1.1 share one port
 * (grpc-listener.ts tells them apart by their first bytes).
 *
 * @module
 */
import type * as grpc from '@grpc/grpc-js'
import type { Http2Server, ServerHttp2Stream } from 'node:http2'
import type { Duplex } from 'node:stream'
import type { PeerCertificate } from 'node:tls'
import {
  decodeResponse, decodeStreamResponse, encodeRequest, ENDPOINTS, errorFromBody, GRPC_METHODS, MAX_HELD_REQUEST_BYTES,
  ProtoDecodeError, REQUIRE_LEADER_HEADER, REQUIRE_LEADER_METADATA, type AnyEndpoint,
} from '../api/index.ts'
import { decodeProto, encodeProto } from '../api/proto-wire.ts'
import { lines } from '../client/lines.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { grpcClientSocket } from './grpc-listener.ts'
import { HEALTH_DEFINITION, HEALTH_HANDLERS } from './health-service.ts'
import { answerUnaryStreams, type CallStatus, type MetadataOf, type UnaryRun } from './unary-streams.ts'

/**
 * A call's client as the apps read it off a socket (node:http's `incoming.socket`): its address
 * and, over TLS, whether its certificate was verified, and that certificate. A net.Socket or a
 * TLSSocket is one.
 */
export interface CallClient {
  readonly remoteAddress?: string | undefined
  readonly authorized?: boolean
  getPeerCertificate?(): PeerCertificate
}

/**
 * Serves one JSON API call: what the app does with this POST. `client` is the caller's connection
 * (its address; with TLS, its certificate), when known.
 */
export type ApiCall = (request: Request, client: CallClient | undefined) => Promise<Response>

/** The request headers a gRPC call stands for (its metadata, as grpc-gateway carries it), by lower-case name. */
export interface CallHeaders {
  get(name: string): string | null
}

/**
 * A unary call answered straight from its decoded request, where the server can (a member, for
 * the calls it answers itself): the answer message, or a rejection with an EtcdError. null: the
 * call goes through the ApiCall as JSON. Saves the JSON and the Web Request and Response of each
 * call, which cost more CPU than the call itself.
 */
export type DirectCall = (
  ep: AnyEndpoint,
  request: unknown,
  headers: CallHeaders,
  client: CallClient | undefined,
  /** Its signal fires when the caller cancels the call or its deadline passes (made when first read). */
  cancel: CallCancel,
) => Promise<unknown> | null

/** A call's cancellation, as an AbortSignal made when first asked for. */
export interface CallCancel {
  readonly signal: AbortSignal
}

export interface GrpcFront {
  /** Hands over a client connection whose first bytes are HTTP/2's preface (a socket, or a stream over one). */
  inject(connection: Duplex): void
  close(): void
}

const utf8 = new TextEncoder()

/** What grpc-js tells of a call's connection. */
interface CallPeer {
  getPeer(): string
  /** The certificate only when the client's was verified (grpc-js's AuthContext). */
  getAuthContext(): { readonly sslPeerCertificate?: PeerCertificate | undefined }
}

/** The connection a call came on (its address; with TLS, its certificate), when known. */
type ClientOf = (call: CallPeer) => CallClient | undefined

/**
 * A call's client as grpc-js sees it on the call's own HTTP/2 session: `address:port` from
 * getPeer, the certificate (read when asked) from getAuthContext, which gives one only when it
 * was verified. Undefined for a session over a stream (no address: grpcClientSocket knows it).
 */
function callClient(call: CallPeer): CallClient | undefined {
  const peer = call.getPeer()
  if (peer === 'unknown') return undefined
  const colon = peer.lastIndexOf(':')
  return {
    remoteAddress: colon < 0 ? peer : peer.slice(0, colon),
    get authorized() {
      return call.getAuthContext().sslPeerCertificate !== undefined
    },
    getPeerCertificate: () => call.getAuthContext().sslPeerCertificate ?? ({} as PeerCertificate),
  }
}

/**
 * A call's client on a session over the socket itself, as callClient gives it for a grpc-js call:
 * its address, whether its certificate was verified, and that certificate only if it was ({}
 * otherwise). Read off the session's socket when the call starts (the session's socket cannot be
 * read once the session is gone; the certificate's function, bound then, can). Undefined over a
 * stream that mends requests (no address: grpcClientSocket knows it).
 */
function streamClient(stream: ServerHttp2Stream): CallClient | undefined {
  const socket = stream.session?.socket as (CallClient & { readonly remoteAddress?: string }) | undefined
  if (socket?.remoteAddress === undefined) return undefined
  const authorized = socket.authorized === true
  const peer = authorized ? socket.getPeerCertificate : undefined
  return { remoteAddress: socket.remoteAddress, authorized, getPeerCertificate: () => peer?.() ?? ({} as PeerCertificate) }
}

/** The app could not be reached (a JSON API answer carries its own code): gRPC's UNAVAILABLE. */
function unreachable(err: unknown): CallStatus {
  return { code: GrpcCode.Unavailable, details: String(err) }
}

function statusOf(err: EtcdError): CallStatus {
  return { code: err.code as number, details: err.message }
}

/** A grpc-js call's metadata by key, as unary-streams.ts reads it off the headers. */
function metadataOf(metadata: grpc.Metadata): MetadataOf {
  return (key) => {
    const value = metadata.get(key)[0]
    return typeof value === 'string' ? value : undefined
  }
}

/**
 * The headers a call's metadata stands for, as grpc-gateway maps them: `token` as
 * `grpc-metadata-token`, `authorization` as itself, and require-leader (api/require-leader.ts).
 */
function callHeaders(metadata: MetadataOf): Map<string, string> {
  const headers = new Map<string, string>()
  for (const [key, header] of [['token', 'grpc-metadata-token'], ['authorization', 'authorization']] as const) {
    const value = metadata(key)
    if (value !== undefined) headers.set(header, value)
  }
  const requireLeader = metadata(REQUIRE_LEADER_METADATA)
  if (requireLeader !== undefined) headers.set(REQUIRE_LEADER_HEADER, requireLeader)
  return headers
}

function apiRequest(ep: AnyEndpoint, body: BodyInit, metadata: ReadonlyMap<string, string>, signal: AbortSignal): Request {
  const headers = new Headers({ 'content-type': 'application/json' })
  for (const [name, value] of metadata) headers.set(name, value)
  return new Request(`http://edgecd${ep.path}`, { method: 'POST', body, headers, signal, duplex: 'half' } as RequestInit)
}

/** A call's 'cancelled' event, as grpc-js emits it. */
interface Cancellable {
  once(event: 'cancelled', listener: () => void): unknown
  removeListener(event: 'cancelled', listener: () => void): unknown
}

/**
 * An AbortSignal that fires when the gRPC call is cancelled (the client left or timed out), until
 * `forget()`; made when first read (a member answers most unary calls without one). grpc-js
 * reports the end of every call as a cancel, answered ones too: a unary call forgets it once
 * answered, as an abort costs a DOMException and its listeners' work.
 */
function cancelled(call: Cancellable): CallCancel & { forget(): void } {
  let controller: AbortController | undefined
  const abort = (): void => controller?.abort()
  return {
    get signal() {
      if (controller === undefined) {
        controller = new AbortController()
        call.once('cancelled', abort)
      }
      return controller.signal
    },
    forget: () => void call.removeListener('cancelled', abort),
  }
}

/**
 * Runs a unary call: `direct` answers it from the decoded request where it can, else the app as
 * the same call in JSON. Rejects with the status to end the call with.
 */
function unaryRun(api: ApiCall, direct: DirectCall | null): UnaryRun {
  return async (ep, request, metadata, client, cancel) => {
    const headers = callHeaders(metadata)
    let answered: Promise<unknown> | null
    try {
      answered = direct?.(ep, request, { get: (name) => headers.get(name) ?? null }, client, cancel) ?? null
    } catch {
      // What grpc-js answers for a handler that throws.
      throw { code: GrpcCode.Unknown, details: 'Unknown error' } satisfies CallStatus
    }
    try {
      if (answered !== null) return await answered
      const res = await api(apiRequest(ep, encodeRequest(ep, request), headers, cancel.signal), client)
      const text = await res.text()
      if (res.status === 200) return decodeResponse(ep, text)
      throw errorFromBody(res.status, text)
    } catch (err) {
      throw err instanceof EtcdError ? statusOf(err) : unreachable(err)
    }
  }
}

/** grpc-js's handler for a unary call (one unary-streams.ts leaves to it): `run` answers it. */
function unaryHandler(ep: AnyEndpoint, run: UnaryRun, clientOf: ClientOf): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    if (call.request instanceof Undecodable) return callback({ code: call.request.error.code, details: call.request.error.message })
    const gone = cancelled(call)
    run(ep, call.request, metadataOf(call.metadata), clientOf(call), gone).then(
      (message) => {
        gone.forget()
        callback(null, message)
      },
      (status: CallStatus) => {
        gone.forget()
        callback(status)
      },
    )
  }
}

/**
 * Passes the answer's lines on as messages; an error line or a failed answer ends the call with
 * its status. When the caller goes (`gone`), the answer's body is cancelled, which ends the app's
 * stream (its watchers, its keepalives). A caller that reads slower than messages come is not
 * buffered for: the next line is read once the call drains, so the app sees a slow reader.
 */
async function relay(
  ep: AnyEndpoint,
  res: Response,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  gone: AbortSignal,
): Promise<void> {
  if (res.status !== 200 || res.body === null) {
    call.emit('error', statusOf(errorFromBody(res.status, await res.text())))
    return
  }
  for await (const line of lines(res.body, gone)) {
    let message: unknown
    try {
      message = decodeStreamResponse(ep, line)
    } catch (err) {
      call.emit('error', statusOf(err as EtcdError))
      return
    }
    if (gone.aborted) return
    if (!call.write(message)) await drained(call, gone)
  }
  if (!gone.aborted) call.end()
}

/** Resolves once `call` drains or the caller is gone. */
function drained(call: NodeJS.EventEmitter, gone: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.removeListener('drain', done)
      gone.removeEventListener('abort', done)
      resolve()
    }
    call.once('drain', done)
    gone.addEventListener('abort', done)
  })
}

function serverStreamHandler(ep: AnyEndpoint, api: ApiCall, clientOf: ClientOf): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    // A server stream reads its one request as a stream's message: grpc-go's other wording.
    if (call.request instanceof Undecodable) return void call.emit('error', { code: call.request.error.code, details: call.request.error.inStream })
    const gone = cancelled(call).signal
    const request = apiRequest(ep, encodeRequest(ep, call.request), callHeaders(metadataOf(call.metadata)), gone)
    api(request, clientOf(call))
      .then((res) => relay(ep, res, call, gone))
      .catch((err: unknown) => call.emit('error', unreachable(err)))
  }
}

function bidiHandler(ep: AnyEndpoint, api: ApiCall, clientOf: ClientOf): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    let body!: ReadableStreamDefaultController<Uint8Array>
    // The app reads the request messages at its pace: the call is paused while it is behind, and
    // messages after the app stopped reading (it cancelled the body) are dropped.
    let open = true
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => void (body = c),
      pull: () => void call.resume(),
      cancel: () => void (open = false),
    })
    const gone = cancelled(call).signal
    call.on('data', (message: Boxed) => {
      if (!open) return
      if (message.decoded instanceof Undecodable) {
        open = false
        try {
          body.error(message.decoded.error)
        } catch {}
        call.emit('error', { code: message.decoded.error.code, details: message.decoded.error.inStream })
        return
      }
      try {
        body.enqueue(utf8.encode(encodeRequest(ep, message.decoded)))
        if ((body.desiredSize ?? 1) <= 0) call.pause()
      } catch {
        open = false // the body is closed already: the call is ending
      }
    })
    call.on('end', () => {
      try {
        body.close()
      } catch {}
    })
    gone.addEventListener('abort', () => {
      try {
        body.error(new Error('cancelled'))
      } catch {}
    })
    api(apiRequest(ep, stream, callHeaders(metadataOf(call.metadata)), gone), clientOf(call))
      .then((res) => relay(ep, res, call, gone))
      .catch((err: unknown) => {
        if (!call.cancelled) call.emit('error', unreachable(err))
      })
  }
}

/**
 * A request message of a client stream, as grpc-js hands it on: boxed, because grpc-js pushes each
 * message into a Readable, where null means the end, and a message of one oneof with none of its
 * fields set (an empty WatchRequest, which etcd ignores) decodes to null.
 */
interface Boxed {
  readonly decoded: unknown
}

/**
 * A request message that did not decode, handed to the call's handler in its place: the handler
 * ends the call with etcd's words for it (grpc-js would answer "Error deserializing request").
 */
class Undecodable {
  constructor(readonly error: ProtoDecodeError) {}
}

function decodeRequestMessage(ep: AnyEndpoint, bytes: Buffer): unknown {
  try {
    return decodeProto(ep.request, bytes)
  } catch (err) {
    if (err instanceof ProtoDecodeError) return new Undecodable(err)
    throw err
  }
}

function method(ep: AnyEndpoint, path: string, name: string): grpc.MethodDefinition<unknown, unknown> {
  const bidi = ep.stream === 'bidi'
  return {
    path: `/${path}`,
    requestStream: bidi,
    responseStream: ep.stream !== 'unary',
    requestSerialize: (value: unknown) => Buffer.from(encodeProto(ep.request, bidi ? (value as Boxed).decoded : value)),
    requestDeserialize: (bytes: Buffer): unknown => (bidi ? { decoded: decodeRequestMessage(ep, bytes) } : decodeRequestMessage(ep, bytes)),
    responseSerialize: (value: unknown) => Buffer.from(encodeProto(ep.response, value)),
    responseDeserialize: (bytes: Buffer) => decodeProto(ep.response, bytes),
    originalName: name,
  }
}

/**
 * The HTTP/2 server grpc-js made for the connection injector: the only one of `server`, which
 * listens on no port. It is kept in a private field of grpc-js's Server (@grpc/grpc-js is pinned
 * in package.json; test/grpc/unary-streams.test.ts fails if the field moves).
 */
function injectorServer(server: grpc.Server): Http2Server {
  const servers = (server as unknown as { readonly http2Servers?: Map<Http2Server, unknown> }).http2Servers
  const found = servers === undefined ? [] : [...servers.keys()]
  if (found.length !== 1) throw new Error(`grpc-js: expected its one HTTP/2 server behind the connection injector, found ${found.length}`)
  return found[0] as Http2Server
}

/**
 * A gRPC server whose every method is `api` called with the same request in JSON (unary calls
 * `direct` answers excepted). grpc-js is
 * loaded here, not when this module is: a process that never sees a gRPC client does not pay
 * for it (~8 MiB of RSS per process).
 */
export async function createGrpcFront(api: ApiCall, direct: DirectCall | null = null): Promise<GrpcFront> {
  const grpc = await import('@grpc/grpc-js')
  const clientOf: ClientOf = (call) => grpcClientSocket() ?? callClient(call)
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_HELD_REQUEST_BYTES, 'grpc.enable_channelz': 0 })
  const run = unaryRun(api, direct)
  const unaryMethods = new Map<string, AnyEndpoint>()
  const known = new Set<string>(Object.keys(HEALTH_DEFINITION).map((name) => `/grpc.health.v1.Health/${name}`))
  const services = new Map<string, { definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation }>()
  for (const ep of ENDPOINTS) {
    const path = GRPC_METHODS[ep.name]
    if (path === undefined) continue
    const service = path.slice(0, path.indexOf('/'))
    const name = path.slice(path.indexOf('/') + 1)
    let entry = services.get(service)
    if (entry === undefined) {
      entry = { definition: {}, handlers: {} }
      services.set(service, entry)
    }
    ;(entry.definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)[name] = method(ep, path, name)
    entry.handlers[name] =
      ep.stream === 'bidi'
        ? bidiHandler(ep, api, clientOf)
        : ep.stream === 'server'
          ? serverStreamHandler(ep, api, clientOf)
          : unaryHandler(ep, run, clientOf)
    if (ep.stream === 'unary') unaryMethods.set(`/${path}`, ep)
    known.add(`/${path}`)
  }
  for (const { definition, handlers } of services.values()) server.addService(definition, handlers)
  server.addService(HEALTH_DEFINITION, HEALTH_HANDLERS)
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
  answerUnaryStreams(injectorServer(server), {
    methods: unaryMethods,
    known,
    run,
    clientOf: (stream) => grpcClientSocket() ?? streamClient(stream),
    maxMessageBytes: MAX_HELD_REQUEST_BYTES,
  })
  return {
    inject: (connection) => injector.injectConnection(connection),
    close: () => {
      injector.destroy()
      server.forceShutdown()
    },
  }
}
