/**
 * An in-process Mesh for tests and single-process clusters: a {@link MemoryHub} connects the
 * meshes of several members. It keeps the WebSocket mesh's observable behaviour (checked by the
 * same contract suite): one frame per peer per turn (or per flush), bounded queues, token and
 * membership checks, loss reports. Every frame goes through the real codec, so a receiver never
 * shares an object with its sender.
 *
 * Peer URLs are `memory://<id>`: the hub member a URL names is what gets dialled, so a URL nobody
 * joined with is a dead peer. A stalled member takes no frames: they wait in the senders' queues.
 *
 * @module
 */
import type { Entry, Message, NodeId } from '../raft/types.ts'
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_OVERHEAD_BYTES,
  FRAME_VERSION,
  FrameCodec,
  maxEncodedSize,
} from './codec.ts'
import { MeshEvents } from './mesh-events.ts'
import type { Mesh, MeshStats, PeerUrls } from './mesh.ts'
import { DEFAULT_MAX_QUEUE_BYTES, DEFAULT_MAX_QUEUE_MESSAGES, PeerQueue, type QueueLimits } from './peer-queue.ts'
import { realScheduler, type Scheduler } from './scheduler.ts'

export interface MemoryMeshOptions {
  readonly id: NodeId
  readonly clusterToken: string
  readonly peers: PeerUrls
  readonly maxFrameBytes?: number
  readonly maxQueueMessages?: number
  readonly maxQueueBytes?: number
}

export class MemoryHub {
  readonly #members = new Map<NodeId, MemoryMesh>()
  readonly #stalled = new Set<NodeId>()
  readonly #scheduler: Scheduler

  constructor(scheduler: Scheduler = realScheduler) {
    this.#scheduler = scheduler
  }

  /** The URL under which member `id` is reached. */
  url(id: NodeId): string {
    return `memory://${id}`
  }

  /** Creates member `id`'s mesh. Throws if a mesh with that ID is open on this hub. */
  join(options: MemoryMeshOptions): MemoryMesh {
    if (this.#members.has(options.id)) throw new Error(`memory mesh: member ${options.id} already joined`)
    const mesh = new MemoryMesh(options, this, this.#scheduler)
    this.#members.set(options.id, mesh)
    return mesh
  }

  /** While stalled, member `id` receives nothing; frames for it wait in the senders' queues. */
  stall(id: NodeId, stalled: boolean): void {
    if (stalled) this.#stalled.add(id)
    else this.#stalled.delete(id)
  }

  /** The open mesh a URL names, or null for a dead address; 'stalled' when it takes nothing now. */
  resolve(url: string): MemoryMesh | 'stalled' | null {
    const match = /^memory:\/\/(\d+)$/.exec(url)
    if (match === null) return null
    const id = Number(match[1])
    if (this.#stalled.has(id)) return 'stalled'
    return this.#members.get(id) ?? null
  }

  /** Called by a mesh's close(). */
  leave(mesh: MemoryMesh): void {
    if (this.#members.get(mesh.id) === mesh) this.#members.delete(mesh.id)
  }
}

interface MemoryLink {
  readonly url: string
  readonly queue: PeerQueue
  /** The last flush found the peer unreachable; the next delivery counts as a reconnect. */
  down: boolean
}

export class MemoryMesh implements Mesh {
  readonly id: NodeId
  readonly #token: string
  readonly #hub: MemoryHub
  readonly #scheduler: Scheduler
  readonly #codec = new FrameCodec()
  readonly #events: MeshEvents
  readonly #links = new Map<NodeId, MemoryLink>()
  readonly #maxFrameBytes: number
  readonly #queueLimits: QueueLimits
  #flushScheduled = false
  #closed = false

  constructor(options: MemoryMeshOptions, hub: MemoryHub, scheduler: Scheduler) {
    this.id = options.id
    this.#token = options.clusterToken
    this.#hub = hub
    this.#scheduler = scheduler
    this.#events = new MeshEvents(() => this.#wake())
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.#queueLimits = {
      maxMessages: options.maxQueueMessages ?? DEFAULT_MAX_QUEUE_MESSAGES,
      maxBytes: options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
    }
    this.setPeers(options.peers)
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return
    for (const m of messages) {
      const link = this.#links.get(m.to)
      const size = maxEncodedSize(m)
      // A snapshot of any size passes (over WebSockets it goes in parts: peer-link.ts).
      const fits = m.snapshot !== null || size <= this.#maxFrameBytes - FRAME_OVERHEAD_BYTES
      if (link === undefined || !fits || !link.queue.push(m, size)) this.#events.dropped(m.to, [m])
    }
    this.#wake()
  }

  flush(): void {
    // The deferred flush still comes, and reports the losses (emitPending). As there, a receiver's
    // handler runs from inside the delivery: never this mesh's own.
    if (!this.#closed) this.#sendQueued()
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

  setPeers(peers: PeerUrls): void {
    if (this.#closed) return
    for (const [id, link] of this.#links) {
      if (peers.get(id) === link.url) continue
      this.#links.delete(id)
      this.#events.dropped(id, link.queue.clear())
    }
    for (const [id, url] of peers) {
      if (id === this.id || this.#links.has(id)) continue
      this.#links.set(id, { url, queue: new PeerQueue(this.#queueLimits), down: false })
    }
  }

  stats(): MeshStats {
    return this.#events.stats()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#hub.leave(this)
    for (const [id, link] of this.#links) this.#events.dropped(id, link.queue.clear())
    this.#links.clear()
  }

  /** A frame from `sender`: the in-memory handshake (token, membership) then decode and deliver. */
  accept(sender: NodeId, token: string, bytes: Uint8Array): boolean {
    if (this.#closed || token !== this.#token || !this.#links.has(sender)) {
      this.#events.connectionsRefused++
      return false
    }
    const frame = this.#codec.decode(bytes)
    this.#events.deliver(sender, frame.messages as Message[], bytes.byteLength)
    return true
  }

  #flush(): void {
    this.#sendQueued()
    this.#events.emitPending()
  }

  /** Hands every queued message to its peer, frame by frame; calls no handler of this mesh. */
  #sendQueued(): void {
    for (const [peer, link] of this.#links) {
      if (link.queue.length === 0) continue
      const target = this.#hub.resolve(link.url)
      if (target === 'stalled') continue
      while (link.queue.length > 0) {
        const messages = link.queue.take(this.#maxFrameBytes - FRAME_OVERHEAD_BYTES)
        const bytes = this.#codec.encode({ version: FRAME_VERSION, from: this.id, clusterId: null, messages })
        if (target === null || !target.accept(this.id, this.#token, bytes)) {
          this.#events.dropped(peer, [...messages, ...link.queue.clear()])
          link.down = true
          break
        }
        if (link.down) this.#events.peer(peer).reconnects++
        link.down = false
        this.#events.sent(peer, messages, bytes.byteLength)
        this.#events.delivered(peer, messages)
      }
    }
  }

  #wake(): void {
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    this.#scheduler.defer(() => {
      this.#flushScheduled = false
      if (!this.#closed) this.#flush()
    })
  }
}
