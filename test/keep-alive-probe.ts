/**
 * Whether a server keeps an idle kept-alive HTTP/1.1 connection open, as etcd's does (no idle
 * timeout; Node's default closes one after 5 s and a second's grace): `GET path` on a raw socket,
 * `idleMs` of silence, then the same request again on that socket.
 *
 * @module
 */
import { connect } from 'node:net'

export interface IdleProbe {
  /** The server closed the connection while it was idle. */
  readonly closedWhileIdle: boolean
  /** `200 OK` answers received on the connection (2 when it stayed open and answered again). */
  readonly oks: number
  /** Everything the server sent. */
  readonly received: string
}

export async function probeIdleKeepAlive(host: string, port: number, path: string, idleMs = 7000): Promise<IdleProbe> {
  const socket = connect(port, host)
  let received = ''
  let closed = false
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
  socket.on('close', () => (closed = true))
  socket.on('error', () => undefined)
  const oks = (): number => received.match(/HTTP\/1\.1 200 OK/g)?.length ?? 0
  const request = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`
  try {
    socket.write(request)
    await new Promise((r) => setTimeout(r, idleMs))
    const closedWhileIdle = closed
    if (!closed) socket.write(request)
    for (let waited = 0; !closed && oks() < 2 && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50))
    return { closedWhileIdle, oks: oks(), received }
  } finally {
    socket.destroy()
  }
}
