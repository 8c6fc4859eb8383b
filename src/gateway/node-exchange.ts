/**
 * The unary exchange (exchange.ts) over node:http(s) with a keep-alive connection pool per member:
 * Node only, so it is injected by workers/gateway-node.ts and never imported by code the Worker
 * bundles (index.ts does not export it).
 *
 * Why not Web fetch under Node: Node's bundled undici turns every request body into a Web stream
 * and writes it after the headers (two or three socket writes per request), and every answer into
 * Web stream objects; here a request is one write (headers and body together, `Content-Length`),
 * and the answer's bytes are collected as they come.
 *
 * The pool: sockets are kept open between requests and reused newest first (`lifo`, so the pool
 * shrinks back to what the load needs), as many per member as there are requests under way; an
 * idle socket is closed before the member's own keep-alive timeout would close it under a request
 * (Node's agent reads the member's `Keep-Alive: timeout=` and closes a second earlier).
 *
 * Error meanings are client/attempt.ts's: `unsent` only for connect errors (neverSent), so a
 * write on a reused socket that breaks before its answer is `lost`, never sent again.
 *
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { neverSent } from '../client/index.ts'
import { HOP_HEADERS, type Exchange, type UnaryOutcome, type UnaryRequest } from './exchange.ts'

export interface NodeExchangeOptions {
  /**
   * Open connections per member, at most (default: no limit, as with fetch). A limit queues
   * requests in the agent behind the ones under way, and blocking calls (lock, campaign) hold
   * theirs until another client's call releases them: a limit could starve that very call.
   */
  readonly maxSockets?: number
  /** Idle connections kept per member (default 256). */
  readonly maxFreeSockets?: number
}

export interface NodeExchange {
  readonly exchange: Exchange
  /** Closes every pooled connection (the gateway is stopping). */
  close(): void
}

interface Target {
  readonly secure: boolean
  readonly hostname: string
  readonly port: number
  /** The endpoint's own path (normally empty), put before each request's path. */
  readonly base: string
}

const CANCELLED: UnaryOutcome = { kind: 'cancelled' }

export function nodeExchange(options: NodeExchangeOptions = {}): NodeExchange {
  const pool = {
    keepAlive: true,
    scheduling: 'lifo' as const,
    maxSockets: options.maxSockets ?? Infinity,
    maxFreeSockets: options.maxFreeSockets ?? 256,
  }
  const http = new HttpAgent(pool)
  const https = new HttpsAgent(pool)
  const targets = new Map<string, Target>()

  const targetOf = (endpoint: string): Target => {
    let t = targets.get(endpoint)
    if (t === undefined) {
      const url = new URL(endpoint)
      const secure = url.protocol === 'https:'
      t = {
        secure,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
        base: url.pathname.replace(/\/+$/, ''),
      }
      targets.set(endpoint, t)
    }
    return t
  }

  const exchange: Exchange = (request: UnaryRequest) =>
    new Promise<UnaryOutcome>((resolve) => {
      const { signal } = request
      if (signal.aborted) return resolve(CANCELLED)
      const target = targetOf(request.endpoint)
      const headers: Record<string, string | number> = { ...request.headers }
      const body = request.body
      if (body !== undefined) headers['content-length'] = body.byteLength
      const init: RequestOptions = {
        agent: target.secure ? https : http,
        hostname: target.hostname,
        port: target.port,
        path: target.base + request.path,
        method: request.method,
        headers,
      }
      let done = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = (outcome: UnaryOutcome): void => {
        if (done) return
        done = true
        if (timer !== undefined) clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        resolve(outcome)
      }
      const fail = (error: unknown): void =>
        finish(neverSent(error) ? { kind: 'unsent', error } : { kind: 'lost', timedOut: false, error })
      const req = (target.secure ? httpsRequest : httpRequest)(init, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        let length = 0
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk)
          length += chunk.length
        })
        res.on('end', () => {
          const answerHeaders: Record<string, string> = {}
          const raw = res.rawHeaders
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const name = (raw[i] as string).toLowerCase()
            if (HOP_HEADERS.has(name)) continue
            const value = raw[i + 1] as string
            const before = answerHeaders[name]
            answerHeaders[name] = before === undefined ? value : `${before}, ${value}`
          }
          const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)
          finish({ kind: 'answered', answer: { status: res.statusCode ?? 0, headers: answerHeaders, body: bytes } })
        })
        res.on('error', fail)
        // A body cut off by the member's side (its process died): no 'end' ever comes.
        res.on('close', () => {
          if (!res.complete) fail(new Error('the member closed the connection before its answer ended'))
        })
      })
      req.on('error', fail)
      const onAbort = (): void => {
        finish(CANCELLED)
        req.destroy()
      }
      signal.addEventListener('abort', onAbort)
      if (request.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const error = new Error(`no answer within ${request.timeoutMs} ms`)
          finish({ kind: 'lost', timedOut: true, error })
          req.destroy(error)
        }, Math.max(0, request.timeoutMs))
      }
      req.end(body)
    })

  return {
    exchange,
    close() {
      http.destroy()
      https.destroy()
    },
  }
}
