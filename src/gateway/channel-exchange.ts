/**
 * The unary exchange (exchange.ts) over one call channel per member (api/call-frames.ts): a
 * WebSocket on which the calls made during one event-loop turn go out in one message, and their
 * answers come back in a few. Node only (the `ws` client), injected by node-server.ts.
 *
 * Why: over HTTP each call costs the gateway a socket write and a read on its own connection, and
 * the member a parse and a write of its own; on loopback a socket write costs about as much as
 * the rest of the gateway's work on the call. Batched, a burst of calls costs one of each.
 *
 * What still goes through `fallback` (HTTP): GETs; calls without a deadline (lock and campaign
 * wait on other clients, and only the closing of their connection tells the member that their
 * client left); bodies over {@link BATCH_BYTES} (they would hold up the calls behind them);
 * https members; and every call while a member's channel is not open. The first call that could
 * use a channel opens it; a channel that could not be opened, or that the member closed for a
 * protocol error, is tried again after {@link RETRY_AFTER_MS}.
 *
 * A request that comes with its protobuf message (a gateway's gRPC call) is carried as that
 * (PROTOBUF_CALL), and its 200 answer comes back as protobuf; over HTTP it goes as JSON.
 *
 * Outcomes keep client/attempt.ts's meanings: a call still in the unsent batch when it times out,
 * is cancelled or its channel closes is `unsent`; once its message was handed to the socket it
 * is `lost` (the member may have served it). Liveness: a member that hangs keeps its socket open,
 * so a channel that has said nothing for {@link PING_EVERY_MS} (or since a call that timed out
 * was sent) is pinged, and closed if no pong comes within {@link PONG_GRACE_MS}; a channel
 * without calls for {@link IDLE_CLOSE_MS} is closed.
 *
 * @module
 */
import WebSocket from 'ws'
import { CALL_CHANNEL_PATH, decodeAnswers, encodeCalls, PROTOBUF_CALL, type ChannelAnswer, type ChannelCall } from '../api/index.ts'
import type { Exchange, UnaryOutcome, UnaryRequest } from './exchange.ts'

/** After a channel could not be opened (or failed the protocol), calls use HTTP for this long before it is tried again. */
export const RETRY_AFTER_MS = 5_000

/** A batch goes out at once when its bodies reach this many bytes; a larger body goes over HTTP. */
export const BATCH_BYTES = 1024 * 1024

/** A channel that has said nothing for this long is pinged. */
export const PING_EVERY_MS = 5_000

/** A pinged channel that sends nothing back within this long is closed. */
export const PONG_GRACE_MS = 2_000

/** A channel that carried no call for this long is closed (a member the gateway no longer calls). */
export const IDLE_CLOSE_MS = 60_000

/** Longest wait for a channel's upgrade to be answered. */
const HANDSHAKE_MS = 5_000

/** Largest answer message accepted: a turn's answers (the member sends at about 1 MiB), the last one a range of any size. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024

/** Close codes after which the member is not asked again at once: protocol error, policy, message too big. */
const PROTOCOL_CLOSES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009])

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
const EMPTY = new Uint8Array(0)

/** One member's channel: connecting, open, or down until `retryAt`. */
class Channel {
  readonly #url: string
  #ws: WebSocket | null = null
  /** The current socket has opened (its failure is then not a refusal of the channel). */
  #opened = false
  #retryAt = 0
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #batch: Pending[] = []
  #batchBytes = 0
  #lastHeard = 0
  #lastUsed = 0
  /** The ping under way: closes the channel when it fires. */
  #pongDeadline: ReturnType<typeof setTimeout> | undefined
  #ticker: ReturnType<typeof setInterval> | undefined

  constructor(url: string) {
    this.#url = url
  }

  /** Carries `request`, or returns null when the channel is not open (the caller uses HTTP). */
  call(request: UnaryRequest, timeoutMs: number): Promise<UnaryOutcome> | null {
    if (this.#ws?.readyState !== WebSocket.OPEN) {
      this.#connect()
      return null
    }
    this.#lastUsed = performance.now()
    return new Promise((resolve) => {
      const { signal } = request
      if (signal.aborted) return resolve(CANCELLED)
      const call: ChannelCall =
        request.protobuf === undefined
          ? { id: this.#nextId++, path: request.path, headers: jsonHeaders(request.headers), body: request.body ?? EMPTY }
          : { id: this.#nextId++, path: request.path, headers: { ...request.headers, 'content-type': PROTOBUF_CALL }, body: request.protobuf.message }
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
        this.#unqueue(pending)
        finish(unsent)
      }
      const onAbort = (): void => endEarly(CANCELLED, CANCELLED)
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`)
        // Nothing came back since this call left: the member may hang.
        if (pending.sent && this.#lastHeard < pending.sentAt) this.#ping()
        endEarly({ kind: 'unsent', error }, { kind: 'lost', timedOut: true, error })
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

  #unqueue(pending: Pending): void {
    const at = this.#batch.indexOf(pending)
    if (at < 0) return
    this.#batch.splice(at, 1)
    this.#batchBytes -= pending.call.body.length
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

  /** Pings the member unless a ping is under way; no answer within PONG_GRACE_MS closes the channel. */
  #ping(): void {
    const ws = this.#ws
    if (this.#pongDeadline !== undefined || ws === null || ws.readyState !== WebSocket.OPEN) return
    ws.ping()
    this.#pongDeadline = setTimeout(() => ws.terminate(), PONG_GRACE_MS)
  }

  #heard(): void {
    this.#lastHeard = performance.now()
    clearTimeout(this.#pongDeadline)
    this.#pongDeadline = undefined
  }

  #connect(): void {
    if (this.#ws !== null || performance.now() < this.#retryAt) return
    const ws = new WebSocket(this.#url, { perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: HANDSHAKE_MS })
    this.#ws = ws
    this.#opened = false
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => {
      this.#opened = true
      this.#lastUsed = performance.now()
      this.#heard()
      this.#ticker = setInterval(() => {
        const now = performance.now()
        if (this.#pending.size === 0 && now - this.#lastUsed > IDLE_CLOSE_MS) ws.close(1000)
        else if (now - this.#lastHeard > PING_EVERY_MS) this.#ping()
      }, PING_EVERY_MS)
      this.#ticker.unref()
    })
    ws.on('pong', () => this.#heard())
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#heard()
      let answers: ChannelAnswer[]
      try {
        if (!isBinary) throw new Error('a text message')
        answers = decodeAnswers(data)
      } catch {
        this.#retryAt = performance.now() + RETRY_AFTER_MS
        ws.terminate()
        return
      }
      for (const a of answers) {
        this.#pending.get(a.id)?.finish({ kind: 'answered', answer: { status: a.status, headers: a.headers, body: a.body } })
      }
    })
    // An upgrade the member refused (a member without the channel) or a connection that failed:
    // HTTP for a while. ('close' follows.)
    ws.on('error', () => {
      if (!this.#opened) this.#retryAt = Math.max(this.#retryAt, performance.now() + RETRY_AFTER_MS)
    })
    ws.on('close', (code: number) => {
      if (PROTOCOL_CLOSES.has(code)) this.#retryAt = Math.max(this.#retryAt, performance.now() + RETRY_AFTER_MS)
      clearInterval(this.#ticker)
      clearTimeout(this.#pongDeadline)
      this.#pongDeadline = undefined
      this.#ws = null
      this.#flush()
      const error = new Error('the call channel closed')
      for (const p of [...this.#pending.values()]) p.finish(p.sent ? { kind: 'lost', timedOut: false, error } : { kind: 'unsent', error })
    })
  }
}

/**
 * A JSON call's headers on the channel: the protobuf marker is the gateway's alone, so a client's
 * `content-type` that spells it is sent as JSON's (over HTTP, and on etcd, any body is JSON).
 */
function jsonHeaders(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return headers['content-type'] === PROTOBUF_CALL ? { ...headers, 'content-type': 'application/json' } : headers
}

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
    const carried = request.protobuf?.message ?? request.body
    if (request.method !== 'POST' || request.timeoutMs === undefined || (carried?.length ?? 0) > BATCH_BYTES) return fallback(request)
    return channelOf(request.endpoint)?.call(request, request.timeoutMs) ?? fallback(request)
  }
  return {
    exchange,
    close() {
      for (const channel of channels.values()) channel?.close()
    },
  }
}
