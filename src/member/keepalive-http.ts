/**
 * `POST /v3/lease/keepalive` over HTTP: each request object in the body gets one answer line with
 * the refreshed TTL, and the response ends when the request body ends (etcd's gateway behaviour).
 * One stream renews at most --max-leases-per-stream distinct leases; the next one ends it with
 * an error line `etcdserver: too many leases on the keepalive stream` (code 8).
 *
 * Served by every member, as etcd's: the leader renews from its lessor; any other member forwards
 * each renewal to the leader on its own, waiting for one (and trying again) up to the request
 * timeout, so a stream outlives a change of leader instead of ending with it.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  encodeStreamResponse,
  errorFromBody,
  JSON_HEADERS,
  leaseKeepAlive,
  RequestStream,
  streamErrorLine,
  streamRequestError,
} from '../api/index.ts'
import { Errors, EtcdError, GrpcCode } from '../mvcc/index.ts'
import { FORWARDED_HEADER, forwardToLeader, toResponse } from './forward.ts'
import { keepAlive } from './lease-service.ts'
import { DEFAULT_STREAM_LIMITS, headerContext, type MemberContext } from './member-context.ts'

const TOO_MANY_LEASES = 'etcdserver: too many leases on the keepalive stream'

export async function handleKeepAlive(m: MemberContext, request: Request): Promise<Response> {
  const encoder = new TextEncoder()
  const requests = new RequestStream(leaseKeepAlive, m.limits)
  const reader = request.body?.getReader()
  const leases = new Set<bigint>()
  const maxLeases = (m.streams ?? DEFAULT_STREAM_LIMITS).maxLeases
  const read = async (): Promise<{ lines: string[]; done: boolean; error: EtcdError | null }> => {
    const { done, value } = reader === undefined ? { done: true, value: undefined } : await reader.read()
    const batch = done ? requests.end() : requests.push(value as Uint8Array)
    const lines: string[] = []
    for (const req of batch.requests) {
      leases.add(req.id)
      if (leases.size > maxLeases) {
        lines.push(streamErrorLine(new EtcdError(GrpcCode.ResourceExhausted, TOO_MANY_LEASES)))
        return { lines, done: true, error: null }
      }
      lines.push(await renewal(m, req.id, request))
    }
    return { lines, done, error: batch.error }
  }
  // Answer only once the first message is known, as etcd: a bad first request is a plain error.
  let first = await read()
  while (first.lines.length === 0 && first.error === null && !first.done) first = await read()
  if (first.lines.length === 0 && first.error !== null) return toResponse(streamRequestError(first.error))
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      for (const line of first.lines) c.enqueue(encoder.encode(line))
      if (first.done || first.error !== null) c.close()
    },
    pull: async (c) => {
      try {
        const next = await read()
        for (const line of next.lines) c.enqueue(encoder.encode(line))
        if (next.done || next.error !== null) c.close()
      } catch (err) {
        c.enqueue(encoder.encode(streamErrorLine(err)))
        c.close()
      }
    },
    cancel: () => reader?.cancel().catch(() => undefined),
  })
  return new Response(body, { status: 200, headers: JSON_HEADERS })
}

/**
 * The answer line renewing lease `id`: the lessor's here on the leader, else the leader's. Tried
 * again (the leadership moving, a leader not heard from yet, a broken forward) until the request
 * timeout, each forward bounded by what is left of it; given up at once when the client left.
 */
async function renewal(m: MemberContext, id: bigint, request: Request): Promise<string> {
  const { actor } = m
  const until = performance.now() + actor.config.requestTimeoutMs
  let failure: unknown = Errors.noLeader()
  for (;;) {
    if (request.signal.aborted) throw failure
    try {
      if (actor.isLeader) return encodeStreamResponse(leaseKeepAlive, keepAlive(m, id), headerContext(m))
      // A renewal forwarded here by a member that took this one for the leader: it tries again itself.
      if (request.headers.has(FORWARDED_HEADER)) throw Errors.noLeader()
      const left = AbortSignal.any([request.signal, AbortSignal.timeout(Math.max(1, Math.ceil(until - performance.now())))])
      const answer = await forwardToLeader(actor, request, `{"ID":"${id}"}`, m.fetch, undefined, left)
      const text = await answer.text()
      // A result line; an error line (the leader lost its leadership meanwhile) or answer is tried again.
      if (answer.status === 200 && text.startsWith('{"result"')) return `${text.split('\n', 1)[0] as string}\n`
      failure = answer.status === 200 ? Errors.noLeader() : errorFromBody(answer.status, text)
    } catch (err) {
      if (request.headers.has(FORWARDED_HEADER)) throw err
      failure = err
    }
    if (performance.now() >= until) throw failure
    await sleep(actor.config.tickMs)
  }
}
