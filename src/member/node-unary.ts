/**
 * The member's unary calls served straight from node:http (Node only; workers/member.ts wraps
 * the Hono app's request listener with it). A POST to a unary API endpoint that this member can
 * answer itself (app.ts `servesUnary`: not a stream, not forwarded to the leader, not a call that
 * waits on the client's connection) and that has no deadline (no `Grpc-Timeout`) goes
 *
 *   body bytes (capped, timed) ──▶ serveUnary (decode, auth, run, encode) ──▶ one write
 *                                                        (with the turn's other answers: Outbox)
 *
 * skipping what the Hono path builds per request and this one does not need: a Web Request, a
 * Web Response, and a chunked answer. Everything else goes to the Hono listener untouched. Both
 * paths give the same answers: serveUnary and the error bodies are shared, the body bounds are
 * http-body.ts's (test/member/node-unary.test.ts compares them).
 *
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import {
  ApiErrors, GRPC_TIMEOUT_HEADER, LEADER_HINT_HEADER, Outbox, cleanPathRedirect, errorResponse, findEndpoint, type AnyEndpoint, type ApiResponse,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { callError, leaderOnly, serveUnary, servesUnary, type RequestHook } from './app.ts'
import type { Connection } from './auth-gate.ts'
import { settleForwardedClaim } from './forwarded-user.ts'
import { BODY_TIMEOUT_MS, bodyCap, bodyTooLarge } from './http-body.ts'
import type { MemberContext } from './member-context.ts'
import { headerOf } from './tls.ts'

export interface NodeUnaryOptions {
  /** Who the client is (tls.ts `incomingConnection`). */
  readonly connection: (incoming: IncomingMessage) => Connection
  /** Told of every API request it answers (app.ts's hook). */
  readonly onRequest?: RequestHook
  readonly bodyTimeoutMs?: number
}

/** `next` (the Hono app's listener) with the unary calls of `m` answered first. */
export function withUnaryFastPath(m: MemberContext, next: RequestListener, options: NodeUnaryOptions): RequestListener {
  const outbox = new Outbox()
  const timeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS
  // As app.ts: a forwarding member's claim for its client's certificate user counts on leader-only calls only.
  const connectionOf = (req: IncomingMessage, path: string, ep: AnyEndpoint): Connection =>
    settleForwardedClaim(m, options.connection(req), { method: 'POST', path }, leaderOnly(ep))
  return (req, res) => {
    const url = req.url ?? ''
    const moved = cleanPathRedirect(req.method ?? 'GET', url)
    if (moved !== null) return write(res, moved, false, null)
    const query = url.indexOf('?')
    const path = query < 0 ? url : url.slice(0, query)
    const ep = req.method === 'POST' ? findEndpoint(path) : null
    // A call with a deadline goes the Hono way (app.ts), which keeps it.
    if (ep === null || !servesUnary(m, ep) || req.headers[GRPC_TIMEOUT_HEADER] !== undefined) {
      next(req, res)
      return
    }
    const start = performance.now()
    const arrivedAt = m.actor.readyCount
    const answer = (r: ApiResponse, code: GrpcCode, close = false): void => {
      const send = (): void => {
        write(res, r, close, m.actor.isLeader ? null : String(m.actor.leader))
        options.onRequest?.(ep.path, r.status, performance.now() - start, code)
      }
      // An answer out of the Ready loop is one of a burst already (see MemberActor.readyCount):
      // written now. One computed as its request arrived waits for the turn's others.
      if (m.actor.readyCount !== arrivedAt) send()
      else outbox.push(send)
    }
    const fail = (err: unknown, close = false): void => {
      const e = callError(m, ep, err)
      answer(errorResponse(e), e.code, close)
    }
    readIncoming(req, bodyCap(m.limits.maxRequestBytes), m.limits.maxRequestBytes, timeoutMs).then(
      (body) =>
        serveUnary(m, ep, body, { get: (name) => headerOf(req, name) }, connectionOf(req, path, ep)).then(
          (r) => answer(r, GrpcCode.OK),
          (err: unknown) => fail(err),
        ),
      // The body was not read to its end: answer, then close the connection.
      (err: unknown) => fail(err, true),
    )
  }
}

/**
 * The whole body of `req`, refused past `maxBytes` (gRPC's "message larger than max", as
 * http-body.ts) or when it has not fully arrived within `timeoutMs` (504 / 4).
 */
export function readIncoming(req: IncomingMessage, maxBytes: number, maxRequestBytes: number, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err: EtcdError | null): void => {
      clearTimeout(timer)
      req.removeListener('data', onData)
      req.removeListener('end', onEnd)
      if (err !== null) {
        req.pause()
        reject(err)
      } else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) {
        done(bodyTooLarge(size, maxBytes, maxRequestBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => done(null)
    const timer = setTimeout(() => done(ApiErrors.deadlineExceeded()), timeoutMs)
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', () => done(new EtcdError(GrpcCode.Canceled, 'context canceled')))
  })
}

/** Writes `r`; `leader` (this member is not the leader: the one it knows, api/leader-hint.ts) or null. */
function write(res: ServerResponse, r: ApiResponse, close: boolean, leader: string | null): void {
  if (res.destroyed || res.headersSent) return
  const headers: Record<string, string | number> = { ...r.headers, 'content-length': Buffer.byteLength(r.body) }
  if (leader !== null) headers[LEADER_HINT_HEADER] = leader
  if (close) {
    res.shouldKeepAlive = false
    res.once('finish', () => res.req.destroy())
  }
  res.writeHead(r.status, headers)
  res.end(r.body)
}
