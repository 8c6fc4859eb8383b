/**
 * The gRPC port's unary calls served straight off their HTTP/2 streams (Node only). grpc-js
 * builds, for every call, an intercepting call, a Metadata object, a read queue, a deadline
 * timer and a chain of promises and events; for a member's unary calls that cost more CPU than
 * answering them (a third of a serializable get). Here a unary call is
 *
 *   HEADERS ─▶ DATA… ─▶ END_STREAM: one message ─ decodeProto ─▶ run (grpc-front.ts) ─┐
 *   ◀─ HEADERS 200 application/grpc+proto ◀─ DATA: the answer ◀─ trailers 0 "OK" ◀────┤
 *   ◀─ or trailers only: grpc-status, grpc-message (percent-encoded) ◀── a failure ◀─┘
 *
 * and grpc-js keeps every other stream: streaming calls, the health service, and a unary call
 * whose headers ask for what only grpc-js does (a compressed encoding, a content
 * type other than gRPC's, a method other than POST, a malformed `grpc-timeout`). It is handed to
 * grpc-js's own listener as it came, before anything is read from it.
 *
 * Invariant: a client sees what grpc-js answered for the same bytes: the same response headers
 * and trailers, a deadline from `grpc-timeout` computed as grpc-js computes it (DEADLINE_EXCEEDED
 * "Deadline exceeded"), the same statuses and texts for a request with no message, a second
 * message, one larger than the limit, one that does not decode (checked as each message ends),
 * and an answer that does not encode; the same metadata handed on (a value that is not printable
 * ASCII is dropped). A message's compressed flag is ignored under the identity encoding, and
 * bytes after the first complete message that do not form a second one are ignored, as grpc-js
 * does. test/grpc/unary-streams.test.ts compares both. One difference: a call whose deadline
 * passes before its request has ended is answered DEADLINE_EXCEEDED and not run at all, where
 * grpc-js ran it anyway once the request ended. And a call of a method the server does not have
 * is answered here, UNIMPLEMENTED with grpc-go's words, as etcd answers it (`unknown service S`,
 * `unknown method M for service S`), where grpc-js says `The server does not implement …`.
 *
 * @module
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import { asEtcdError, type AnyEndpoint } from '../api/index.ts'
import { decodeProto, encodeProto } from '../api/proto-wire.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import type { CallCancel, CallClient } from './grpc-front.ts'

/** A gRPC status: the code and its text. */
export interface CallStatus {
  readonly code: number
  readonly details: string
}

/** A call's metadata by lower-case key: its first value (as grpc-js's Metadata.get(key)[0]). */
export type MetadataOf = (key: string) => string | undefined

/**
 * Runs one unary call: its answer message, or a rejection with the CallStatus to end it with.
 * `cancel` fires when the caller goes or its deadline passes.
 */
export type UnaryRun = (
  ep: AnyEndpoint,
  request: unknown,
  metadata: MetadataOf,
  client: CallClient | undefined,
  cancel: CallCancel,
) => Promise<unknown>

export interface UnaryStreamsOptions {
  /** The unary methods by path (`/etcdserverpb.KV/Range`). */
  readonly methods: ReadonlyMap<string, AnyEndpoint>
  /** Every method the server has (grpc-js's included), by path. */
  readonly known: ReadonlySet<string>
  readonly run: UnaryRun
  /** The call's client, when known (over a stream that mends requests, the connection's). */
  readonly clientOf: (stream: ServerHttp2Stream) => CallClient | undefined
  /** A request message larger than this is refused (grpc-js's `grpc.max_receive_message_length`). */
  readonly maxMessageBytes: number
}

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void

/** grpc-js's units for `grpc-timeout` (its DEADLINE_REGEX), in milliseconds. */
const DEADLINE = /(\d{1,8})\s*([HMSmun])/
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }

/** grpc-js's response headers, and its trailers for a call that succeeded. */
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
} as const
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' } as const

/**
 * Puts the unary calls of `options.methods` ahead of grpc-js on `server`, the HTTP/2 server grpc-js
 * made and listens on: its one 'stream' listener is taken off and called for every stream this
 * module leaves to it.
 */
export function answerUnaryStreams(server: Http2Server, options: UnaryStreamsOptions): void {
  const [grpcJs, ...others] = server.listeners('stream') as StreamListener[]
  if (grpcJs === undefined || others.length > 0) throw new Error('grpc: expected grpc-js as the only stream listener of its HTTP/2 server')
  server.removeAllListeners('stream')
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const path = headers[':path'] ?? ''
    const ep = options.methods.get(path)
    const timeoutMs = ep === undefined ? undefined : plainUnaryTimeout(headers)
    if (ep !== undefined && timeoutMs !== undefined) serve(stream, headers, ep, timeoutMs, options)
    else if (ep === undefined && !options.known.has(path) && isGrpc(headers)) unknownMethod(stream, path, options.known)
    else grpcJs(stream, headers, flags, rawHeaders)
  })
}

function isGrpc(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type']
  return headers[':method'] === 'POST' && typeof type === 'string' && type.startsWith('application/grpc')
}

/** grpc-go's answer to a call of a method the server does not have (its handleStream). */
function unknownMethod(stream: ServerHttp2Stream, path: string, known: ReadonlySet<string>): void {
  stream.on('error', () => {})
  const slash = path.lastIndexOf('/')
  const service = path.slice(path.startsWith('/') ? 1 : 0, Math.max(slash, 0))
  const details =
    slash <= 0
      ? `malformed method name: ${JSON.stringify(path)}`
      : [...known].some((p) => p.startsWith(`/${service}/`))
        ? `unknown method ${path.slice(slash + 1)} for service ${service}`
        : `unknown service ${service}`
  new StreamCall(stream).fail({ code: GrpcCode.Unimplemented, details })
}

/**
 * For a call this module serves, its deadline in ms from now (null: none), as grpc-js computes it
 * (`| 0` included); undefined for a call grpc-js must take (see the module doc).
 */
function plainUnaryTimeout(headers: IncomingHttpHeaders): number | null | undefined {
  if (headers[':method'] !== 'POST') return undefined
  const type = headers['content-type']
  if (typeof type !== 'string' || !type.startsWith('application/grpc')) return undefined
  const encoding = headers['grpc-encoding']
  if (encoding !== undefined && encoding !== 'identity') return undefined
  const timeout = headers['grpc-timeout']
  if (timeout === undefined) return null
  const match = DEADLINE.exec(String(timeout))
  if (match === null) return undefined
  return (Number(match[1]) * (UNIT_MS[match[2] as string] as number)) | 0
}

function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ep: AnyEndpoint, timeoutMs: number | null, o: UnaryStreamsOptions): void {
  // An error is followed by 'close', which is what ends the call (grpc-js listens the same way).
  stream.on('error', () => {})
  const call = new StreamCall(stream)
  const client = o.clientOf(stream)
  if (timeoutMs !== null) call.deadline(timeoutMs)
  const path = headers[':path'] as string
  const reader = new MessageReader(o.maxMessageBytes)
  let request: { readonly message: unknown; readonly undecodable?: EtcdError } | null = null
  stream.on('data', (chunk: Buffer) => {
    if (call.ended) return
    const refused = reader.push(chunk)
    if (refused !== null) return call.fail({ code: GrpcCode.ResourceExhausted, details: refused })
    for (const bytes of reader.take()) {
      if (request !== null) {
        return call.fail({ code: GrpcCode.Unimplemented, details: `Received a second request message for server streaming method ${path}` })
      }
      // One that does not decode is a message all the same, refused once the call would run (as grpc-front.ts's Undecodable).
      try {
        request = { message: decodeProto(ep.request, bytes) }
      } catch (err) {
        request = { message: null, undecodable: asEtcdError(err) }
      }
    }
  })
  stream.once('end', () => {
    if (call.ended) return
    if (request === null) {
      call.fail({ code: GrpcCode.Unimplemented, details: `Received no request message for server streaming method ${path}` })
      return
    }
    // etcd's answer: INTERNAL, "grpc: error unmarshalling request: " and what its decoder says.
    if (request.undecodable !== undefined) return call.fail({ code: request.undecodable.code, details: request.undecodable.message })
    o.run(ep, request.message, metadataOf(headers), client, call).then(
      (answer) => {
        let bytes: Uint8Array
        try {
          bytes = encodeProto(ep.response, answer)
        } catch {
          return call.fail({ code: GrpcCode.Internal, details: 'Error serializing response' })
        }
        call.answer(bytes)
      },
      (status: CallStatus) => call.fail(status),
    )
  })
}

/** What grpc-js's Metadata takes as a text value; it drops any other (Metadata.add throws). */
const METADATA_TEXT = /^[ -~]*$/

/** A header's first value as grpc-js's Metadata.fromHttp2Headers keeps it (text keys only are asked for). */
function metadataOf(headers: IncomingHttpHeaders): MetadataOf {
  return (key) => {
    const value = headers[key]
    const first = Array.isArray(value) ? value[0] : value
    return first !== undefined && METADATA_TEXT.test(first) ? first : undefined
  }
}

/**
 * The request's gRPC messages (5-byte prefix: flag, big-endian length) as they complete. Chunks
 * are kept as they come and joined once per message, so a large message split into many DATA
 * frames costs one copy (grpc-js's StreamDecoder does the same).
 */
class MessageReader {
  #chunks: Buffer[] = []
  #buffered = 0
  /** The length of the message being read, once its prefix is in; null before. */
  #size: number | null = null
  #complete: Uint8Array[] = []
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  /** Takes a chunk; returns grpc-js's refusal text for a message over the limit, else null. */
  push(chunk: Buffer): string | null {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    for (;;) {
      if (this.#size === null) {
        if (this.#buffered < 5) return null
        if ((this.#chunks[0] as Buffer).length < 5) this.#chunks = [Buffer.concat(this.#chunks)]
        const size = (this.#chunks[0] as Buffer).readUInt32BE(1)
        if (size > this.#max) return `Received message larger than max (${size} vs ${this.#max})`
        this.#size = size
      }
      if (this.#buffered < 5 + this.#size) return null
      const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
      this.#complete.push(all.subarray(5, 5 + this.#size))
      const rest = all.subarray(5 + this.#size)
      this.#chunks = rest.length > 0 ? [rest] : []
      this.#buffered = rest.length
      this.#size = null
    }
  }

  /** The messages completed since the last call. */
  take(): Uint8Array[] {
    const complete = this.#complete
    this.#complete = []
    return complete
  }
}

/** grpc-js's grpc-message (encodeURI), with any lone surrogate, which encodeURI refuses, as U+FFFD. */
function percentEncoded(details: string): string {
  try {
    return encodeURI(details)
  } catch {
    return encodeURI(details.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))
  }
}

/**
 * One call's answer side: answered or failed once; its cancel signal (made when first read)
 * fires if the stream closes before that, or when the deadline passes.
 */
class StreamCall implements CallCancel {
  readonly #stream: ServerHttp2Stream
  #ended = false
  #controller: AbortController | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(stream: ServerHttp2Stream) {
    this.#stream = stream
  }

  get ended(): boolean {
    return this.#ended || this.#stream.destroyed || this.#stream.closed
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController()
      this.#controller = controller
      if (this.#ended) return controller.signal
      if (this.#stream.destroyed || this.#stream.closed) controller.abort()
      else this.#stream.once('close', () => this.#ended || controller.abort())
    }
    return this.#controller.signal
  }

  deadline(ms: number): void {
    const timer = setTimeout(() => {
      this.fail({ code: GrpcCode.DeadlineExceeded, details: 'Deadline exceeded' })
      this.#controller?.abort()
    }, ms)
    this.#timer = timer
    this.#stream.once('close', () => clearTimeout(timer))
  }

  answer(message: Uint8Array): void {
    if (!this.#end()) return
    const frame = Buffer.allocUnsafe(5 + message.length)
    frame[0] = 0
    frame.writeUInt32BE(message.length, 1)
    frame.set(message, 5)
    const stream = this.#stream
    try {
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true })
      stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS))
      stream.end(frame)
    } catch {
      // The session went meanwhile (closed or reset): there is no one to answer.
    }
  }

  fail(status: CallStatus): void {
    const text = percentEncoded(status.details)
    if (!this.#end()) return
    try {
      this.#stream.respond(
        {
          'grpc-status': String(status.code),
          'grpc-message': text,
          ':status': 200,
          'content-type': 'application/grpc+proto',
        },
        { endStream: true },
      )
    } catch {
      // As above.
    }
  }

  /** Marks the call answered; false if it was already, or its stream is gone. */
  #end(): boolean {
    if (this.ended) return false
    this.#ended = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    return true
  }
}
