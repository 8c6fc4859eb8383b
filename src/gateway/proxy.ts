/**
 * Carries one API request to the cluster and decides, after each failed attempt, whether sending
 * it again is safe. The rules, in order:
 *
 * - never reached a member (`unsent`): try the next member, any request;
 * - a 503 saying the request was not proposed (no leader, not leader, …: the client's
 *   retry-rules.ts): forget the leader, back off, refresh, and try again until the deadline;
 * - any other failure of an idempotent request (read, watch): try again elsewhere;
 * - a write that may have reached a member and got no answer is never sent again: the outcome is
 *   unknown, and the caller gets etcd's `request timed out` (or its `connection lost` variant);
 * - a member that gave no answer in time is marked down: a hung leader is passed over from the
 *   next call on, which probes for the new one.
 *
 * When no member answers before the deadline: 503 `etcdserver: unhealthy cluster`.
 *
 * The rules are written once ({@link carry}) for two carriers: {@link proxyUnary} for unary calls
 * (plain bytes through the injected {@link Exchange}: the body passes through untouched, and only
 * a 503's body is read) and {@link proxy} for streams (Web fetch and streams, passed on in whole
 * lines).
 *
 * @module
 */
import { errorFromBody, HOP_HEADERS, LEADER_HINT_HEADER } from '../api/index.ts'
import { attempt, Deadline, refusedByLearner, retryable, sleep, within } from '../client/index.ts'
import type { EtcdError } from '../mvcc/errors.ts'
import { etcdErrorAnswer, etcdErrorResponse, GatewayErrors, type GatewayAnswer } from './answers.ts'
import type { Exchange, ProtobufCall } from './exchange.ts'
import type { MemberDirectory } from './members.ts'
import { wholeLines } from './line-stream.ts'
import { ReplayableBody } from './replayable-body.ts'
import type { Route } from './routes.ts'

export interface ProxySettings {
  readonly directory: MemberDirectory
  /** Streams go through fetch. */
  readonly fetch: typeof fetch
  /** Unary calls go through the exchange. */
  readonly exchange: Exchange
  /** Milliseconds from arrival to the answer (the status line, for streams), retries included. */
  readonly requestTimeoutMs: number
  /** First pause between two rounds of attempts; doubles each round, up to 16× this. */
  readonly retryBackoffMs: number
  /**
   * A unary attempt still unanswered after this long has the members probed (see
   * {@link probingIfSlow}).
   */
  readonly slowAfterMs: number
  /** Mark streamed answers `Content-Encoding: identity` (see passOn). */
  readonly uncompressedStreams: boolean
}

/** Where a request may go and how it may be retried. */
export interface Plan {
  readonly route: Route
  /** The caller's signal: aborts the attempts and a streamed answer when the caller goes away. */
  readonly signal: AbortSignal
  /** The one endpoint the caller asked for, if any: no other member is tried. */
  readonly member: string | undefined
}

export interface ProxyRequest extends Plan {
  readonly method: 'POST' | 'GET'
  /** Path and query on the member, e.g. `/v3/watch`. */
  readonly url: string
  /** Headers for the member (auth token, content type). */
  readonly headers: Headers
  /** Streaming: the caller's body, replayable until answered; unary: the bytes (none for a GET). */
  readonly body: Uint8Array | ReplayableBody | undefined
}

export interface UnaryProxyRequest extends Plan {
  readonly method: 'POST' | 'GET'
  /** Path and query on the member, e.g. `/v3/kv/put`. */
  readonly path: string
  /** Headers for the member, lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
  /** The request as protobuf instead, for an exchange that carries it (exchange.ts). */
  readonly protobuf?: ProtobufCall | undefined
}

/** What one attempt at one member came to. */
type Sent<A> =
  | { readonly kind: 'answered'; readonly answer: A }
  | { readonly kind: 'unsent' }
  | { readonly kind: 'lost'; readonly timedOut: boolean }
  | { readonly kind: 'cancelled' }

/** How answers of type A are sent, judged and made up; {@link carry} decides when. */
interface Carrier<A> {
  /** One attempt at `endpoint`, with `timeoutMs` left (undefined: no deadline). */
  send(endpoint: string, timeoutMs: number | undefined): Promise<Sent<A>>
  /** A 503's etcd error (the answer rebuilt when reading it used it up); undefined for any other. */
  unavailable(answer: A): Promise<{ answer: A; error: EtcdError | undefined }>
  /** The gateway's own answer: an etcd error, or (undefined) 499 for a caller that left. */
  own(error: EtcdError | undefined): A
  /** Takes the member's leader hint (api/leader-hint.ts) off the answer; undefined if it had none. */
  leaderHint(answer: A): string | undefined
  /** A member's answer is final: nothing will be sent again. */
  settled(): void
}

/** Carries one unary API call: the member's answer as plain bytes, or the gateway's own error. */
export function proxyUnary(request: UnaryProxyRequest, settings: ProxySettings): Promise<GatewayAnswer> {
  const { exchange } = settings
  const carrier: Carrier<GatewayAnswer> = {
    async send(endpoint, timeoutMs) {
      const outcome = await exchange({
        method: request.method,
        endpoint,
        path: request.path,
        headers: request.headers,
        body: request.body,
        protobuf: request.protobuf,
        timeoutMs,
        signal: request.signal,
      })
      return outcome.kind === 'answered' ? { kind: 'answered', answer: outcome.answer } : outcome
    },
    async unavailable(answer) {
      if (answer.status !== 503) return { answer, error: undefined }
      const text = typeof answer.body === 'string' ? answer.body : new TextDecoder().decode(answer.body)
      return { answer, error: errorFromBody(answer.status, text) }
    },
    own: (error) => (error === undefined ? CANCELLED : etcdErrorAnswer(error)),
    leaderHint(answer) {
      const hint = answer.headers[LEADER_HINT_HEADER]
      if (hint !== undefined) delete (answer.headers as Record<string, string>)[LEADER_HINT_HEADER]
      return hint
    },
    settled: () => undefined,
  }
  return carry(request, settings, carrier)
}

const CANCELLED: GatewayAnswer = { status: 499, headers: {}, body: '' }

/** Carries one request as Web fetch and Responses: streams (watch, keepalive, observe, snapshot). */
export function proxy(request: ProxyRequest, settings: ProxySettings): Promise<Response> {
  const { body, route, signal } = request
  const carrier: Carrier<Response> = {
    async send(endpoint, timeoutMs) {
      const outcome = await attempt({
        method: request.method,
        url: endpoint + request.url,
        headers: request.headers,
        body: body instanceof ReplayableBody ? body.stream() : body,
        streamAnswer: route.stream,
        timeoutMs,
        signal,
        fetch: settings.fetch,
      })
      return outcome.kind === 'answered' ? { kind: 'answered', answer: passOn(outcome.response, route.stream, settings.uncompressedStreams) } : outcome
    },
    unavailable: readUnavailable,
    own: (error) => (error === undefined ? new Response(null, { status: 499 }) : etcdErrorResponse(error)),
    leaderHint(answer) {
      const hint = answer.headers.get(LEADER_HINT_HEADER) ?? undefined
      if (hint !== undefined) answer.headers.delete(LEADER_HINT_HEADER)
      return hint
    },
    settled: () => {
      if (body instanceof ReplayableBody) body.settle()
    },
  }
  return carry(request, settings, carrier)
}

async function carry<A>(plan: Plan, settings: ProxySettings, carrier: Carrier<A>): Promise<A> {
  const deadline = new Deadline(settings.requestTimeoutMs)
  let backoff = settings.retryBackoffMs
  let lastAnswer: A | undefined
  for (;;) {
    const result = await round(plan, settings, carrier, deadline)
    if ('final' in result) return result.final
    lastAnswer = result.retry ?? lastAnswer
    if (plan.member !== undefined || !deadline.open()) {
      return lastAnswer ?? carrier.own(GatewayErrors.unhealthy())
    }
    await sleep(deadline.pause(backoff), plan.signal)
    if (plan.signal.aborted) return carrier.own(undefined)
    backoff = Math.min(backoff * 2, settings.retryBackoffMs * 16)
    await within(settings.directory.refreshLeader(), deadline.left(), plan.signal)
  }
}

/**
 * One pass over the members, each tried at most once, in the directory's order (recomputed after
 * the leader was found dead). Ends with the answer to give, or with a retryable 503 answer (or
 * nothing, if no member was reached) when another round may help.
 */
async function round<A>(
  plan: Plan,
  settings: ProxySettings,
  carrier: Carrier<A>,
  deadline: Deadline,
): Promise<{ final: A } | { retry: A | undefined }> {
  const { route, signal, member: pinned } = plan
  const directory = settings.directory
  const toLeader = pinned === undefined && route.target === 'leader'
  // A call for the leader, or for a member that is not the leader, first learns which one leads.
  const leaderMatters = pinned === undefined && route.target !== 'spread'
  if (leaderMatters && directory.leader() === undefined) await within(directory.refreshLeader(), deadline.left(), signal)
  // The first endpoint without building the whole order (the common case: it answers); the
  // order is computed only when a second endpoint is needed.
  const tried: string[] = []
  /** A learner's refusal: the answer if no other member answers in this round. */
  let refused: A | undefined
  const next = (): string | undefined => {
    if (pinned !== undefined) return tried.length === 0 ? pinned : undefined
    if (tried.length === 0) return directory.first(route.target)
    return directory.candidates(route.target).find((e) => !tried.includes(e))
  }
  for (let endpoint = next(); endpoint !== undefined; endpoint = next()) {
    tried.push(endpoint)
    if (!deadline.open()) return { retry: undefined }
    const timed = !(route.stream || route.blocking)
    const outcome = await probingIfSlow(
      carrier.send(endpoint, timed ? deadline.left() : undefined),
      timed ? settings.slowAfterMs : undefined,
      () => directory.refreshLeader(),
    )
    if (outcome.kind === 'cancelled') return { final: carrier.own(undefined) }
    if (outcome.kind === 'unsent') {
      const wasLeader = directory.leader() === endpoint
      directory.markDown(endpoint)
      if (toLeader && wasLeader) await within(directory.refreshLeader(), deadline.left(), signal)
      continue
    }
    if (outcome.kind === 'lost') {
      // A member that did not answer in time may be hung (a paused process keeps its socket
      // open, so nothing else tells): the next calls go to the others first, and a leader-bound
      // one probes for the leader the rest of the cluster follows. (No probe from here: under
      // Workers, one request may not wait on another's I/O.)
      directory.markDown(endpoint)
      if (outcome.timedOut) return { final: carrier.own(GatewayErrors.timeout()) }
      if (route.idempotent) continue
      return { final: carrier.own(GatewayErrors.connectionLost()) }
    }
    directory.markUp(endpoint)
    const hint = carrier.leaderHint(outcome.answer)
    if (toLeader && hint !== undefined) directory.leaderMoved(endpoint, hint)
    const judged = await carrier.unavailable(outcome.answer)
    // A learner in the endpoint list: the next member, at once (the leader is not in question).
    if (judged.error !== undefined && refusedByLearner(judged.error)) {
      refused = judged.answer
      continue
    }
    if (judged.error === undefined || !retryable(judged.error, route.idempotent)) {
      carrier.settled()
      return { final: judged.answer }
    }
    directory.forgetLeader()
    return { retry: judged.answer }
  }
  return { retry: refused }
}

/**
 * `attempt`, and a probe of the members (`probe`) if it is still under way after `afterMs`: a
 * member that hangs (a paused process keeps its socket open, so nothing else tells) does not
 * answer its probe, so it is marked down, and the leader the rest of the cluster follows is
 * found, for the calls after this one, whether this one times out or its caller gives up first.
 * The answer waits for a probe begun (under Workers one request may not leave I/O behind).
 */
async function probingIfSlow<T>(attempt: Promise<T>, afterMs: number | undefined, probe: () => Promise<unknown>): Promise<T> {
  if (afterMs === undefined) return attempt
  let probing: Promise<unknown> | undefined
  const timer = setTimeout(() => {
    probing = probe().catch(() => undefined)
  }, afterMs)
  try {
    return await attempt
  } finally {
    clearTimeout(timer)
    if (probing !== undefined) await probing
  }
}

/**
 * A member's answer as the gateway's own: same status and body, without the hop-by-hop headers;
 * a stream is passed on in whole lines (line-stream.ts), marked `Content-Encoding: identity` if
 * `uncompressed` so that no layer in front compresses it: Cloudflare's edge (and wrangler dev,
 * which mimics it) gzips application/json answers for clients that accept gzip, and gzip holds
 * back a watch's small messages until its window fills. (The member's own Content-Encoding is a
 * hop header: fetch has already decoded the body.)
 */
function passOn(response: Response, stream: boolean, uncompressed: boolean): Response {
  const headers = new Headers(response.headers)
  for (const name of HOP_HEADERS) headers.delete(name)
  const init = { status: response.status, headers }
  if (!stream || response.body === null) return new Response(response.body, init)
  if (uncompressed) headers.set('content-encoding', 'identity')
  return new Response(wholeLines(response.body), init)
}

/**
 * Reads a 503 answer's body (an etcd error: short, and it ends) to learn whether the request was
 * proposed; the answer is rebuilt so it can still be passed on. Any other answer is untouched.
 */
async function readUnavailable(
  response: Response,
): Promise<{ answer: Response; error: EtcdError | undefined }> {
  if (response.status !== 503) return { answer: response, error: undefined }
  const text = await response.text().catch(() => '')
  const rebuilt = new Response(text, { status: response.status, headers: response.headers })
  return { answer: rebuilt, error: errorFromBody(response.status, text) }
}
