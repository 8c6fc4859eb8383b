/**
 * The Mesh over WebSockets, for members on Node.
 *
 * Topology: every member dials every peer (one {@link PeerLink} each, `ws` client) and SENDS only
 * on the connection it dialled; it RECEIVES only on the connections its peers dialled into its
 * HTTP port (mounted with `createPeerRoute`). So each pair of members has two one-way
 * connections, no tie-breaking, and a member's outgoing traffic never waits on the other side's
 * reconnect logic.
 *
 * Order: messages from one sender arrive in order on one connection. A newer connection from a
 * peer replaces (terminates) its older one, so nothing sent before a reconnect is delivered
 * after what was sent after it; messages in flight on a broken connection are lost.
 *
 * @module
 */
import type { Entry, Message, NodeId } from '../raft/types.ts'
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts'
import { DEFAULT_MAX_FRAME_BYTES, FRAME_OVERHEAD_BYTES, FrameCodec, FrameError, maxEncodedSize } from './codec.ts'
import { MeshEvents } from './mesh-events.ts'
import type { Mesh, MeshLog, MeshStats, PeerUrls } from './mesh.ts'
import { admit, type Admission } from './peer-auth.ts'
import { DEFAULT_PROBE_INTERVAL_MS, PeerLink, type LinkContext, type PeerTls } from './peer-link.ts'
import { DEFAULT_MAX_QUEUE_BYTES, DEFAULT_MAX_QUEUE_MESSAGES } from './peer-queue.ts'
import type { InboundConnection, PeerAcceptor } from './peer-route.ts'
import { realScheduler, type Scheduler } from './scheduler.ts'
import { SnapshotAssembly } from './snapshot-parts.ts'

/** The path the peer route is served on, relative to a member's base URL. */
export const PEER_PATH = '/raft/peer'

export interface WsMeshOptions {
  readonly id: NodeId
  /** Shared secret every member of the cluster presents when it dials. */
  readonly clusterToken: string
  /** Stamped on every frame; frames carrying another cluster ID are rejected. */
  readonly clusterId?: string | null
  readonly peers: PeerUrls
  readonly path?: string
  /** Largest frame sent; the accepting WebSocketServer's `maxPayload` should match. */
  readonly maxFrameBytes?: number
  /** Per-peer queue bounds (messages waiting while connecting or while the socket is backed up). */
  readonly maxQueueMessages?: number
  readonly maxQueueBytes?: number
  /** Socket buffer high-water mark: above it, messages wait in the bounded queue instead. */
  readonly maxBufferedBytes?: number
  readonly handshakeTimeoutMs?: number
  readonly backoff?: BackoffPolicy
  readonly scheduler?: Scheduler
  /** Jitter source in [0, 1). */
  readonly random?: () => number
  readonly log?: MeshLog
  /** For wss peers: the CA their certificates chain to, and the certificate this member presents. */
  readonly tls?: PeerTls
  /** How often each open link pings its peer (WebSocket ping) to measure the round trip; default 5 s. */
  readonly probeIntervalMs?: number
  /** Told each measured round trip to a peer, in seconds. */
  readonly onRoundTrip?: (peer: NodeId, seconds: number) => void
}

const defaultLog: MeshLog = (event, fields) => console.warn(`mesh: ${event}`, fields)

interface Inbound {
  readonly from: NodeId
  readonly terminate: () => void
  readonly done: Promise<void>
}

export class WsMesh implements Mesh, PeerAcceptor {
  readonly path: string
  readonly #ctx: LinkContext
  readonly #events: MeshEvents
  readonly #links = new Map<NodeId, PeerLink>()
  /** Members removed from the cluster: told so (410) when they dial in. */
  #removed: ReadonlySet<NodeId> = new Set()
  /** Invariant: at most one connection per peer; a newer one terminates the older. */
  readonly #inbound = new Map<NodeId, Inbound>()
  /** Link closes started by setPeers; close() waits for them. */
  readonly #closing = new Set<Promise<void>>()
  #flushScheduled = false
  #closed = false

  constructor(options: WsMeshOptions) {
    if (options.id <= 0 || !Number.isSafeInteger(options.id)) {
      throw new Error(`mesh: invalid member id ${options.id}`)
    }
    if (options.clusterToken === '') throw new Error('mesh: the cluster token must not be empty')
    this.path = options.path ?? PEER_PATH
    this.#events = new MeshEvents(() => this.#wake())
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.#ctx = {
      selfId: options.id,
      clusterToken: options.clusterToken,
      clusterId: options.clusterId ?? null,
      codec: new FrameCodec(),
      events: this.#events,
      scheduler: options.scheduler ?? realScheduler,
      random: options.random ?? Math.random,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      queue: {
        maxMessages: options.maxQueueMessages ?? DEFAULT_MAX_QUEUE_MESSAGES,
        maxBytes: options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
      },
      maxFrameBytes,
      maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      log: options.log ?? defaultLog,
      tls: options.tls ?? {},
      probeIntervalMs: options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      onRoundTrip: options.onRoundTrip ?? null,
    }
    this.setPeers(options.peers)
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return
    const limit = this.#ctx.maxFrameBytes - FRAME_OVERHEAD_BYTES
    for (const m of messages) {
      const link = this.#links.get(m.to)
      const size = maxEncodedSize(m)
      if (link === undefined) {
        this.#events.dropped(m.to, [m])
      } else if (size > limit && m.snapshot === null) {
        // (A snapshot too large for a frame goes in parts: peer-link.ts.)
        this.#ctx.log('message-too-large', { peer: m.to, type: m.type, bytes: size, maxFrameBytes: limit })
        this.#events.dropped(m.to, [m])
      } else {
        link.enqueue(m, size)
      }
    }
    this.#wake()
  }

  flush(): void {
    if (this.#closed) return
    // The deferred flush still comes: it reports the losses (emitPending) and sends what came since.
    for (const link of this.#links.values()) link.flush()
  }

  onReceive(handler: (messages: Message[]) => void): void {
    this.#events.onReceive(handler)
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.#events.onUnreachable(handler)
  }

  onSnapshotStatus(handler: (peer: NodeId, ok: boolean) => void): void {
    this.#events.onSnapshotStatus(handler)
  }

  onUnsentProposals(handler: (entries: readonly Entry[]) => void): void {
    this.#events.onUnsentProposals(handler)
  }

  onRemoved(handler: () => void): void {
    this.#events.onRemoved(handler)
  }

  setRemoved(ids: ReadonlySet<NodeId>): void {
    this.#removed = new Set(ids)
  }

  setPeers(peers: PeerUrls): void {
    if (this.#closed) return
    for (const [id, link] of this.#links) {
      const url = peers.get(id)
      if (url !== undefined && socketUrl(url, this.path) === link.url) continue
      this.#links.delete(id)
      this.#track(link.close())
      if (url === undefined) this.#inbound.get(id)?.terminate()
    }
    for (const [id, url] of peers) {
      if (id === this.#ctx.selfId || this.#links.has(id)) continue
      this.#links.set(id, new PeerLink(id, socketUrl(url, this.path), this.#ctx))
    }
  }

  stats(): MeshStats {
    return this.#events.stats()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const link of this.#links.values()) this.#track(link.close())
    this.#links.clear()
    const inbound = [...this.#inbound.values()]
    for (const connection of inbound) connection.terminate()
    await Promise.all([...this.#closing, ...inbound.map((c) => c.done)])
  }

  admit(token: string | undefined, memberId: string | undefined): Admission {
    const admission = admit(
      this.#ctx.clusterToken,
      token,
      memberId,
      (id) => this.#links.has(id),
      (id) => this.#removed.has(id),
    )
    if (!admission.ok) {
      this.#events.connectionsRefused++
      this.#ctx.log('peer-refused', { status: admission.status, reason: admission.reason, memberId })
    }
    return admission
  }

  open(from: NodeId, terminate: () => void): InboundConnection {
    let resolveDone = (): void => {}
    const done = new Promise<void>((resolve) => (resolveDone = resolve))
    const me: Inbound = { from, terminate, done }
    if (this.#closed) terminate()
    else {
      this.#inbound.get(from)?.terminate()
      this.#inbound.set(from, me)
      this.#links.get(from)?.redialNow()
    }
    const parts = new SnapshotAssembly()
    return {
      receive: (bytes: Uint8Array): boolean => this.#inbound.get(from) === me && this.#receive(from, bytes, parts),
      closed: (): void => {
        if (this.#inbound.get(from) === me) this.#inbound.delete(from)
        resolveDone()
      },
    }
  }

  /**
   * Decodes and checks one inbound frame and delivers it (a snapshot part goes to `parts`, the
   * connection's assembly); false rejects the connection.
   */
  #receive(from: NodeId, bytes: Uint8Array, parts: SnapshotAssembly): boolean {
    const { codec, clusterId, selfId, log } = this.#ctx
    let reason: string
    try {
      const frame = codec.decode(bytes)
      const part = frame.part ?? null
      if (frame.from !== from) reason = `frame from ${frame.from} on member ${from}'s connection`
      else if (clusterId !== null && frame.clusterId !== clusterId) reason = `frame of cluster ${frame.clusterId}`
      else if (frame.messages.some((m) => m.to !== selfId)) reason = 'frame holds messages for another member'
      else if (part !== null) {
        const refused = parts.add(part)
        if (refused === null) return true
        reason = refused
      } else {
        const messages = parts.complete(frame.messages)
        if (typeof messages !== 'string') {
          this.#events.deliver(from, messages as Message[], bytes.byteLength)
          return true
        }
        reason = messages
      }
    } catch (err) {
      if (!(err instanceof FrameError)) throw err
      reason = err.message
    }
    this.#events.framesRejected++
    log('frame-rejected', { peer: from, reason })
    return false
  }

  #track(closing: Promise<void>): void {
    this.#closing.add(closing)
    void closing.then(() => this.#closing.delete(closing))
  }

  #wake(): void {
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    this.#ctx.scheduler.defer(() => {
      this.#flushScheduled = false
      if (this.#closed) return
      for (const link of this.#links.values()) link.flush()
      this.#events.emitPending()
    })
  }
}

/** `http://host:port` (or ws://, https://, wss://) + path → the WebSocket URL to dial. */
function socketUrl(base: string, path: string): string {
  const url = new URL(path, base)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.href
}
