/**
 * The chaos test's network: one TCP proxy in front of each member's peer port. Every member's peer
 * URL (in `--initial-cluster`) points at its proxy, so every Raft message a member receives passes
 * through it. Members dial each peer and send only on the connection they dialled (src/mesh), so
 * the proxy of member B sees exactly the traffic A → B, and learns A from the handshake header
 * `x-edgecd-member-id`. Cutting A → B is therefore one-directional (asymmetric partitions for
 * free); a symmetric partition cuts both directions.
 *
 * A cut link is a blackhole, not a refusal: its open connections are destroyed, and a new one is
 * accepted and read, but nothing is forwarded and nothing comes back (the dialler's handshake
 * times out, as on a dead network). Healing destroys the blackholed sockets so the dialler
 * reconnects at once. Client traffic (no member header) is always forwarded.
 *
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

const MEMBER_HEADER = /\r\nx-edgecd-member-id:\s*(\d+)\s*\r\n/i
const MAX_HEAD_BYTES = 16 * 1024

interface Piped {
  readonly from: string | null
  readonly sockets: readonly Socket[]
}

export class PeerProxy {
  readonly port: number
  readonly #server: Server
  readonly #targetPort: number
  /** Member IDs whose traffic into this member is cut. */
  readonly #cut = new Set<string>()
  readonly #piped = new Set<Piped>()
  readonly #holes = new Map<Socket, string>()

  private constructor(server: Server, port: number, targetPort: number) {
    this.#server = server
    this.port = port
    this.#targetPort = targetPort
  }

  /** Listens on `port` (0: any) of 127.0.0.1 and forwards to `targetPort`. */
  static async start(port: number, targetPort: number): Promise<PeerProxy> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    const proxy = new PeerProxy(
      server,
      typeof address === 'object' && address !== null ? address.port : port,
      targetPort,
    )
    server.on('connection', (socket) => proxy.#accept(socket))
    return proxy
  }

  /** Cuts (true) or heals (false) the traffic from member `from` into this member. */
  setCut(from: string, cut: boolean): void {
    if (cut) {
      this.#cut.add(from)
      for (const p of this.#piped) if (p.from === from) for (const s of p.sockets) s.destroy()
    } else {
      this.#cut.delete(from)
      for (const [socket, source] of this.#holes) if (source === from) socket.destroy()
    }
  }

  healAll(): void {
    for (const from of [...this.#cut]) this.setCut(from, false)
  }


  async close(): Promise<void> {
    for (const p of this.#piped) for (const s of p.sockets) s.destroy()
    for (const s of this.#holes.keys()) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** Reads the request head to learn who dials, then pipes or blackholes. */
  #accept(socket: Socket): void {
    let head = Buffer.alloc(0)
    socket.on('error', () => socket.destroy())
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0 && head.length < MAX_HEAD_BYTES) return
      socket.off('data', onData)
      socket.pause()
      const m = MEMBER_HEADER.exec(head.subarray(0, end < 0 ? head.length : end + 2).toString('latin1'))
      const from = m === null ? null : (m[1] as string)
      if (from !== null && this.#cut.has(from)) this.#blackhole(socket, from)
      else this.#pipe(socket, from, head)
    }
    socket.on('data', onData)
  }

  #blackhole(socket: Socket, from: string): void {
    this.#holes.set(socket, from)
    socket.on('close', () => this.#holes.delete(socket))
    socket.on('data', () => undefined)
    socket.resume()
  }

  #pipe(socket: Socket, from: string | null, head: Buffer): void {
    const upstream = connect(this.#targetPort, '127.0.0.1')
    const piped: Piped = { from, sockets: [socket, upstream] }
    this.#piped.add(piped)
    const done = (): void => {
      this.#piped.delete(piped)
      socket.destroy()
      upstream.destroy()
    }
    upstream.on('error', done)
    upstream.on('close', done)
    socket.on('close', done)
    upstream.write(head)
    socket.pipe(upstream)
    upstream.pipe(socket)
    socket.resume()
  }
}
