/**
 * One outgoing link: this member's WebSocket to one peer, used only for sending. It owns the
 * peer's bounded queue, the connection and its reconnect timer.
 *
 *   new ──> connecting ──open──> open
 *              ^    │               │
 *        timer │    │ fails         │ closes / errors
 *              │    v               │
 *             backoff <─────────────┘          any state ──close()──> closed
 *
 * - connecting: messages wait in the queue (bounded); nothing is sent yet.
 * - open: each flush sends the queue as frames while the socket's own buffer is below the
 *   high-water mark; above it messages wait in the queue, and the next send callback flushes again.
 * - backoff: the peer is unreachable; queued and new messages are dropped (and reported).
 *
 * @module
 */
import WebSocket from 'ws'
import type { Message, NodeId } from '../raft/types.ts'
import { backoffDelay, type BackoffPolicy } from './backoff.ts'
import { FRAME_OVERHEAD_BYTES, FRAME_VERSION, type FrameCodec } from './codec.ts'
import type { MeshEvents } from './mesh-events.ts'
import type { MeshLog } from './mesh.ts'
import { MEMBER_HEADER, REMOVED_STATUS, TOKEN_HEADER } from './peer-auth.ts'
import { PeerQueue, type QueueLimits } from './peer-queue.ts'
import type { Scheduler } from './scheduler.ts'

type LinkState = 'connecting' | 'open' | 'backoff' | 'closed'

/** What a link borrows from its mesh. Shared by all links of one mesh. */
export interface LinkContext {
  readonly selfId: NodeId
  readonly clusterToken: string
  readonly clusterId: string | null
  readonly codec: FrameCodec
  readonly events: MeshEvents
  readonly scheduler: Scheduler
  readonly random: () => number
  readonly backoff: BackoffPolicy
  readonly queue: QueueLimits
  readonly maxFrameBytes: number
  readonly maxBufferedBytes: number
  readonly handshakeTimeoutMs: number
  readonly log: MeshLog
  readonly tls: PeerTls
}

/** TLS options for dialling wss peers (ws passes them to tls.connect); the peer is always verified. */
export interface PeerTls {
  readonly ca?: Buffer
  readonly cert?: Buffer
  readonly key?: Buffer
}

export class PeerLink {
  readonly peer: NodeId
  readonly url: string
  readonly #ctx: LinkContext
  readonly #queue: PeerQueue
  #state: LinkState = 'connecting'
  #ws: WebSocket | null = null
  #cancelTimer: (() => void) | null = null
  /** Failed attempts since the last successful open. */
  #attempt = 0
  #everOpened = false

  constructor(peer: NodeId, url: string, ctx: LinkContext) {
    this.peer = peer
    this.url = url
    this.#ctx = ctx
    this.#queue = new PeerQueue(ctx.queue)
    this.#connect()
  }

  /** Queues `m` (whose encoded size is at most `size`), or drops it when down or full. */
  enqueue(m: Message, size: number): void {
    if (this.#state === 'backoff' || this.#state === 'closed' || !this.#queue.push(m, size)) {
      this.#ctx.events.dropped(this.peer, [m])
    }
  }

  /** Sends what is queued, one frame per `maxFrameBytes`, unless the socket is backed up. */
  flush(): void {
    const ws = this.#ws
    if (this.#state !== 'open' || ws === null) return
    const { codec, events, selfId, clusterId, maxFrameBytes, maxBufferedBytes } = this.#ctx
    while (this.#queue.length > 0 && ws.bufferedAmount < maxBufferedBytes) {
      const messages = this.#queue.take(maxFrameBytes - FRAME_OVERHEAD_BYTES)
      // A fresh buffer, not the codec's shared one: with the zero mask ws writes our bytes to the
      // socket as they are, and the socket may hold them past this call.
      const bytes = codec.encode({ version: FRAME_VERSION, from: selfId, clusterId, messages })
      events.sent(this.peer, messages, bytes.byteLength)
      ws.send(bytes, { binary: true, compress: false }, (err) => {
        if (err !== undefined && err !== null) return // the 'close' handler reports the loss
        events.delivered(this.peer, messages)
        if (this.#queue.length > 0 && this.#ws === ws) this.#wakeFlush()
      })
    }
  }

  /** Drops the queue, cancels the timer and destroys the socket. Idempotent. */
  close(): Promise<void> {
    this.#state = 'closed'
    this.#cancelTimer?.()
    this.#cancelTimer = null
    this.#ctx.events.dropped(this.peer, this.#queue.clear())
    const ws = this.#ws
    this.#ws = null
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      ws.once('close', () => resolve())
      ws.terminate()
    })
  }

  /**
   * The peer just dialled us, so it is up again: a link waiting out its backoff dials at once,
   * and the backoff starts over. (Without this, a restarted member stays unreachable for up to
   * the longest backoff, which can delay an election by seconds.)
   */
  redialNow(): void {
    if (this.#state !== 'backoff') return
    this.#cancelTimer?.()
    this.#cancelTimer = null
    this.#attempt = 0
    this.#connect()
  }

  #wakeFlush(): void {
    this.#ctx.scheduler.defer(() => this.flush())
  }

  #connect(): void {
    const { selfId, clusterToken, handshakeTimeoutMs, log, tls } = this.#ctx
    this.#state = 'connecting'
    const ws = new WebSocket(this.url, {
      headers: { [TOKEN_HEADER]: clusterToken, [MEMBER_HEADER]: String(selfId) },
      handshakeTimeout: handshakeTimeoutMs,
      perMessageDeflate: false,
      generateMask: zeroMask,
      ...tls,
    })
    this.#ws = ws
    ws.on('open', () => {
      if (this.#ws !== ws) return
      this.#state = 'open'
      this.#attempt = 0
      if (this.#everOpened) this.#ctx.events.peer(this.peer).reconnects++
      this.#everOpened = true
      log('peer-connected', { peer: this.peer, url: this.url })
      this.#wakeFlush()
    })
    // A refused upgrade: 410 means the peer knows this member was removed from the cluster.
    ws.on('unexpected-response', (_req, res) => {
      if (this.#ws !== ws) return
      if (res.statusCode === REMOVED_STATUS) this.#ctx.events.removedByPeer()
      log('peer-refused-us', { peer: this.peer, url: this.url, status: res.statusCode })
      ws.terminate()
    })
    ws.on('error', (err) => {
      if (this.#ws === ws) log('peer-error', { peer: this.peer, url: this.url, error: err.message })
    })
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#down()
    })
  }

  /** The connection failed or ended: report, drop what waits, and schedule the next attempt. */
  #down(): void {
    const { events, scheduler, backoff, random, log } = this.#ctx
    this.#ws = null
    this.#state = 'backoff'
    events.dropped(this.peer, this.#queue.clear())
    events.unreachable(this.peer)
    const delay = backoffDelay(this.#attempt++, backoff, random)
    log('peer-down', { peer: this.peer, url: this.url, retryInMs: delay })
    this.#cancelTimer = scheduler.after(delay, () => {
      this.#cancelTimer = null
      if (this.#state === 'backoff') this.#connect()
    })
  }
}

/**
 * The all-zero mask, with which neither side spends time masking (ws skips it on both ends;
 * masking in JavaScript took more than half the CPU of a busy link). RFC 6455 masking only
 * protects browsers' intermediaries from script-chosen bytes; members talk to members.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0)
}
