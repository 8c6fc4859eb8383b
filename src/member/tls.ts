/**
 * TLS for a member under Node, from its {@link SecurityConfig}: the options of the TLS server
 * that serves clients and peers on the member's one port, the options its mesh dials peers with
 * (wss), a `fetch` that calls other members with the same trust and certificate, and the checks
 * the HTTP layer needs (the client certificate's CN; a peer's certificate).
 *
 *   server    cert = --cert-file (else --peer-cert-file); ca = --trusted-ca-file + --peer-trusted-ca-file;
 *             a certificate is requested with --client-cert-auth or --peer-client-cert-auth, and
 *             required at the handshake with --client-cert-auth
 *   dialling  cert = --peer-cert-file (else --cert-file); ca = --peer-trusted-ca-file (else
 *             --trusted-ca-file, else the system's); the peer's certificate is always verified
 *
 * One port serves both, so the served certificate must verify under the peers' CA too (one CA
 * for both is simplest). A peer connection with --peer-client-cert-auth must present a
 * certificate issued by the peer CA itself.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { Agent, request as httpsRequest } from 'node:https'
import type { TLSSocket, TlsOptions } from 'node:tls'
import { Readable } from 'node:stream'
import type { Context } from 'hono'
import type { PeerRoute } from '../mesh/index.ts'
import type { Connection } from './auth-gate.ts'
import { FORWARDED_HEADER } from './forward.ts'
import { readForwardedClaim } from './forwarded-user.ts'
import type { SecurityConfig } from './security-config.ts'

/** What a TLS client presents and trusts (ws and https accept these options). */
export interface DialTls {
  readonly ca?: Buffer
  readonly cert?: Buffer
  readonly key?: Buffer
}

function read(path: string): Buffer {
  return readFileSync(path)
}

/** The options of the TLS server in front of the client port (grpc-listener.ts); null for plain HTTP. */
export function serverTls(sec: SecurityConfig): TlsOptions | null {
  const served = sec.tls ?? sec.peerTls
  if (served === null) return null
  const cas = [sec.tls?.trustedCaFile, sec.peerTls?.trustedCaFile].filter((f): f is string => f !== null && f !== undefined)
  return {
    cert: read(served.certFile),
    key: read(served.keyFile),
    ...(cas.length === 0 ? {} : { ca: cas.map(read) }),
    requestCert: sec.clientCertAuth || sec.peerClientCertAuth,
    rejectUnauthorized: sec.clientCertAuth,
    minVersion: 'TLSv1.2',
  }
}

/** What this member presents and trusts when it dials another member. */
export function dialTls(sec: SecurityConfig): DialTls {
  const own = sec.peerTls ?? sec.tls
  const ca = sec.peerTls?.trustedCaFile ?? sec.tls?.trustedCaFile ?? null
  return {
    ...(ca === null ? {} : { ca: read(ca) }),
    ...(own === null ? {} : { cert: read(own.certFile), key: read(own.keyFile) }),
  }
}

function incomingOf(c: Context): IncomingMessage | null {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming ?? null
}

function socketOf(c: Context): TLSSocket | null {
  return (incomingOf(c)?.socket as TLSSocket | undefined) ?? null
}

/**
 * The client's address and, with --client-cert-auth, the CN of its verified certificate, from
 * the request as node:http has it. A request another member forwarded carries that member's
 * certificate, not the client's: its CN is ignored (the client's token travels with it), and the
 * user the forwarding member claims to have verified is handed on unverified as `forwardClaim`,
 * for app.ts to check (forwarded-user.ts).
 */
export function incomingConnection(sec: SecurityConfig): (incoming: IncomingMessage | null) => Connection {
  return (incoming) => {
    const socket = (incoming?.socket as TLSSocket | undefined) ?? null
    const address = socket?.remoteAddress ?? 'unknown'
    if (incoming === null || !sec.clientCertAuth || socket === null || socket.authorized !== true) return { address, commonName: null }
    if (incoming.headers[FORWARDED_HEADER] !== undefined) {
      const claim = readForwardedClaim({ get: (name) => headerOf(incoming, name) })
      return claim === null ? { address, commonName: null } : { address, commonName: null, forwardClaim: claim }
    }
    const cn = socket.getPeerCertificate().subject?.CN
    return { address, commonName: typeof cn === 'string' ? cn : null }
  }
}

/** {@link incomingConnection} for a request the Hono app serves. */
export function connectionOf(sec: SecurityConfig): (c: Context) => Connection {
  const of = incomingConnection(sec)
  return (c) => of(incomingOf(c))
}

/** A request header as Web Headers' get() has it (repeated ones joined by ", "), or null. */
export function headerOf(incoming: IncomingMessage, name: string): string | null {
  const value = incoming.headers[name]
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
}

/**
 * With --peer-client-cert-auth, the peer route refuses (403, before the upgrade) a connection
 * whose certificate was not issued by the peer CA; otherwise the route as it is.
 */
export function guardPeerRoute(route: PeerRoute, sec: SecurityConfig): PeerRoute {
  const caFile = sec.peerTls?.trustedCaFile ?? sec.tls?.trustedCaFile ?? null
  if (!sec.peerClientCertAuth || caFile === null) return route
  const ca = new X509Certificate(read(caFile))
  return {
    path: route.path,
    handler: async (c) => {
      const socket = socketOf(c)
      const raw = socket?.getPeerCertificate?.().raw
      const cert = raw === undefined ? null : new X509Certificate(raw)
      const issued = cert !== null && cert.checkIssued(ca) && cert.verify(ca.publicKey)
      if (socket?.authorized !== true || !issued) return c.text('peer certificate required\n', 403)
      return route.handler(c)
    },
  }
}

/**
 * `fetch` for calls to other members (forwarding to the leader, asking for the member list):
 * https URLs go through node:https with this member's certificate and CAs; others to `fetch`.
 */
export function memberFetch(tls: DialTls): typeof fetch {
  const agent = new Agent({ ...tls, keepAlive: true })
  return async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    if (url.protocol !== 'https:') return fetch(request)
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: request.method, headers: Object.fromEntries(request.headers), agent, signal: request.signal },
        (res) => {
          const headers = new Headers()
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string)
          const status = res.statusCode ?? 502
          const body = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>)
          resolve(new Response(body, { status, headers }))
        },
      )
      req.on('error', reject)
      if (request.body === null) req.end()
      else Readable.fromWeb(request.body as import('node:stream/web').ReadableStream).pipe(req)
    })
  }
}
