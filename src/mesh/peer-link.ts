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
 *   A snapshot too large for one frame goes in parts (codec.ts), SNAPSHOT_PART_BYTES per frame
 *   under the same high-water mark, then the MsgSnap itself. Queued messages go between parts,
 *   ahead of the rest of the snapshot, so heartbeats and votes reach the peer while a large
 *   snapshot is on its way (a transfer longer than an election timeout must not cost the peer
 *   its leader, nor the leader its quorum). Raft does not depend on the order of messages. A
 *   newer snapshot too large for a frame replaces one still in parts (that one is dropped).
 * - backoff: the peer is unreachable; queued and new messages are dropped (and reported).
 *
 * @module
 */
import WebSocket from 'ws'
import type { Message, NodeId, Snapshot } from '../raft/types.ts'
import { backoffDelay, type BackoffPolicy } from './backoff.ts'
import { FRAME_OVERHEAD_BYTES, FRAME_VERSION, SNAPSHOT_IN_PARTS, maxEncodedSize, type FrameCodec, type SnapshotPart } from './codec.ts'
import type { MeshEvents } from './mesh-events.ts'
import type { MeshLog } from './mesh.ts'
import { MEMBER_HEADER, REMOVED_STATUS, TOKEN_HEADER } from './peer-auth.ts'
import { PeerQueue, type QueueLimits } from './peer-queue.ts'
import type { Scheduler } from './scheduler.ts'

type LinkState = 'connecting' | 'open' | 'backoff' | 'closed'

/** Bytes of snapshot data per part frame (at most: a frame's limit leaves room for less). */
export const SNAPSHOT_PART_BYTES = 4 * 1024 * 1024

/** How often an open link measures its round trip by default (etcd probes its peers every few seconds). */
export const DEFAULT_PROBE_INTERVAL_MS = 5_000

/** Room a part frame needs besides its bytes (msgpack headers of its fields). */
const PART_OVERHEAD_BYTES = 64

/** A MsgSnap being sent in parts: its data from `sent` on is still to go. */
interface InParts {
  readonly message: Message
  sent: number
}

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
  readonly probeIntervalMs: number
  readonly onRoundTrip: ((peer: NodeId, seconds: number) => void) | null
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
  #inParts: InParts | null = null
  /** The probe timer's cancel, while the link is open and measuring round trips. */
  #cancelProbe: (() => void) | null = null

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
    const limit = this.#ctx.maxFrameBytes - FRAME_OVERHEAD_BYTES
    const partBytes = Math.min(SNAPSHOT_PART_BYTES, limit - PART_OVERHEAD_BYTES)
    while ((this.#inParts !== null || this.#queue.length > 0) && ws.bufferedAmount < this.#ctx.maxBufferedBytes) {
      if (this.#queue.length > 0) {
        // A message over the limit is always taken alone; only a snapshot gets past ws-mesh's check.
        const messages = this.#queue.take(limit)
        const first = messages[0] as Message
        if (messages.length === 1 && first.snapshot !== null && maxEncodedSize(first) > limit) {
          if (this.#inParts !== null) this.#ctx.events.dropped(this.peer, [this.#inParts.message])
          this.#inParts = { message: first, sent: 0 }
          continue
        }
        this.#sendFrame(ws, messages, null)
      }
      // One part after each frame of queued messages: a busy queue does not starve the snapshot.
      if (this.#inParts !== null && ws.bufferedAmount < this.#ctx.maxBufferedBytes) this.#sendPart(ws, this.#inParts, partBytes)
    }
  }

  /** The next part of the snapshot being sent in parts, or (all sent) its MsgSnap. */
  #sendPart(ws: WebSocket, inParts: InParts, partBytes: number): void {
    const { message } = inParts
    const snapshot = message.snapshot as Snapshot
    const data = snapshot.data
    if (inParts.sent < data.length) {
      const bytes = data.subarray(inParts.sent, inParts.sent + partBytes)
      this.#sendFrame(ws, [], { total: data.length, offset: inParts.sent, bytes })
      inParts.sent += bytes.length
      return
    }
    this.#inParts = null
    const last = { ...message, snapshot: { metadata: snapshot.metadata, data: SNAPSHOT_IN_PARTS } }
    this.#sendFrame(ws, [last], null, [message])
  }

  /**
   * One frame of `messages` (or of `part`); `delivered` is what its send callback reports (the
   * messages as queued, which the frame may carry in another form).
   */
  #sendFrame(ws: WebSocket, messages: readonly Message[], part: SnapshotPart | null, delivered = messages): void {
    const { codec, events, selfId, clusterId } = this.#ctx
    // A fresh buffer, not the codec's shared one: with the zero mask ws writes our bytes to the
    // socket as they are, and the socket may hold them past this call.
    const bytes = codec.encode({ version: FRAME_VERSION, from: selfId, clusterId, messages, part })
    events.sent(this.peer, delivered, bytes.byteLength)
    ws.send(bytes, { binary: true, compress: false }, (err) => {
      if (err !== undefined && err !== null) return // the 'close' handler reports the loss
      events.delivered(this.peer, delivered)
      if ((this.#queue.length > 0 || this.#inParts !== null) && this.#ws === ws) this.#wakeFlush()
    })
  }

  /** Everything waiting to go: the snapshot being sent in parts, then the queue (emptied). */
  #takeAll(): Message[] {
    const waiting = this.#inParts === null ? [] : [this.#inParts.message]
    this.#inParts = null
    return [...waiting, ...this.#queue.clear()]
  }

  /** Drops the queue, cancels the timer and destroys the socket. Idempotent. */
  close(): Promise<void> {
    this.#state = 'closed'
    this.#cancelTimer?.()
    this.#cancelTimer = null
    this.#stopProbing()
    this.#ctx.events.dropped(this.peer, this.#takeAll())
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
      this.#probe(ws)
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

  /**
   * Pings the peer now and then every probe interval, and reports each pong's round trip. The
   * peer's WebSocket answers a ping by itself, after the frames it has already read: the time
   * includes its event loop's delay, as etcd's probe includes its HTTP handler's.
   * Invariant: one probe timer per link, only while `ws` is its open socket.
   */
  #probe(ws: WebSocket): void {
    const { scheduler, onRoundTrip, probeIntervalMs } = this.#ctx
    if (onRoundTrip === null) return
    let sentAt: number | null = null
    ws.on('pong', () => {
      if (sentAt === null || this.#ws !== ws) return
      onRoundTrip(this.peer, (scheduler.now() - sentAt) / 1000)
      sentAt = null
    })
    const ping = (): void => {
      this.#cancelProbe = scheduler.after(probeIntervalMs, ping)
      // A ping still unanswered is not resent: its pong would be counted against the new one.
      if (sentAt !== null || ws.readyState !== WebSocket.OPEN) return
      sentAt = scheduler.now()
      ws.ping()
    }
    ping()
  }

  #stopProbing(): void {
    this.#cancelProbe?.()
    this.#cancelProbe = null
  }

  /** The connection failed or ended: report, drop what waits, and schedule the next attempt. */
  #down(): void {
    const { events, scheduler, backoff, random, log } = this.#ctx
    this.#ws = null
    this.#stopProbing()
    this.#state = 'backoff'
    events.dropped(this.peer, this.#takeAll())
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
