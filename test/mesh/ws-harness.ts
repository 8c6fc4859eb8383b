/**
 * Real members on 127.0.0.1 for the WebSocket mesh tests: each ID gets a Hono app served by
 * @hono/node-server with its built-in WebSocket support, the peer route mounted, and a port picked
 * by the OS on first use and kept across restarts.
 *
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { serve, upgradeWebSocket, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { WebSocketServer } from 'ws'
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/mesh/codec.ts'
import type { Admission } from '../../src/mesh/peer-auth.ts'
import { createPeerRoute, type InboundConnection, type PeerAcceptor } from '../../src/mesh/peer-route.ts'
import { PEER_PATH, WsMesh, type WsMeshOptions } from '../../src/mesh/ws-mesh.ts'
import type { NodeId } from '../../src/raft/types.ts'
import type { ContractMeshOptions, MeshHarness } from '../contracts/mesh.contract.ts'

export const TOKEN = 'secret'

/** Forwards to the member's current mesh; refuses while it has none (stopped or not started). */
class Slot implements PeerAcceptor {
  readonly path = PEER_PATH
  mesh: WsMesh | null = null

  admit(token: string | undefined, memberId: string | undefined): Admission {
    if (this.mesh === null) return { ok: false, status: 403, reason: 'member not started' }
    return this.mesh.admit(token, memberId)
  }

  open(from: NodeId, terminate: () => void): InboundConnection {
    if (this.mesh !== null) return this.mesh.open(from, terminate)
    terminate()
    return { receive: () => false, closed: () => {} }
  }
}

interface Member {
  readonly slot: Slot
  port: number
  server: ServerType | Server | null
  readonly sockets: Set<Socket>
}

export class WsHarness implements MeshHarness {
  readonly #members = new Map<NodeId, Member>()
  readonly #options: Partial<WsMeshOptions>
  readonly log: { event: string; fields: Readonly<Record<string, unknown>> }[] = []

  constructor(options: Partial<WsMeshOptions> = {}) {
    this.#options = options
  }

  async prepare(ids: readonly NodeId[]): Promise<void> {
    for (const id of ids) {
      if (this.#members.has(id)) continue
      const member: Member = { slot: new Slot(), port: 0, server: null, sockets: new Set() }
      this.#members.set(id, member)
      await this.#listen(member)
    }
  }

  async start(id: NodeId, peers: readonly NodeId[], options: ContractMeshOptions = {}): Promise<WsMesh> {
    await this.prepare([id, ...peers])
    const member = this.#member(id)
    if (member.server === null) await this.#listen(member)
    const mesh = new WsMesh({
      id,
      clusterToken: options.token ?? TOKEN,
      peers: new Map(peers.map((p) => [p, this.url(p)])),
      backoff: { initialMs: 10, maxMs: 100 },
      log: (event, fields) => this.log.push({ event, fields }),
      ...(options.maxQueueMessages !== undefined ? { maxQueueMessages: options.maxQueueMessages } : {}),
      ...this.#options,
    })
    member.slot.mesh = mesh
    return mesh
  }

  url(id: NodeId): string {
    return `http://127.0.0.1:${this.#member(id).port}`
  }

  async stop(id: NodeId): Promise<void> {
    const member = this.#member(id)
    const mesh = member.slot.mesh
    member.slot.mesh = null
    await mesh?.close()
    const server = member.server
    member.server = null
    for (const socket of member.sockets) socket.destroy()
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Replaces the member by a TCP listener that accepts and never answers. */
  async stall(id: NodeId): Promise<void> {
    await this.stop(id)
    const member = this.#member(id)
    const server = createServer((socket) => {
      member.sockets.add(socket)
      socket.on('close', () => member.sockets.delete(socket))
      socket.pause()
    })
    member.server = server
    await new Promise<void>((resolve) => server.listen(member.port, '127.0.0.1', resolve))
  }

  async close(): Promise<void> {
    for (const id of this.#members.keys()) await this.stop(id)
  }

  #member(id: NodeId): Member {
    const member = this.#members.get(id)
    if (member === undefined) throw new Error(`harness: member ${id} was not prepared`)
    return member
  }

  async #listen(member: Member): Promise<void> {
    const app = new Hono()
    const route = createPeerRoute(upgradeWebSocket, member.slot)
    app.get(route.path, route.handler)
    const maxPayload = this.#options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    const wss = new WebSocketServer({ noServer: true, maxPayload })
    await new Promise<void>((resolve) => {
      const options = { fetch: app.fetch, port: member.port, hostname: '127.0.0.1', websocket: { server: wss } }
      const server = serve(options, (info: AddressInfo) => {
        member.port = info.port
        resolve()
      })
      server.on('connection', (socket: Socket) => {
        member.sockets.add(socket)
        socket.on('close', () => member.sockets.delete(socket))
      })
      member.server = server
    })
  }
}
