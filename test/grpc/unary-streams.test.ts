/**
 * The gRPC port's unary calls served off their HTTP/2 streams (src/grpc/unary-streams.ts) answer
 * as grpc-js does. Each case goes to one front twice: as a plain call, which unary-streams.ts
 * serves, and with `grpc-encoding: gzip` over uncompressed messages, which it leaves to grpc-js
 * (that reads such messages as identity ones): statuses, texts, response headers, trailers,
 * answers, the metadata the call hands on and when its cancel signal fires must all agree. The
 * routing itself is checked on a bare HTTP/2 server, with a stand-in for grpc-js's listener.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, constants, createServer as createH2Server, type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import { createServer, type Server } from 'node:net'
import { decodeResponse, errorResponse, kvCompaction, kvDeleteRange, kvPut, kvRange, MAX_HELD_REQUEST_BYTES, REQUIRE_LEADER_HEADER, type AnyEndpoint } from '../../src/api/index.ts'
import { encodeProto } from '../../src/api/proto-wire.ts'
import { createGrpcFront, type CallCancel, type CallHeaders, type DirectCall, type GrpcFront } from '../../src/grpc/grpc-front.ts'
import { answerUnaryStreams } from '../../src/grpc/unary-streams.ts'
import { EtcdError } from '../../src/mvcc/index.ts'

const utf8 = new TextEncoder()

/** A gRPC message: flag 0, big-endian length, the bytes. */
function message(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + bytes.length)
  out.writeUInt32BE(bytes.length, 1)
  out.set(bytes, 5)
  return out
}

function putRequest(key: string, lease = 0n): Buffer {
  return message(encodeProto(kvPut.request, { key: utf8.encode(key), value: utf8.encode('v'), lease } as never))
}

/** `p`, or a failure naming `what` if it has not settled within 5 s. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within 5 s`)), 5000)))
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

interface Answer {
  readonly headers: Record<string, unknown>
  readonly data: string
  readonly trailers: Record<string, unknown>
}

interface Seen {
  readonly headers: Record<string, string | null>
  /** Resolves when the call's cancel signal fires. */
  readonly cancelled: Promise<void>
  readonly cancel: CallCancel
  /** True when unary-streams.ts served the call (its cancel is a StreamCall), false when grpc-js did. */
  readonly offStream: boolean
}

describe('gRPC unary calls served off their streams', { timeout: 60_000 }, () => {
  let front: GrpcFront
  let port: Server
  let session: ClientHttp2Session
  /** What the direct call saw, by the request's key. */
  const seen = new Map<string, Seen>()

  const direct: DirectCall = (ep, request, headers: CallHeaders, _client, cancel) => {
    const key = new TextDecoder().decode((request as { key?: Uint8Array }).key ?? new Uint8Array(0))
    const names = ['grpc-metadata-token', 'authorization', REQUIRE_LEADER_HEADER]
    const cancelled = key.startsWith('late') ? new Promise<void>(() => undefined) : new Promise<void>((resolve) => cancel.signal.addEventListener('abort', () => resolve()))
    const offStream = Object.getPrototypeOf(cancel)?.constructor?.name === 'StreamCall'
    seen.set(`${ep.name} ${key}`, { headers: Object.fromEntries(names.map((n) => [n, headers.get(n)])), cancelled, cancel, offStream })
    if (ep === (kvRange as AnyEndpoint)) return Promise.resolve(decodeResponse(kvRange, '{"header":{"revision":"5"},"count":"1"}'))
    if (ep !== (kvPut as AnyEndpoint)) return null
    const lease = (request as { lease: bigint }).lease
    if (lease === 999n) return Promise.reject(new EtcdError(5, 'etcdserver: requested lease not found'))
    if (lease === 998n) return Promise.reject(new EtcdError(3, 'bad ümlaut, 100% "quoted"\nnewline'))
    if (key === 'hang') return new Promise(() => undefined)
    if (key === 'unencodable') return Promise.resolve({ header: { revision: 'not a number' } })
    if (key === 'throws') throw new Error('a bug')
    return Promise.resolve(decodeResponse(kvPut, '{"header":{"revision":"6"}}'))
  }

  /** The JSON API behind the calls `direct` leaves (delete range answers; compaction fails; anything else is unreachable). */
  const api = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname
    if (path === kvDeleteRange.path) return new Response('{"header":{"revision":"7"},"deleted":"1"}')
    if (path === kvCompaction.path) {
      const r = errorResponse(new EtcdError(11, 'etcdserver: mvcc: required revision has been compacted'))
      return new Response(r.body, { status: r.status })
    }
    throw new Error('the app is gone')
  }

  before(async () => {
    front = await createGrpcFront(api, direct)
    port = createServer((socket) => front.inject(socket))
    await new Promise<void>((resolve) => port.listen(0, '127.0.0.1', resolve))
    const { port: p } = port.address() as { port: number }
    session = connect(`http://127.0.0.1:${p}`)
  })

  after(async () => {
    session.close()
    front.close()
    await new Promise((resolve) => port.close(resolve))
  })

  /**
   * One call: `body` sent (a list: one write per turn, so one DATA frame each), then the stream
   * ended (or reset `resetAfterMs` later).
   */
  function send(path: string, body: Buffer | Buffer[], extra: Record<string, string>, resetAfterMs?: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra })
      let headers: Record<string, unknown> = {}
      let trailers: Record<string, unknown> = {}
      const chunks: Buffer[] = []
      req.on('response', (h) => (headers = { ...h }))
      req.on('trailers', (t) => (trailers = { ...t }))
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('error', reject)
      req.on('close', () => resolve({ headers: withoutDate(headers), data: Buffer.concat(chunks).toString('hex'), trailers }))
      const parts = Array.isArray(body) ? body : [body]
      const write = (i: number): void => {
        if (i < parts.length) {
          req.write(parts[i])
          setImmediate(() => write(i + 1))
        } else if (resetAfterMs === undefined) req.end()
        else setTimeout(() => req.close(constants.NGHTTP2_CANCEL), resetAfterMs)
      }
      write(0)
    })
  }

  function withoutDate(h: Record<string, unknown>): Record<string, unknown> {
    const { date: _date, ...rest } = h
    return rest
  }

  /** The call sent as a plain one and as one grpc-js takes: both answers, which must be equal. */
  async function both(path: string, body: Buffer | Buffer[], extra: Record<string, string> = {}): Promise<Answer> {
    const fast = await send(path, body, extra)
    const grpcJs = await send(path, body, { ...extra, 'grpc-encoding': 'gzip' })
    assert.deepEqual(fast, grpcJs, `${path}: the answer differs from grpc-js's`)
    return fast
  }

  const status = (a: Answer): string => String(a.trailers['grpc-status'] ?? a.headers['grpc-status'])
  const text = (a: Answer): string => decodeURI(String(a.trailers['grpc-message'] ?? a.headers['grpc-message']))

  test('answers, statuses and texts: the direct call, the app, their failures', async () => {
    const rangeOf = (key: string): Buffer => message(encodeProto(kvRange.request, { key: utf8.encode(key) } as never))
    const range = await send('/etcdserverpb.KV/Range', rangeOf('a'), {})
    const fast = seen.get('kv.range a') as Seen
    assert.deepEqual(await send('/etcdserverpb.KV/Range', rangeOf('a'), { 'grpc-encoding': 'gzip' }), range)
    const grpcJs = seen.get('kv.range a') as Seen
    assert.deepEqual([fast.offStream, grpcJs.offStream], [true, false], 'the plain call is served off its stream, the other by grpc-js')
    assert.equal(status(range), '0')
    assert.equal(text(range), 'OK')
    assert.notEqual(range.data, '')
    // An answered call is not cancelled: not when its stream closes, not when its signal is read after.
    await new Promise((resolve) => setTimeout(resolve, 50))
    for (const s of [fast, grpcJs]) {
      assert.equal(await Promise.race([s.cancelled.then(() => 'cancelled'), 'not']), 'not')
      assert.equal(s.cancel.signal.aborted, false)
    }
    for (const extra of [{}, { 'grpc-encoding': 'gzip' }] as Array<Record<string, string>>) {
      assert.equal(status(await send('/etcdserverpb.KV/Range', rangeOf('late'), extra)), '0')
      assert.equal((seen.get('kv.range late') as Seen).cancel.signal.aborted, false, 'a signal first read after the answer')
    }
    const split = await both('/etcdserverpb.KV/Range', [...rangeOf('split')].map((b) => Buffer.from([b])))
    assert.deepEqual(split.data, range.data, 'a message sent a byte per frame')
    const unencodable = await both('/etcdserverpb.KV/Put', putRequest('unencodable'))
    assert.deepEqual([status(unencodable), text(unencodable)], ['13', 'Error serializing response'])
    const thrown = await both('/etcdserverpb.KV/Put', putRequest('throws'))
    assert.deepEqual([status(thrown), text(thrown)], ['2', 'Unknown error'])
    assert.equal(status(await both('/etcdserverpb.KV/Put', putRequest('p', 999n))), '5')
    const odd = await both('/etcdserverpb.KV/Put', putRequest('p', 998n))
    assert.equal(text(odd), 'bad ümlaut, 100% "quoted"\nnewline')
    assert.equal(status(await both('/etcdserverpb.KV/DeleteRange', message(encodeProto(kvDeleteRange.request, { key: utf8.encode('d') } as never)))), '0')
    const compacted = await both('/etcdserverpb.KV/Compact', message(encodeProto(kvCompaction.request, { revision: 3n } as never)))
    assert.deepEqual([status(compacted), text(compacted)], ['11', 'etcdserver: mvcc: required revision has been compacted'])
    const gone = await both('/etcdserverpb.Maintenance/Status', message(new Uint8Array(0)))
    assert.deepEqual([status(gone), text(gone)], ['14', 'Error: the app is gone'])
  })

  test('malformed requests: no message, two, one too large, one that does not decode, trailing bytes', async () => {
    const path = '/etcdserverpb.KV/Put'
    assert.match(text(await both(path, Buffer.alloc(0))), /^Received no request message/)
    assert.match(text(await both(path, Buffer.concat([putRequest('a'), putRequest('b')]))), /^Received a second request message/)
    const undecodable = message(Buffer.from([0xff, 0xff, 0xff]))
    // A message that does not decode is a message: in a pair, the pair is what is refused.
    for (const pair of [[putRequest('a'), undecodable], [undecodable, putRequest('a')]]) {
      assert.match(text(await both(path, pair)), /^Received a second request message/, 'a pair with a message that does not decode')
    }
    const large = Buffer.alloc(5)
    large.writeUInt32BE(MAX_HELD_REQUEST_BYTES + 1, 1)
    const refused = await both(path, large)
    assert.deepEqual([status(refused), text(refused)], ['8', `Received message larger than max (${MAX_HELD_REQUEST_BYTES + 1} vs ${MAX_HELD_REQUEST_BYTES})`])
    const garbage = await both(path, message(Buffer.from([0xff, 0xff, 0xff])))
    // etcd's words for it (grpc-js's own would be "Error deserializing request"), on both paths.
    assert.deepEqual([status(garbage), text(garbage)], ['13', 'grpc: error unmarshalling request: unexpected EOF'])
    assert.equal(status(await both(path, Buffer.concat([putRequest('t'), Buffer.from([0, 0, 0])]))), '0')
  })

  test('the metadata a call hands on: token, authorization, require-leader, as sent', async () => {
    for (const [extra, token] of [
      [{ token: 'tok', authorization: 'Bearer x', hasleader: 'true' }, 'tok'],
      [{ token: 'first, second' }, 'first, second'],
      [{ token: 'caf\u00e9' }, null],
      [{ token: 'a\tb' }, null],
    ] as const) {
      await send('/etcdserverpb.KV/Range', message(encodeProto(kvRange.request, { key: utf8.encode('m1') } as never)), extra)
      const fast = seen.get('kv.range m1')?.headers
      await send('/etcdserverpb.KV/Range', message(encodeProto(kvRange.request, { key: utf8.encode('m1') } as never)), { ...extra, 'grpc-encoding': 'gzip' })
      assert.deepEqual(fast, seen.get('kv.range m1')?.headers)
      assert.equal(fast?.['grpc-metadata-token'], token)
    }
  })

  test('a deadline that passes ends the call DEADLINE_EXCEEDED and fires its cancel signal; so does a client reset', async () => {
    for (const encoding of [{}, { 'grpc-encoding': 'gzip' }] as Array<Record<string, string>>) {
      const late = await send('/etcdserverpb.KV/Put', putRequest('hang'), { ...encoding, 'grpc-timeout': '100m' })
      assert.deepEqual([status(late), text(late)], ['4', 'Deadline exceeded'])
      await within((seen.get('kv.put hang') as Seen).cancelled, 'the cancel signal at the deadline')
      seen.delete('kv.put hang')
      await send('/etcdserverpb.KV/Put', putRequest('hang'), encoding, 100).catch(() => undefined)
      await within((seen.get('kv.put hang') as Seen).cancelled, 'the cancel signal on a reset')
      seen.delete('kv.put hang')
    }
  })
})

describe('which streams unary-streams.ts leaves to grpc-js', () => {
  test('only plain POSTs of known unary methods with gRPC content are served, and calls of unknown methods; the rest reach the listener it replaced', async () => {
    const server = createH2Server()
    const reached: string[] = []
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      reached.push(String(headers['x-case']))
      stream.respond({ ':status': 200 }, { endStream: true })
    })
    answerUnaryStreams(server, {
      methods: new Map([['/etcdserverpb.KV/Range', kvRange as AnyEndpoint]]),
      known: new Set(['/etcdserverpb.KV/Range', '/etcdserverpb.Watch/Watch']),
      run: async () => decodeResponse(kvRange, '{"header":{"revision":"1"}}'),
      clientOf: () => undefined,
      maxMessageBytes: 1024,
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const session = connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
    try {
      const cases: Array<[string, Record<string, string>]> = [
        ['plain', {}],
        ['identity', { 'grpc-encoding': 'identity' }],
        ['timeout', { 'grpc-timeout': '5S' }],
        ['unknown method', { ':path': '/etcdserverpb.KV/Nope' }],
        ['unknown service', { ':path': '/etcdserverpb.Nope/Range' }],
        ['malformed name', { ':path': '/Range' }],
        ['stream method', { ':path': '/etcdserverpb.Watch/Watch' }],
        ['GET', { ':method': 'GET' }],
        ['json', { 'content-type': 'application/json' }],
        ['gzip', { 'grpc-encoding': 'gzip' }],
        ['bad timeout', { 'grpc-timeout': 'soon' }],
      ]
      const unimplemented: Record<string, string> = {}
      for (const [name, extra] of cases) {
        await new Promise<void>((resolve, reject) => {
          const headers = { ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', 'x-case': name, ...extra }
          const req = session.request(headers, { endStream: headers[':method'] === 'GET' })
          req.on('error', reject)
          req.on('response', (h) => {
            if (h['grpc-status'] === '12') unimplemented[name] = decodeURIComponent(String(h['grpc-message']))
          })
          req.on('close', () => resolve())
          req.resume()
          if (headers[':method'] !== 'GET') req.end(message(encodeProto(kvRange.request, { key: utf8.encode('k') } as never)))
        })
      }
      assert.deepEqual(reached, ['stream method', 'GET', 'json', 'gzip', 'bad timeout'])
      // grpc-go's words, as etcd answers.
      assert.deepEqual(unimplemented, {
        'unknown method': 'unknown method Nope for service etcdserverpb.KV',
        'unknown service': 'unknown service etcdserverpb.Nope',
        'malformed name': 'malformed method name: "/Range"',
      })
    } finally {
      session.close()
      await new Promise((resolve) => server.close(resolve))
    }
    assert.throws(() => answerUnaryStreams(createH2Server(), { methods: new Map(), known: new Set(), run: async () => null, clientOf: () => undefined, maxMessageBytes: 1 }), /only stream listener/)
  })
})
