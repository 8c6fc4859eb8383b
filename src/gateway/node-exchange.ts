/**
 * The unary exchange (exchange.ts) over undici's connection pools (one per member, keep-alive):
 * Node only, so it is injected by workers/gateway-node.ts and never imported by code the Worker
 * bundles (index.ts does not export it).
 *
 * Why not Web fetch under Node: Node's bundled undici turns every request body into a Web stream
 * and writes it after the headers (two or three socket writes per request), and every answer into
 * Web stream objects. Why not node:http's client: its agent and ClientRequest cost about twice
 * undici's CPU per request (57 vs 27 µs measured here, keep-alive, 64 concurrent), which made it
 * the gateway's largest cost. Here a request goes out through undici's dispatcher (headers and
 * body in one write, `Content-Length`), and the answer's bytes are collected as they come.
 *
 * The pool: connections are kept open between requests (closed after a few idle seconds, or a
 * second before the member's own `Keep-Alive: timeout=` would close one under a request), one
 * request at a time on each (no pipelining: a blocking call such as a lock must not hold up the
 * calls behind it), as many per member as there are requests under way unless `maxSockets` says.
 *
 * Error meanings are client/attempt.ts's: `unsent` only for connect errors (neverSent) and for a
 * deadline that passed before the request had a connection, so a write on a reused connection
 * that breaks before its answer is `lost`, never sent again (undici never retries a POST).
 *
 * @module
 */
import { Agent, type Dispatcher } from 'undici'
import { HOP_HEADERS } from '../api/index.ts'
import { neverSent } from '../client/index.ts'
import { jsonBody, type Exchange, type UnaryOutcome, type UnaryRequest } from './exchange.ts'

export interface NodeExchangeOptions {
  /**
   * Open connections per member, at most (default: no limit, as with fetch). A limit queues
   * requests behind the ones under way, and blocking calls (lock, campaign) hold theirs until
   * another client's call releases them: a limit could starve that very call.
   */
  readonly maxSockets?: number
  /** Milliseconds an idle connection is kept (default 4,000; shorter if the member says so). */
  readonly keepAliveMs?: number
}

export interface NodeExchange {
  readonly exchange: Exchange
  /** Closes every pooled connection (the gateway is stopping). */
  close(): void
}

interface Target {
  /** `http://host:port`: undici keeps one pool per origin. */
  readonly origin: string
  /** The endpoint's own path (normally empty), put before each request's path. */
  readonly base: string
}

const CANCELLED: UnaryOutcome = { kind: 'cancelled' }

export function nodeExchange(options: NodeExchangeOptions = {}): NodeExchange {
  const agent = new Agent({
    connections: options.maxSockets ?? null,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveMs ?? 4_000,
    keepAliveTimeoutThreshold: 1_000,
    // The exchange keeps its own deadlines; a lock may wait longer than undici's 300 s (client/untimed-fetch.ts).
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  const targets = new Map<string, Target>()

  const targetOf = (endpoint: string): Target => {
    let t = targets.get(endpoint)
    if (t === undefined) {
      const url = new URL(endpoint)
      t = { origin: url.origin, base: url.pathname.replace(/\/+$/, '') }
      targets.set(endpoint, t)
    }
    return t
  }

  const exchange: Exchange = (request: UnaryRequest) =>
    new Promise<UnaryOutcome>((resolve) => {
      const { signal } = request
      if (signal.aborted) return resolve(CANCELLED)
      const target = targetOf(request.endpoint)
      let done = false
      let timer: ReturnType<typeof setTimeout> | undefined
      /** Cuts the request off once it has a connection (undici hands this over in onConnect). */
      let abortRequest: ((err: Error) => void) | null = null
      /** Why the exchange ended early (cancelled, timed out): the request is cut off with it. */
      let endedEarly: Error | null = null
      const finish = (outcome: UnaryOutcome): void => {
        if (done) return
        done = true
        if (timer !== undefined) clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        resolve(outcome)
      }
      const endEarly = (outcome: UnaryOutcome, why: Error): void => {
        finish(outcome)
        endedEarly = why
        abortRequest?.(why)
      }
      const onAbort = (): void => endEarly(CANCELLED, new Error('the caller left'))
      let status = 0
      let headers: Record<string, string> = {}
      const chunks: Buffer[] = []
      let length = 0
      const handler: Dispatcher.DispatchHandlers = {
        onConnect(abort) {
          abortRequest = abort
          if (endedEarly !== null) abort(endedEarly)
        },
        onHeaders(statusCode, raw) {
          status = statusCode
          headers = answerHeaders(raw)
          return true
        },
        onData(chunk) {
          chunks.push(chunk)
          length += chunk.length
          return true
        },
        onComplete() {
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)
          finish({ kind: 'answered', answer: { status, headers, body } })
        },
        onError(error) {
          finish(neverSent(error) ? { kind: 'unsent', error } : { kind: 'lost', timedOut: false, error })
        },
      }
      signal.addEventListener('abort', onAbort)
      if (request.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          // Before onConnect nothing was written, and undici writes nothing once this aborts it:
          // the member provably saw nothing (the request waited in the pool for a free connection,
          // or its connection was still being set up or refused).
          if (abortRequest === null) {
            const error = new Error(`no connection within ${request.timeoutMs} ms`)
            endEarly({ kind: 'unsent', error }, error)
          } else {
            const error = new Error(`no answer within ${request.timeoutMs} ms`)
            endEarly({ kind: 'lost', timedOut: true, error }, error)
          }
        }, Math.max(0, request.timeoutMs))
      }
      agent.dispatch(
        {
          origin: target.origin,
          path: target.base + request.path,
          method: request.method,
          headers: request.headers,
          body: jsonBody(request),
        },
        handler,
      )
    })

  return {
    exchange,
    close() {
      void agent.destroy()
    },
  }
}

/** An answer's raw header lines as a record, lower-case names, hop-by-hop ones left out. */
function answerHeaders(raw: readonly Buffer[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase()
    if (HOP_HEADERS.has(name)) continue
    const value = (raw[i + 1] as Buffer).toString('latin1')
    const before = out[name]
    out[name] = before === undefined ? value : `${before}, ${value}`
  }
  return out
}
