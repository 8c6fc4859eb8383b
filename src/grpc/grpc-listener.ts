/**
 * One port for both protocols, as etcd's client port: a connection that opens with HTTP/2's
 * client preface (`PRI * HTTP/2.0…`, which gRPC clients send first) goes to the gRPC front,
 * anything else to the HTTP/1.1 server. The first bytes are read, then put back into the socket
 * for HTTP/1.1; for HTTP/2 the first request is read too (startHttp2), and the connection goes
 * to Node's HTTP/2 server as it is, or through a stream that mends its requests (withHead).
 *
 * With TLS the same happens on the decrypted connection. ALPN (RFC 7301) is answered so that both
 * kinds of client get what they need: a client that offers HTTP/1.1 gets it (curl and browsers
 * offer h2 too and would otherwise get HTTP/2, which the JSON side does not serve); one that
 * offers only h2 (gRPC clients: grpc-go insists on it) gets h2.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createServer, type Server, type Socket } from 'node:net'
import type { Server as HttpServer } from 'node:http'
import { Duplex } from 'node:stream'
import { createServer as createTlsServer, TLSSocket, type TlsOptions } from 'node:tls'
import { AuthorityMend } from './authority-mend.ts'
import { ConnectionStart } from './connection-start.ts'
import { EMPTY_SETTINGS } from './h2-frames.ts'
import type { GrpcFront } from './grpc-front.ts'

/** The start of HTTP/2's preface; no HTTP/1.1 method is `PRI`. */
const PREFACE_START = Buffer.from('PRI ')

/** How long a client may take to send a request's headers (node:http's headersTimeout). */
const HEADERS_MS = 10_000

/** A connection that has not sent its first four bytes by then is closed (as headersTimeout would). */
const FIRST_BYTES_MS = HEADERS_MS

/** How long an HTTP/2 client may wait before its first request and still be served natively (startHttp2). */
const FIRST_REQUEST_MS = 1000

/**
 * The connection (a TLSSocket with TLS) whose gRPC bytes are being handled through withHead's
 * stream. grpc-js sees such a connection through that stream, which has no address or
 * certificate, so everything that runs on its data (grpc-js's handlers included) runs inside
 * this store. (A call on a connection handed over as itself learns it from grpc-js.)
 */
const connectionSocket = new AsyncLocalStorage<Socket>()

/** The connection of the client whose gRPC call is being handled (its address, its certificate), if known. */
export function grpcClientSocket(): Socket | undefined {
  return connectionSocket.getStore()
}

/**
 * HTTP/1.1 whenever the client offers it, else h2 (see the module's comment). A client offering
 * neither is refused at the handshake (`no_application_protocol`, as Go's server does); one that
 * offers nothing by ALPN is served, its first bytes telling the protocol.
 */
export function chooseAlpn({ protocols }: { protocols: readonly string[] }): string | undefined {
  if (protocols.includes('http/1.1')) return 'http/1.1'
  return protocols.includes('h2') ? 'h2' : undefined
}

/**
 * node:http's timeouts as etcd's: none for a whole request (watch and keepalive bodies stay open
 * for as long as the stream lives, forwarded ones too; Node's default cut them after 5 minutes),
 * none for an idle kept-alive connection (Node's 5 s raced pooled clients: a request sent as the
 * server closed was lost), 10 s for a request's headers.
 */
export function useEtcdTimeouts(http: HttpServer): void {
  http.requestTimeout = 0
  http.keepAliveTimeout = 0
  http.headersTimeout = HEADERS_MS
}

export interface SharedPort {
  readonly server: Server
  /** Stops listening and destroys every connection it took (both protocols). */
  close(callback: () => void): void
}

/** `loadGrpc` is called once, at the first gRPC connection; `tls`: serve over TLS with these options. */
export function sharedPort(http: HttpServer, loadGrpc: () => Promise<GrpcFront>, tls: TlsOptions | null = null): SharedPort {
  const sockets = new Set<Socket>()
  let grpc: Promise<GrpcFront> | null = null
  const serve = (socket: Socket): void => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    let head = Buffer.alloc(0)
    const silent = setTimeout(() => socket.destroy(), FIRST_BYTES_MS)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      if (head.length < PREFACE_START.length && PREFACE_START.subarray(0, head.length).equals(head)) return
      clearTimeout(silent)
      socket.removeListener('data', onData)
      if (head.subarray(0, PREFACE_START.length).equals(PREFACE_START)) {
        // Only a stream needs the store (connectionSocket): once used, it costs every promise of
        // the process a hook.
        startHttp2(socket, head, (connection) =>
          (grpc ??= loadGrpc()).then(
            (front) => (connection === socket ? front.inject(connection) : connectionSocket.run(socket, () => front.inject(connection))),
            () => socket.destroy(),
          ),
        )
      } else {
        socket.pause()
        socket.unshift(head)
        http.emit('connection', socket)
        socket.resume()
      }
    }
    socket.on('data', onData)
    socket.on('error', () => socket.destroy())
    socket.once('close', () => clearTimeout(silent))
  }
  // noDelay: an answer goes out as several small writes (headers, data, trailers); with Nagle on, the
  // last waits for the client's delayed ACK (~40 ms per call). node:http sets it for its own sockets.
  const server =
    tls === null
      ? createServer({ noDelay: true }, serve)
      : createTlsServer({ ...tls, noDelay: true, ALPNCallback: chooseAlpn }, serve)
  useEtcdTimeouts(http)
  // node:http arms its timeouts when told it listens.
  server.on('listening', () => http.emit('listening'))
  return {
    server,
    close(callback) {
      server.close(() => callback())
      http.close()
      for (const s of sockets) s.destroy()
      void grpc?.then((front) => front.close(), () => undefined)
    },
  }
}

/**
 * Reads the connection's start (connection-start.ts) and hands it to `toGrpc`: the socket itself,
 * with what was read put back in front (Node's HTTP/2 session reads that first), or the mending
 * stream of withHead. A TLS connection goes natively only with ALPN's h2 (Node's HTTP/2 server
 * refuses the others). Nothing is handed over while the port's SETTINGS are being written. A
 * client that has sent no request FIRST_REQUEST_MS after the handshake takes the mending stream;
 * one that has not acknowledged the port's SETTINGS by FIRST_BYTES_MS, or sent too much before
 * doing so, is closed.
 */
function startHttp2(socket: Socket, head: Buffer, toGrpc: (connection: Duplex) => void): void {
  const start = new ConnectionStart()
  const began = performance.now()
  let timer: NodeJS.Timeout | undefined
  /** The port's SETTINGS are being written: nothing may write to the socket natively meanwhile (TLSWrap takes one write at a time). */
  let writing = false
  const handOver = (native: boolean): void => {
    clearTimeout(timer)
    socket.removeListener('data', onData)
    socket.pause()
    if (native) {
      socket.unshift(start.bytes())
      toGrpc(socket)
    } else {
      toGrpc(withHead(socket, start.bytes()))
    }
  }
  const decide = (): void => {
    if (writing || socket.destroyed) return
    const route = start.route
    if (route === 'refuse') return void socket.destroy()
    if (route !== 'wait') return handOver(route === 'native' && (!(socket instanceof TLSSocket) || socket.alpnProtocol === 'h2'))
    if (!start.wantsSettings) return
    writing = true
    start.settingsSent()
    socket.write(EMPTY_SETTINGS, () => {
      writing = false
      decide()
    })
  }
  const onData = (chunk: Buffer): void => {
    start.push(chunk)
    decide()
  }
  const waited = (): void => {
    if (!start.ackDue && !writing) return handOver(false)
    if (performance.now() - began >= FIRST_BYTES_MS) return void socket.destroy()
    timer = setTimeout(waited, FIRST_REQUEST_MS)
  }
  timer = setTimeout(waited, FIRST_REQUEST_MS)
  socket.once('close', () => clearTimeout(timer))
  socket.on('data', onData)
  onData(head)
}

/**
 * The socket as a stream that first gives `head` (the bytes already read from it), for the
 * connections whose requests need mending: what the client sends passes through
 * authority-mend.ts on its way (Node runs an HTTP/2 session over any Duplex, as a JS stream).
 */
function withHead(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    // HTTP/2 hands its frames over corked, several at a time: one write of them all (one
    // syscall) instead of one per frame.
    writev: (chunks: { chunk: Buffer }[], done) => {
      socket.cork()
      chunks.forEach(({ chunk }, i) => socket.write(chunk, i === chunks.length - 1 ? done : undefined))
      socket.uncork()
    },
    final: (done) => {
      socket.end()
      done()
    },
    destroy: (err, done) => {
      socket.destroy()
      done(err)
    },
  })
  const mend = new AuthorityMend()
  /** Hands `chunk` on (authority-mend.ts); false when the stream wants no more for now. */
  const pass = (chunk: Buffer): boolean => {
    let more = true
    try {
      for (const part of mend.push(chunk)) more = stream.push(part)
    } catch {
      socket.destroy()
    }
    return more
  }
  pass(head)
  socket.on('data', (chunk: Buffer) => {
    if (!connectionSocket.run(socket, () => pass(chunk))) socket.pause()
  })
  socket.once('end', () => stream.push(null))
  socket.once('close', () => stream.destroy())
  return stream
}
