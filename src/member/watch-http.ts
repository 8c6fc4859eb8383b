/**
 * `POST /v3/watch` over HTTP, as etcd's gateway serves it: the request body is a stream of
 * create / cancel / progress requests, the response a stream of `{"result":…}` lines that stays
 * open until the client disconnects (the end of the request body does not end it).
 *
 * - Status and headers go out with the first message; a bad first request is answered with a
 *   plain 500 error instead of a stream.
 * - Backpressure: a response is acknowledged to the watch hub only when the HTTP stream takes
 *   it (push-stream.ts), so a slow client's watchers fall behind in the hub (and catch up from the
 *   tables later) instead of piling up in memory here.
 *
 * @module
 */
import {
  encodeStreamResponse,
  fragments,
  GRPC_OVERHEAD_BYTES,
  RequestStream,
  streamErrorLine,
  streamRefused,
  streamRequestError,
  watch,
  type WatchRequest,
  type WatchResponse as ApiWatchResponse,
} from '../api/index.ts'
import type { WatchResponse, WatchStream } from '../mvcc/index.ts'
import type { Connection } from './auth-gate.ts'
import { toResponse } from './forward.ts'
import { headerContext, type MemberContext } from './member-context.ts'
import { PushStream } from './push-stream.ts'
import { WatchGuard } from './watch-guard.ts'

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

/**
 * An empty request object (`{}`) asks for nothing; a create the guard refuses gets its refusal.
 * `fragmented` gets the ID of each watcher created with `fragment` (watch-fragments.ts).
 */
async function dispatch(
  stream: WatchStream,
  guard: WatchGuard,
  req: WatchRequest | null,
  refuse: (r: WatchResponse) => void,
  fragmented: Set<number>,
): Promise<void> {
  if (req === null) return
  if (req.type === 'create') {
    const reason = await guard.refusal(req.request, stream.size)
    if (reason !== null) return refuse(guard.refused(reason))
    const id = stream.create(req.request)
    if (id === null) return
    // (A watch ID is reused after a cancel: the new watcher's own choice counts.)
    if (req.request.fragment) fragmented.add(id)
    else fragmented.delete(id)
  } else if (req.type === 'cancel') stream.cancel(req.watchId)
  else stream.requestProgress()
}

export function handleWatch(m: MemberContext, request: Request, connection: Connection): Promise<Response> {
  const requests = new RequestStream(watch, m.limits)
  let decoded = 0
  const reader = request.body?.getReader()
  const guard = new WatchGuard(m, request.headers, connection)
  /** The watchers that asked for fragments; a cancel (by the client or a compaction) drops one. */
  const fragmented = new Set<number>()
  /** Responses of such watchers, noted as they are pushed (their lines are made later). */
  const toFragment = new WeakSet<WatchResponse>()
  const limit = m.limits.maxRequestBytes + GRPC_OVERHEAD_BYTES
  const encode = (r: ApiWatchResponse): string => encodeStreamResponse(watch, r, headerContext(m))
  const push = new PushStream<WatchResponse>(request.signal, {
    // A fragmented response is several lines, taken (acknowledged to the hub) as one.
    line: (r) => (toFragment.has(r) ? fragments(toApi(r), limit).map(encode).join('') : encode(toApi(r))),
    taken: (r) => hub.acknowledge(r),
    onClose: () => {
      hub.close()
      reader?.cancel().catch(() => undefined)
    },
    openOnFirstLine: false,
  })
  const send = (r: WatchResponse): void => {
    if (r.canceled) fragmented.delete(r.watchId)
    else if (r.events.length > 1 && fragmented.has(r.watchId)) toFragment.add(r)
    push.push(r)
  }
  const hub = m.actor.hub.openStream(send)

  const readLoop = async (): Promise<void> => {
    if (reader === undefined) return
    for (;;) {
      // A client that sends without reading its answers is not read further (etcd: ctrlStream's bound).
      await push.room()
      if (push.closed) return
      const { done, value } = await reader.read()
      if (push.closed) return
      const batch = done ? requests.end() : requests.push(value)
      // Open before answering: the answers wait for a reader once 16 are buffered (push.room),
      // and the client reads only once the stream is open.
      if (batch.requests.length > 0) push.open()
      for (const req of batch.requests) {
        await push.room()
        if (push.closed) return
        await dispatch(hub, guard, req, send, fragmented)
        if (push.closed) return
      }
      decoded += batch.requests.length
      if (batch.error !== null) {
        if (decoded === 0) {
          push.fail(toResponse(batch.byServer ? streamRefused(batch.error) : streamRequestError(batch.error)))
          return
        }
        // Refused by the server: the stream ends with the error, after the answers before it.
        if (batch.byServer) {
          push.open()
          push.finish(streamErrorLine(batch.error))
          return
        }
        m.actor.log.debug({ err: batch.error.message }, 'watch stream: bad request after the first; ignored')
      }
      if (done) return
    }
  }
  readLoop().catch(() => push.close())
  return push.response
}
