/**
 * Free TCP ports on 127.0.0.1 for tests: one at a time ({@link freePort}), or a run of consecutive
 * ones (`up()` puts the gateway on one port and its members on the ports after it).
 *
 * A port counts as free when a listener can bind it at the time of the check; another process may
 * still take it before the test's server does, and then that server fails to start (the test fails,
 * it never passes wrongly).
 *
 * @module
 */
import { createServer } from 'node:net'

function listenable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer()
    server.once('error', () => res(false))
    server.listen(port, '127.0.0.1', () => server.close(() => res(true)))
  })
}

/** A base port such that it and the `count - 1` ports after it are free (between 20000 and 50000). */
export async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const free = await Promise.all(Array.from({ length: count }, (_, i) => listenable(base + i)))
    if (free.every(Boolean)) return base
  }
  throw new Error(`no ${count} consecutive free ports found`)
}

/** Ports handed out by {@link freePort} in this test process. */
const handedOut = new Set<number>()

/**
 * A port nobody listens on right now (bind port 0, read it, release it), never the same one twice
 * in one test process (a stopped member's port may be free again, and a later cluster must not
 * collide with a member that is about to restart).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const server = createServer()
      server.once('error', rej)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => res(typeof address === 'object' && address !== null ? address.port : 0))
      })
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}
