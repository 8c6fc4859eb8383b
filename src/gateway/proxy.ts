/**
 * Carries one API request to the cluster and decides, after each failed attempt, whether sending
 * it again is safe. The rules, in order:
 *
 * - never reached a member (`unsent`): try the next member, any request;
 * - a 503 saying the request was not proposed (no leader, not leader, …: the client's
 *   retry-rules.ts): forget the leader, back off, refresh, and try again until the deadline;
 * - any other failure of an idempotent request (read, watch): try again elsewhere;
 * - a write that may have reached a member and got no answer is never sent again: the outcome is
 *   unknown, and the caller gets etcd's `request timed out` (or its `connection lost` variant).
 *
 * When no member answers before the deadline: 503 `etcdserver: unhealthy cluster`.
 *
 * @module
 */
import { errorFromBody } from '../api/index.ts'
import { attempt, retryable, sleep, within } from '../client/index.ts'
import type { EtcdError } from '../mvcc/errors.ts'
import { etcdErrorResponse, GatewayErrors } from './answers.ts'
import type { MemberDirectory } from './members.ts'
import { wholeLines } from './line-stream.ts'
import { ReplayableBody } from './replayable-body.ts'
import type { Route } from './routes.ts'

export interface ProxySettings {
  readonly directory: MemberDirectory
  readonly fetch: typeof fetch
  /** Milliseconds from arrival to the answer (the status line, for streams), retries included. */
  readonly requestTimeoutMs: number
  /** First pause between two rounds of attempts; doubles each round, up to 16× this. */
  readonly retryBackoffMs: number
}

export interface ProxyRequest {
  readonly method: 'POST' | 'GET'
  /** Path and query on the member, e.g. `/v3/kv/put`. */
  readonly url: string
  readonly route: Route
  /** Headers for the member (auth token, content type). */
  readonly headers: Headers
  /** Unary: the bytes (none for a GET); streaming: the caller's body, replayable until answered. */
  readonly body: Uint8Array | ReplayableBody | undefined
  /** The caller's signal: aborts the attempts and a streamed answer when the caller goes away. */
  readonly signal: AbortSignal
  /** The one endpoint the caller asked for, if any: no other member is tried. */
  readonly member: string | undefined
}

export async function proxy(request: ProxyRequest, settings: ProxySettings): Promise<Response> {
  const deadline = Date.now() + settings.requestTimeoutMs
  const left = (): number => deadline - Date.now()
  let backoff = settings.retryBackoffMs
  let lastAnswer: Response | undefined
  for (;;) {
    const result = await round(request, settings, left)
    if ('final' in result) return result.final
    lastAnswer = result.retry ?? lastAnswer
    if (request.member !== undefined || left() <= 0) {
      return lastAnswer ?? etcdErrorResponse(GatewayErrors.unhealthy())
    }
    await sleep(Math.min(backoff, left()), request.signal)
    if (request.signal.aborted) return new Response(null, { status: 499 })
    backoff = Math.min(backoff * 2, settings.retryBackoffMs * 16)
    await within(settings.directory.refreshLeader(), left(), request.signal)
  }
}

/**
 * One pass over the members, each tried at most once, in the directory's order (recomputed after
 * the leader was found dead). Ends with the answer to give, or with a retryable 503 answer (or
 * nothing, if no member was reached) when another round may help.
 */
async function round(
  request: ProxyRequest,
  settings: ProxySettings,
  left: () => number,
): Promise<{ final: Response } | { retry: Response | undefined }> {
  const { route, signal, member: pinned } = request
  const directory = settings.directory
  const toLeader = pinned === undefined && route.target === 'leader'
  if (toLeader && directory.leader() === undefined) await within(directory.refreshLeader(), left(), signal)
  const tried = new Set<string>()
  const next = (): string | undefined =>
    pinned !== undefined
      ? (tried.has(pinned) ? undefined : pinned)
      : directory.candidates(route.target).find((e) => !tried.has(e))
  for (let endpoint = next(); endpoint !== undefined; endpoint = next()) {
    tried.add(endpoint)
    if (left() <= 0) return { retry: undefined }
    const body = request.body
    const outcome = await attempt({
      method: request.method,
      url: endpoint + request.url,
      headers: request.headers,
      body: body instanceof ReplayableBody ? body.stream() : body,
      streamAnswer: route.stream,
      timeoutMs: route.stream || route.blocking ? undefined : left(),
      signal,
      fetch: settings.fetch,
    })
    if (outcome.kind === 'cancelled') return { final: new Response(null, { status: 499 }) }
    if (outcome.kind === 'unsent') {
      const wasLeader = directory.leader() === endpoint
      directory.markDown(endpoint)
      if (toLeader && wasLeader) await within(directory.refreshLeader(), left(), signal)
      continue
    }
    if (outcome.kind === 'lost') {
      if (outcome.timedOut) return { final: etcdErrorResponse(GatewayErrors.timeout()) }
      directory.markDown(endpoint)
      if (route.idempotent) continue
      return { final: etcdErrorResponse(GatewayErrors.connectionLost()) }
    }
    directory.markUp(endpoint)
    const answer = await readUnavailable(passOn(outcome.response, route.stream))
    if (answer.error === undefined || !retryable(answer.error, route.idempotent)) {
      if (body instanceof ReplayableBody) body.settle()
      return { final: answer.response }
    }
    directory.forgetLeader()
    return { retry: answer.response }
  }
  return { retry: undefined }
}

/** Response headers that describe one hop, not the message; the runtime sets its own. */
const HOP_HEADERS = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'trailer',
  'upgrade',
  'proxy-authenticate',
]

/**
 * A member's answer as the gateway's own: same status and body, without the hop-by-hop headers;
 * a stream is passed on in whole lines (line-stream.ts), marked `Content-Encoding: identity` so
 * that no layer in front compresses it: Cloudflare's edge (and wrangler dev, which mimics it)
 * gzips application/json answers for clients that accept gzip, and gzip holds back a watch's
 * small messages until its window fills. (The member's own Content-Encoding is a hop header:
 * fetch has already decoded the body.)
 */
function passOn(response: Response, stream: boolean): Response {
  const headers = new Headers(response.headers)
  for (const name of HOP_HEADERS) headers.delete(name)
  const init = { status: response.status, headers }
  if (!stream || response.body === null) return new Response(response.body, init)
  headers.set('content-encoding', 'identity')
  return new Response(wholeLines(response.body), init)
}

/**
 * Reads a 503 answer's body (an etcd error: short, and it ends) to learn whether the request was
 * proposed; the answer is rebuilt so it can still be passed on. Any other answer is untouched.
 */
async function readUnavailable(
  response: Response,
): Promise<{ response: Response; error: EtcdError | undefined }> {
  if (response.status !== 503) return { response, error: undefined }
  const text = await response.text().catch(() => '')
  const rebuilt = new Response(text, { status: response.status, headers: response.headers })
  return { response: rebuilt, error: errorFromBody(response.status, text) }
}
