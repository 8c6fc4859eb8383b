/**
 * `POST /v3/election/observe`: a response stream of the election's leader, as etcd's observe
 * sends it: the current leader's kv first (or, with nobody leading, the first leader to come),
 * then one line each time the leader changes or proclaims a new value. Status and headers go out
 * with the first line; the stream ends when the client disconnects.
 *
 * Built on one hub watcher over the election's prefix, from the revision of a linearizable read
 * of its keys: the candidates are kept in memory and the leader (smallest create revision) is
 * worked out again after each revision. A hub response is acknowledged only once the lines it
 * produced were taken by the HTTP stream (push-stream.ts), so a slow client holds back the hub, not
 * memory here.
 * A watch ended by a compaction starts over from a fresh read.
 *
 * @module
 */
import {
  electionObserve, encodeStreamResponse, prefixRangeEnd, RequestStream, type LeaderRequest,
  type LeaderResponse,
} from '../api/index.ts'
import type { Event, KeyValue, WatchResponse } from '../mvcc/index.ts'
import { authGate, type Connection } from './auth-gate.ts'
import { prefixOf, rangeOf } from './concurrency.ts'
import { headerContext, type MemberContext } from './member-context.ts'
import { PushStream } from './push-stream.ts'

interface Pending {
  readonly line: string | null
  readonly from: WatchResponse | null
}

function hex(key: Uint8Array): string {
  let s = ''
  for (const b of key) s += b.toString(16).padStart(2, '0')
  return s
}

/** The election's candidates by key; the leader is the one created first. */
class Candidates {
  readonly #byKey = new Map<string, KeyValue>()

  reset(kvs: readonly KeyValue[]): void {
    this.#byKey.clear()
    for (const kv of kvs) this.#byKey.set(hex(kv.key), kv)
  }

  apply(e: Event): void {
    if (e.type === 'PUT') this.#byKey.set(hex(e.kv.key), e.kv)
    else this.#byKey.delete(hex(e.kv.key))
  }

  leader(): KeyValue | null {
    let first: KeyValue | null = null
    for (const kv of this.#byKey.values()) {
      if (first === null || kv.createRevision < first.createRevision) first = kv
    }
    return first
  }
}

/**
 * The body's first JSON message, as grpc-gateway decodes a server stream's request: the body may
 * stay open after it (it is left unread). An empty body is `{}`.
 */
async function firstRequest(m: MemberContext, request: Request): Promise<LeaderRequest> {
  const requests = new RequestStream(electionObserve, m.limits)
  const reader = request.body?.getReader()
  try {
    for (;;) {
      const { done, value } = reader === undefined ? { done: true, value: undefined } : await reader.read()
      const batch = done ? requests.end() : requests.push(value as Uint8Array)
      const first = batch.requests[0]
      if (first !== undefined) return first
      if (batch.error !== null) throw batch.error
      if (done) return { name: new Uint8Array(0) }
    }
  } finally {
    reader?.releaseLock()
  }
}

export async function handleObserve(m: MemberContext, request: Request, connection: Connection): Promise<Response> {
  const first = await firstRequest(m, request)
  await authGate(m).authorize(m, 'election.observe', first, request.headers, connection)
  const prefix = prefixOf(first.name)
  const rangeEnd = prefixRangeEnd(prefix)
  await m.actor.linearizableRead()
  const candidates = new Candidates()
  let sent: KeyValue | null = null
  const push = new PushStream<Pending>(request.signal, {
    line: (p) => p.line,
    taken: (p) => {
      if (p.from !== null) hub.acknowledge(p.from)
    },
    onClose: () => hub.close(),
    openOnFirstLine: true,
  })

  const line = (revision: number, kv: KeyValue): string => {
    const res: LeaderResponse = { header: { revision }, kv }
    return encodeStreamResponse(electionObserve, res, headerContext(m))
  }
  /** The line for the leader if it is not the one last sent (another key, or a new value). */
  const report = (revision: number): string | null => {
    const kv = candidates.leader()
    if (kv === null || (sent !== null && sent.modRevision === kv.modRevision && hex(sent.key) === hex(kv.key)))
      return null
    sent = kv
    return line(revision, kv)
  }
  const onResponse = (r: WatchResponse): void => {
    if (r.canceled) {
      queueMicrotask(start)
      return
    }
    const pending: Pending[] = []
    let at = 0
    for (const e of r.events) {
      if (at !== 0 && e.kv.modRevision !== at) pending.push({ line: report(at), from: null })
      at = e.kv.modRevision
      candidates.apply(e)
    }
    pending.push({ line: at === 0 ? null : report(at), from: r })
    push.push(...pending)
  }
  const hub = m.actor.hub.openStream(onResponse)
  const start = (): void => {
    if (push.closed) return
    const { header, kvs } = m.actor.store.range(rangeOf(prefix, { rangeEnd }))
    candidates.reset(kvs)
    push.push({ line: report(header.revision), from: null })
    hub.create({
      key: prefix, rangeEnd, startRevision: header.revision + 1, progressNotify: false, filters: [], prevKv: false,
      watchId: 0,
    })
  }
  if (request.signal.aborted) push.close()
  else start()
  return push.response
}
