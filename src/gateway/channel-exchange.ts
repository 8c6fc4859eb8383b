/**
 * The unary exchange (exchange.ts) over one call channel per member (api/call-frames.ts): a
 * WebSocket on which the calls made during one event-loop turn go out in one message, and their
 * answers come back in a few. Node only (the `ws` client), injected by node-server.ts.
 *
 * Why: over HTTP each call costs the gateway a socket write and a read on its own connection, and
 * the member a parse and a write of its own; on loopback a socket write costs about as much as
 * the rest of the gateway's work on the call. Batched, a burst of calls costs one of each.
 *
 * What still goes through `fallback` (HTTP): GETs, calls without a deadline (lock and campaign
 * wait on other clients, and only the closing of their connection tells the member that their
 * client left), https members, and every call while a member's channel is not open (it is opened
 * by the first call that needs it; one that could not be opened is tried again after
 * {@link RETRY_AFTER_MS}).
 *
 * Outcomes keep client/attempt.ts's meanings: a call still in the unsent batch when it times out,
 * is cancelled or its channel closes is `unsent`; once its message was handed to the socket it
 * is `lost` (the member may have served it). A call that times out while nothing at all came
 * back on its channel since it was sent takes the channel down with it: a member that hangs
 * keeps its socket open, and the calls after it must not queue behind a dead channel.
 *
 * @module
 */
import WebSocket from 'ws'
import { CALL_CHANNEL_PATH, decodeAnswers, encodeCalls, type ChannelAnswer, type ChannelCall } from '../api/index.ts'
import type { Exchange, UnaryOutcome, UnaryRequest } from './exchange.ts'

/** After a channel could not be opened, calls use HTTP for this long before it is tried again. */
export const RETRY_AFTER_MS = 5_000

/** A batch is sent at once when it holds this many bytes of bodies, not at the end of the turn. */
const BATCH_BYTES = 1024 * 1024

/** Largest answer message accepted: a turn's answers, each at most a range answer's size. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024

export interface ChannelExchange {
  readonly exchange: Exchange
  /** Closes every channel (the gateway is stopping). */
  close(): void
}

interface Pending {
  readonly call: ChannelCall
  /** Handed to the socket: the member may have it. */
  sent: boolean
  sentAt: number
  readonly finish: (outcome: UnaryOutcome) => void
}

const CANCELLED: UnaryOutcome = { kind: 'cancelled' }

/** One member's channel: connecting, open, or down until `retryAt`. */
class Channel {
  readonly #url: string
  #ws: WebSocket | null = null
  #open = false
  #retryAt = 0
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #batch: Pending[] = []
  #batchBytes = 0
  #lastHeard = 0

  constructor(url: string) {
    this.#url = url
  }

  /** Carries `request`, or returns null when the channel is not open (the caller uses HTTP). */
  call(request: UnaryRequest, timeoutMs: number): Promise<UnaryOutcome> | null {
    if (!this.#open) {
      this.#connect()
      return null
    }
    return new Promise((resolve) => {
      const { signal } = request
      if (signal.aborted) return resolve(CANCELLED)
      const call: ChannelCall = { id: this.#nextId++, path: request.path, headers: request.headers, body: request.body ?? EMPTY }
      let done = false
      const finish = (outcome: UnaryOutcome): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#pending.delete(call.id)
        resolve(outcome)
      }
      const pending: Pending = { call, sent: false, sentAt: 0, finish }
      const endEarly = (unsent: UnaryOutcome, sent: UnaryOutcome): void => {
        if (pending.sent) return finish(sent)
        this.#batch = this.#batch.filter((p) => p !== pending)
        finish(unsent)
      }
      const onAbort = (): void => endEarly(CANCELLED, CANCELLED)
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`)
        const silent = pending.sent && this.#lastHeard < pending.sentAt
        endEarly({ kind: 'unsent', error }, { kind: 'lost', timedOut: true, error })
        if (silent) this.#ws?.terminate()
      }, Math.max(0, timeoutMs))
      signal.addEventListener('abort', onAbort)
      this.#pending.set(call.id, pending)
      this.#enqueue(pending)
    })
  }

  close(): void {
    this.#retryAt = Number.POSITIVE_INFINITY
    this.#ws?.terminate()
  }

  #enqueue(pending: Pending): void {
    if (this.#batch.length === 0) setImmediate(() => this.#flush())
    this.#batch.push(pending)
    this.#batchBytes += pending.call.body.length
    if (this.#batchBytes >= BATCH_BYTES) this.#flush()
  }

  #flush(): void {
    const batch = this.#batch
    this.#batch = []
    this.#batchBytes = 0
    if (batch.length === 0) return
    const ws = this.#ws
    // (A socket that is closing writes nothing more.)
    if (ws === null || ws.readyState !== WebSocket.OPEN) {
      for (const p of batch) p.finish({ kind: 'unsent', error: new Error('the call channel closed') })
      return
    }
    const now = performance.now()
    for (const p of batch) {
      p.sent = true
      p.sentAt = now
    }
    ws.send(encodeCalls(batch.map((p) => p.call)))
  }

  #connect(): void {
    if (this.#ws !== null || performance.now() < this.#retryAt) return
    const ws = new WebSocket(this.#url, { perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
    this.#ws = ws
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => {
      this.#open = true
    })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#lastHeard = performance.now()
      let answers: ChannelAnswer[]
      try {
        if (!isBinary) throw new Error('a text message')
        answers = decodeAnswers(data)
      } catch {
        ws.terminate()
        return
      }
      for (const a of answers) {
        this.#pending.get(a.id)?.finish({ kind: 'answered', answer: { status: a.status, headers: a.headers, body: a.body } })
      }
    })
    // An upgrade the member refused (an older member without the channel) or a connection that
    // failed: HTTP for a while. ('close' follows 'error' when the socket had opened.)
    ws.on('error', () => {
      if (!this.#open) this.#retryAt = performance.now() + RETRY_AFTER_MS
    })
    ws.on('close', () => {
      this.#open = false
      this.#ws = null
      this.#flush()
      const error = new Error('the call channel closed')
      for (const p of [...this.#pending.values()]) p.finish(p.sent ? { kind: 'lost', timedOut: false, error } : { kind: 'unsent', error })
    })
  }
}

const EMPTY = new Uint8Array(0)

/** An exchange that carries what it can over call channels, the rest over `fallback`. */
export function channelExchange(fallback: Exchange): ChannelExchange {
  const channels = new Map<string, Channel | null>()
  const channelOf = (endpoint: string): Channel | null => {
    let channel = channels.get(endpoint)
    if (channel === undefined) {
      const url = new URL(endpoint)
      channel = url.protocol === 'http:' ? new Channel(`ws://${url.host}${url.pathname.replace(/\/+$/, '')}${CALL_CHANNEL_PATH}`) : null
      channels.set(endpoint, channel)
    }
    return channel
  }
  const exchange: Exchange = (request) => {
    if (request.method !== 'POST' || request.timeoutMs === undefined) return fallback(request)
    return channelOf(request.endpoint)?.call(request, request.timeoutMs) ?? fallback(request)
  }
  return {
    exchange,
    close() {
      for (const channel of channels.values()) channel?.close()
    },
  }
}
