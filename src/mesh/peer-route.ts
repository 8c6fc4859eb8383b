/**
 * The accept side of the mesh as a Hono route, in Hono's adapter style: the runtime's
 * `upgradeWebSocket` is a parameter, so this file imports no runtime. The member app mounts it:
 *
 *   const route = createPeerRoute(upgradeWebSocket, mesh)
 *   app.get(route.path, route.handler)
 *
 * The handshake headers are checked before the upgrade: a refused peer gets a plain 401/403/400
 * response and never a socket. Inbound sockets are only read from (each member sends on the
 * connection it dialled itself).
 *
 * @module
 */
import type { Context } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import type { NodeId } from '../raft/types.ts'
import { MEMBER_HEADER, TOKEN_HEADER, type Admission } from './peer-auth.ts'

/** One accepted connection, as the mesh sees it. */
export interface InboundConnection {
  /** Handles one binary frame; false means the connection must be closed. */
  receive(bytes: Uint8Array): boolean
  /** The socket has closed. */
  closed(): void
}

/** What the route needs from a mesh (WsMesh implements it). */
export interface PeerAcceptor {
  readonly path: string
  admit(token: string | undefined, memberId: string | undefined): Admission
  /** An admitted peer's socket is open; `terminate` destroys it. */
  open(from: NodeId, terminate: () => void): InboundConnection
}

export interface PeerRoute {
  readonly path: string
  readonly handler: (c: Context) => Promise<Response>
}

export function createPeerRoute<T>(upgradeWebSocket: UpgradeWebSocket<T>, acceptor: PeerAcceptor): PeerRoute {
  return {
    path: acceptor.path,
    handler: async (c: Context): Promise<Response> => {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return c.text('WebSocket only\n', 426)
      const admission = acceptor.admit(c.req.header(TOKEN_HEADER), c.req.header(MEMBER_HEADER))
      if (!admission.ok) return c.text(`${admission.reason}\n`, admission.status)
      let connection: InboundConnection | null = null
      return upgradeWebSocket(c, {
        onOpen: (_event, ws) => {
          connection = acceptor.open(admission.from, () => terminate(ws))
        },
        onMessage: (event, ws) => {
          const data = event.data
          const ok = data instanceof ArrayBuffer && connection !== null && connection.receive(new Uint8Array(data))
          if (!ok) terminate(ws)
        },
        onClose: () => connection?.closed(),
      })
    },
  }
}

/** Destroys the socket at once when the runtime exposes ws's `terminate`, else closes it politely. */
function terminate<T>(ws: WSContext<T>): void {
  const raw = ws.raw as { terminate?: () => void } | undefined
  if (typeof raw?.terminate === 'function') raw.terminate()
  else ws.close(1008)
}
