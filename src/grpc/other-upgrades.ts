/**
 * Requests asking to upgrade to anything but a WebSocket, answered as the HTTP/1.1 requests they
 * also are, as etcd's Go server does (curl --http2 sends `Upgrade: h2c` on every request).
 *
 * Node hands every request with an `Upgrade` header to the server's 'upgrade' listeners, and
 * @hono/node-server's (the member's peer mesh, and the API over WebSocket on members and the
 * gateway) ignores any but a WebSocket one: such a request got no answer at all. Here the request's head is rebuilt without its upgrade headers and put back
 * in front of the bytes already read, and the connection is handed to the HTTP server again,
 * which reads the request (its body too) as any other.
 *
 * @module
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** Headers that only ask for the upgrade (h2c's HTTP2-Settings with it); Connection loses the same tokens. */
const UPGRADE_ONLY = new Set(['upgrade', 'http2-settings'])

/** Routes `server`'s upgrade requests: WebSocket ones to the listeners it has now, the rest as plain requests. */
export function serveOtherUpgradesPlainly(server: Server): void {
  const websocket = server.listeners('upgrade') as UpgradeListener[]
  server.removeAllListeners('upgrade')
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.headers.upgrade?.toLowerCase() === 'websocket') {
      for (const listener of websocket) listener.call(server, req, socket, head)
      return
    }
    socket.unshift(Buffer.concat([plainHead(req), head]))
    server.emit('connection', socket)
  })
}

/** The request line and headers of `req` without the upgrade, as bytes (header values are latin-1 in Node). */
export function plainHead(req: IncomingMessage): Buffer {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`]
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    const lower = name.toLowerCase()
    if (UPGRADE_ONLY.has(lower)) continue
    if (lower === 'connection') {
      const kept = value.split(',').map((t) => t.trim()).filter((t) => t !== '' && !UPGRADE_ONLY.has(t.toLowerCase()))
      if (kept.length > 0) lines.push(`${name}: ${kept.join(', ')}`)
      continue
    }
    lines.push(`${name}: ${value}`)
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
}
