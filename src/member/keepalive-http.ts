/**
 * `POST /v3/lease/keepalive` over HTTP: each request object in the body gets one answer line with
 * the refreshed TTL, and the response ends when the request body ends (etcd's gateway behaviour).
 * One stream renews at most --max-leases-per-stream distinct leases; the next one ends it with
 * an error line `etcdserver: too many leases on the keepalive stream` (code 8).
 * Runs on the leader (the HTTP layer forwards it there).
 *
 * @module
 */
import {
  encodeStreamResponse,
  JSON_HEADERS,
  leaseKeepAlive,
  RequestStream,
  streamErrorLine,
  streamRequestError,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { toResponse } from './forward.ts'
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
      lines.push(encodeStreamResponse(leaseKeepAlive, keepAlive(m, req.id), headerContext(m)))
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
