/**
 * `POST /v3/watch` over HTTP, as etcd's gateway serves it: the request body is a stream of
 * create / cancel / progress requests, the response a stream of `{"result":…}` lines that stays
 * open until the client disconnects (the end of the request body does not end it).
 *
 * - Status and headers go out with the first message; a bad first request is answered with a
 *   plain 500 error instead of a stream.
 * - Backpressure: a response is acknowledged to the watch hub only when the HTTP stream takes
 *   it, so a slow client's watchers fall behind in the hub (and catch up from the tables later)
 *   instead of piling up in memory here.
 *
 * @module
 */
import {
  encodeStreamResponse,
  JSON_HEADERS,
  RequestStream,
  streamRequestError,
  watch,
  type WatchRequest,
  type WatchResponse as ApiWatchResponse,
} from '../api/index.ts'
import type { WatchResponse, WatchStream } from '../mvcc/index.ts'
import type { Connection } from './auth-gate.ts'
import { toResponse } from './forward.ts'
import { headerContext, type MemberContext } from './member-context.ts'
import { WatchGuard } from './watch-guard.ts'

/** Responses buffered in the HTTP stream beyond what the socket has taken. */
const STREAM_HIGH_WATER = 16

function toApi(r: WatchResponse): ApiWatchResponse {
  return {
    header: { revision: r.headerRevision },
    watchId: r.watchId,
    created: r.created,
    canceled: r.canceled,
    compactRevision: r.compactRevision,
    cancelReason: r.cancelReason,
    fragment: false,
    events: r.events,
  }
}

/** An empty request object (`{}`) asks for nothing; a create the guard refuses gets its refusal. */
async function dispatch(
  stream: WatchStream,
  guard: WatchGuard,
  req: WatchRequest | null,
  refuse: (r: WatchResponse) => void,
): Promise<void> {
  if (req === null) return
  if (req.type === 'create') {
    const reason = await guard.refusal(req.request)
    if (reason === null) stream.create(req.request)
    else refuse(guard.refused(reason))
  } else if (req.type === 'cancel') stream.cancel(req.watchId)
  else stream.requestProgress()
}

export function handleWatch(m: MemberContext, request: Request, connection: Connection): Promise<Response> {
  return new Promise<Response>((answer) => {
    const encoder = new TextEncoder()
    const requests = new RequestStream(watch, m.limits)
    const queue: WatchResponse[] = []
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null
    let answered = false
    let closed = false
    let decoded = 0
    const reader = request.body?.getReader()
    const guard = new WatchGuard(m, request.headers, connection)

    const close = (): void => {
      if (closed) return
      closed = true
      hub.close()
      reader?.cancel().catch(() => undefined)
      if (!answered) {
        answered = true
        answer(new Response(null, { status: 499 }))
      }
    }
    const flush = (): void => {
      if (controller === null || closed) return
      while (queue.length > 0 && (controller.desiredSize ?? 0) > 0) {
        const r = queue.shift() as WatchResponse
        controller.enqueue(encoder.encode(encodeStreamResponse(watch, toApi(r), headerContext(m))))
        hub.acknowledge(r)
      }
    }
    const send = (r: WatchResponse): void => {
      guard.observe(r)
      queue.push(r)
      flush()
    }
    const hub = m.actor.hub.openStream(send)
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c
        },
        pull: flush,
        cancel: close,
      },
      { highWaterMark: STREAM_HIGH_WATER },
    )
    request.signal.addEventListener('abort', close)

    const startStream = (): void => {
      if (answered || closed) return
      answered = true
      answer(new Response(body, { status: 200, headers: JSON_HEADERS }))
    }

    const readLoop = async (): Promise<void> => {
      if (reader === undefined) return
      for (;;) {
        const { done, value } = await reader.read()
        if (closed) return
        const batch = done ? requests.end() : requests.push(value)
        for (const req of batch.requests) {
          await dispatch(hub, guard, req, send)
          if (closed) return
        }
        decoded += batch.requests.length
        if (batch.error !== null) {
          if (decoded === 0) {
            answered = true
            answer(toResponse(streamRequestError(batch.error)))
            close()
            return
          }
          m.actor.log.debug({ err: batch.error.message }, 'watch stream: bad request after the first; ignored')
        }
        if (batch.requests.length > 0) startStream()
        if (done) return
      }
    }
    readLoop().catch(() => close())
  })
}
