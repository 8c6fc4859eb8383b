/**
 * Sending a client request on to the leader, for calls only the leader can answer (lease
 * keepalive and time-to-live use its clock; membership changes and leadership transfer are its
 * decisions). The leader's answer, streamed or not, goes back unchanged but for the leader hint
 * (api/leader-hint.ts: this member is not the leader, so it names the one it forwarded to) and
 * the member ID of its headers, this member's as in etcd (forwarded-header.ts). A request that was
 * already forwarded once is never forwarded again (no loops while leadership moves).
 *
 * While there is no leader, or the one this member knows cannot be reached (its process is gone:
 * the connection is refused, so the request was never sent), the forward waits for a leader it
 * can reach, as etcd's leader-only calls wait for one, up to the request timeout; only then is the
 * answer `no leader`. A request that may have reached the leader is never sent again. A streamed
 * answer (lease keepalive) cut off with the leader ends with a stream-error line (`no leader`), as
 * a stream that fails does, not silently.
 *
 * Only the token headers and the content type are passed on, never a client's own marker or
 * claim headers; the member adds its own marker, and (`vouch`) its claim for the certificate user
 * it verified itself (forwarded-user.ts).
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { errorResponse, findEndpoint, GRPC_TIMEOUT_HEADER, HOP_HEADERS, LEADER_HINT_HEADER } from '../api/index.ts'
import { neverSent } from '../api/never-sent.ts'
import { Errors } from '../mvcc/index.ts'
import type { MemberActor } from './actor.ts'
import type { MemberInfo } from './cluster-table.ts'
import { answeredBy } from './forwarded-header.ts'
import { cuttable } from './stream-cut.ts'

export const FORWARDED_HEADER = 'x-edgecd-forwarded'

/**
 * Where a forward to `leader` goes: member to member, as the mesh, its peer URL (every member
 * serves forwarded calls there, on its own port with --listen-peer-urls, else the client port;
 * known before the leader publishes client URLs). But not a plain-HTTP peer URL of a leader that
 * serves clients over https: the call, its token and a vouched certificate user then go to that
 * https client URL.
 */
export function forwardBase(leader: Pick<MemberInfo, 'peerUrls' | 'clientUrls'>): string | undefined {
  const peer = leader.peerUrls[0]
  const secure = leader.clientUrls.find((u) => u.startsWith('https:'))
  return peer !== undefined && peer.startsWith('http:') && secure !== undefined ? secure : (peer ?? leader.clientUrls[0])
}

/** The call's deadline goes along: the leader ends what waits on it (call-deadline.ts). */
const PASSED_HEADERS = ['authorization', 'grpc-metadata-token', 'content-type', GRPC_TIMEOUT_HEADER]

/** `r` as a Response; an empty body is none, so that no Content-Type is made up for it (Go's 301 has none). */
export function toResponse(r: { status: number; headers: Readonly<Record<string, string>>; body: string }): Response {
  return new Response(r.body === '' ? null : r.body, { status: r.status, headers: r.headers })
}

/**
 * Extra headers for a forward to the member `leader` (the vouched certificate user); none by default.
 */
export type Vouch = (leader: number) => Readonly<Record<string, string>>

/**
 * `fetcher` reaches the leader (with TLS, the member's own certificate and CAs: tls.ts); `vouch`
 * adds this member's claim headers; `signal` ends the forward (the client left, or its deadline
 * passed).
 */
export async function forwardToLeader(
  actor: MemberActor,
  request: Request,
  body: BodyInit | null,
  fetcher: typeof fetch = fetch,
  vouch: Vouch = () => ({}),
  signal: AbortSignal = request.signal,
): Promise<Response> {
  if (request.headers.has(FORWARDED_HEADER)) return noLeader()
  const headers = new Headers({ [FORWARDED_HEADER]: '1' })
  for (const h of PASSED_HEADERS) {
    const v = request.headers.get(h)
    if (v !== null) headers.set(h, v)
  }
  const url = new URL(request.url)
  const until = performance.now() + actor.config.requestTimeoutMs
  /** Leaders (by term) this forward could not reach. */
  const unreachable = new Set<string>()
  // A streamed body is kept until the leader has answered, so that it can be sent again.
  let rest = body
  for (;;) {
    const id = actor.leader
    const leader = id === 0 || unreachable.has(`${id}@${actor.term}`) ? undefined : actor.member(id)
    const base = leader === undefined ? undefined : forwardBase(leader)
    if (base === undefined) {
      if (signal.aborted || performance.now() >= until) return noLeader()
      await sleep(actor.config.tickMs).catch(() => undefined)
      continue
    }
    let sent: BodyInit | null = rest
    if (rest instanceof ReadableStream) [sent, rest] = rest.tee()
    const attemptHeaders = new Headers(headers)
    for (const [h, v] of Object.entries(vouch(id))) attemptHeaders.set(h, v)
    try {
      const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers: attemptHeaders, body: sent, signal }
      if (sent instanceof ReadableStream) init.duplex = 'half'
      const res = await fetcher(new URL(url.pathname, base), init)
      if (rest instanceof ReadableStream) void rest.cancel().catch(() => undefined)
      // A copy: the fetched answer's headers are immutable (and @hono/node-server's Response keeps
      // the object it is given).
      const answerHeaders = new Headers(res.headers)
      answerHeaders.set(LEADER_HINT_HEADER, String(id))
      // Those of the hop to the leader are not this answer's (its client may have asked for
      // `Connection: close`), nor is the length: the member IDs' lengths may differ, so the
      // rewritten body's is not the leader's.
      for (const name of HOP_HEADERS) answerHeaders.delete(name)
      const answer = new Response(res.body === null ? null : res.body.pipeThrough(answeredBy(id, actor.config.id)), {
        status: res.status,
        headers: answerHeaders,
      })
      const endpoint = findEndpoint(url.pathname)
      // A stream the leader's broken connection cut off ends with `no leader`.
      return endpoint !== null && endpoint.stream !== 'unary' ? cuttable(answer, null, Errors.noLeader()) : answer
    } catch (err) {
      if (!neverSent(err) || signal.aborted) {
        if (rest instanceof ReadableStream) void rest.cancel().catch(() => undefined)
        return noLeader()
      }
      unreachable.add(`${id}@${actor.term}`)
    }
  }
}

function noLeader(): Response {
  return toResponse(errorResponse(Errors.noLeader()))
}

