/**
 * TLS for a member under Node, from its {@link SecurityConfig}: the options of the TLS server
 * in front of each of its listeners, the options its mesh dials peers with (wss), a `fetch` that
 * calls other members with the same trust and certificate, and the checks the HTTP layer needs
 * (the client certificate's CN; a peer's certificate).
 *
 *   one port  cert = --cert-file (else --peer-cert-file); ca = --trusted-ca-file + --peer-trusted-ca-file;
 *             a certificate is requested with --client-cert-auth or --peer-client-cert-auth, and
 *             required at the handshake with --client-cert-auth
 *   dialling  cert = --peer-cert-file (else --cert-file); ca = --peer-trusted-ca-file (else
 *             --trusted-ca-file, else the system's); the peer's certificate is always verified
 *
 * On one port for both, the served certificate must verify under the peers' CA too (one CA for
 * both is simplest). With --listen-peer-urls each side has its own (see {@link serverTls}). A
 * peer connection with --peer-client-cert-auth must present a certificate issued by the peer CA
 * itself.
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

/**
 * What a listener serves: clients and peers on one port (no --listen-peer-urls), or only one of
 * them on its own port.
 */
export type ListenerRole = 'shared' | 'client' | 'peer'

/**
 * The options of the TLS server in front of a listener (grpc-listener.ts); null for plain HTTP.
 *
 *   shared  as the module doc says
 *   client  cert = --cert-file; ca = --trusted-ca-file; a certificate required with --client-cert-auth
 *   peer    cert = --peer-cert-file (else --cert-file); ca = --peer-trusted-ca-file (else
 *           --trusted-ca-file), and with --client-cert-auth --trusted-ca-file too; a certificate
 *           required with either cert-auth flag (the peer port serves forwarded calls, peer-app.ts,
 *           so with --client-cert-auth it takes no caller without a certificate either)
 */
export function serverTls(sec: SecurityConfig, role: ListenerRole): TlsOptions | null {
  const served = role === 'client' ? sec.tls : role === 'peer' ? (sec.peerTls ?? sec.tls) : (sec.tls ?? sec.peerTls)
  if (served === null) return null
  const cas =
    role === 'client' ? [sec.tls?.trustedCaFile]
    : role === 'peer' ? [sec.peerTls?.trustedCaFile ?? sec.tls?.trustedCaFile, sec.clientCertAuth ? sec.tls?.trustedCaFile : null]
    : [sec.tls?.trustedCaFile, sec.peerTls?.trustedCaFile]
  const files = [...new Set(cas.filter((f): f is string => f !== null && f !== undefined))]
  const required = role === 'client' ? sec.clientCertAuth : role === 'peer' ? sec.clientCertAuth || sec.peerClientCertAuth : sec.clientCertAuth
  return {
    cert: read(served.certFile),
    key: read(served.keyFile),
    ...(files.length === 0 ? {} : { ca: files.map(read) }),
    requestCert: role === 'shared' ? sec.clientCertAuth || sec.peerClientCertAuth : required,
    rejectUnauthorized: required,
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
 * for app.ts to check (forwarded-user.ts). On a peer port of its own (`role` 'peer') a
 * certificate is a peer's: its CN is never a user, only a forwarded claim counts.
 */
export function incomingConnection(sec: SecurityConfig, role: ListenerRole = 'shared'): (incoming: IncomingMessage | null) => Connection {
  return (incoming) => {
    const socket = (incoming?.socket as TLSSocket | undefined) ?? null
    const address = socket?.remoteAddress ?? 'unknown'
    if (incoming === null || !sec.clientCertAuth || socket === null || socket.authorized !== true) return { address, commonName: null }
    if (incoming.headers[FORWARDED_HEADER] !== undefined) {
      const claim = readForwardedClaim({ get: (name) => headerOf(incoming, name) })
      return claim === null ? { address, commonName: null } : { address, commonName: null, forwardClaim: claim }
    }
    const cn = role === 'peer' ? undefined : socket.getPeerCertificate().subject?.CN
    return { address, commonName: typeof cn === 'string' ? cn : null }
  }
}

/** {@link incomingConnection} for a request the Hono app serves. */
export function connectionOf(sec: SecurityConfig, role: ListenerRole = 'shared'): (c: Context) => Connection {
  const of = incomingConnection(sec, role)
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
