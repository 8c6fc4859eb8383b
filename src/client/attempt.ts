/**
 * One HTTP attempt at one endpoint (a member or a gateway), and what became of it:
 *
 *   answered   a status line came back (and, unless the answer is a stream, its whole body)
 *   unsent     the connection was never made (refused, DNS, unreachable): the server saw nothing
 *   lost       it may have reached the server, but no answer came (timeout, reset, body cut off)
 *   cancelled  the caller's signal fired first
 *
 * Only `unsent` is proof that a write was not proposed: the client's failover and the gateway's
 * retry rules both rest on it. Web fetch API only, so it runs under Node and on Workers alike.
 *
 * @module
 */
import { neverSent } from '../api/never-sent.ts'

export type Outcome =
  | { readonly kind: 'answered'; readonly response: Response }
  | { readonly kind: 'unsent'; readonly error: unknown }
  | { readonly kind: 'lost'; readonly timedOut: boolean; readonly error: unknown }
  | { readonly kind: 'cancelled' }

export interface AttemptInit {
  readonly method: 'POST' | 'GET'
  readonly url: string
  readonly headers: Headers
  /** Bytes, or a stream sent as it arrives (watch, keepalive). */
  readonly body: Uint8Array | ReadableStream<Uint8Array> | undefined
  /** The answer is a stream: hand it over once the status line is in, without reading it. */
  readonly streamAnswer: boolean
  /** Milliseconds left for this attempt (status line, and body unless streamed); undefined: none. */
  readonly timeoutMs: number | undefined
  /** The caller's signal: aborting it aborts the attempt and, later, a streamed response body. */
  readonly signal: AbortSignal
  readonly fetch: typeof fetch
}


/** Makes one attempt. Never throws: every failure is an {@link Outcome}. */
export async function attempt(init: AttemptInit): Promise<Outcome> {
  if (init.signal.aborted) return { kind: 'cancelled' }
  const timeout = new AbortController()
  const timer =
    init.timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(), Math.max(0, init.timeoutMs))
  const signal = AbortSignal.any([init.signal, timeout.signal])
  try {
    const res = await init.fetch(init.url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal,
      ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)
    if (init.streamAnswer) return { kind: 'answered', response: res }
    const body = await res.arrayBuffer()
    return { kind: 'answered', response: new Response(body, { status: res.status, headers: res.headers }) }
  } catch (error) {
    if (init.signal.aborted) return { kind: 'cancelled' }
    if (timeout.signal.aborted) return { kind: 'lost', timedOut: true, error }
    return neverSent(error) ? { kind: 'unsent', error } : { kind: 'lost', timedOut: false, error }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
