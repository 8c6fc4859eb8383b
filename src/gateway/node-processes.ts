/**
 * The gateway as several processes on one port (Node only, node:cluster). A gateway keeps no
 * state that its clients need to see in one place, so N processes can share its listening socket
 * and each serve the connections handed to it: one event loop parses HTTP/1.1, HTTP/2 and gRPC
 * for as many requests as one core allows, and N of them use N cores.
 *
 *   primary (this module)            workers (workers/gateway-node.ts, same entry and flags)
 *     forks `count` workers ───────▶   each builds its own gateway and listens on the port;
 *     accepts connections, hands        node:cluster shares the socket (round-robin: the
 *     each to a worker                  primary accepts, a worker serves the connection)
 *     logs once all listen
 *     restarts a worker that dies (after RESTART_DELAY_MS)
 *     SIGTERM / SIGINT ─────────────▶  SIGTERM to each; exits once all have exited
 *
 * What each worker has of its own: the member directory (each finds the leader itself), call
 * channels and pooled connections to every member, and the login limiter. A client's failed
 * logins are counted by the worker serving its connection, so N workers let a client through up
 * to N × EDGECD_AUTH_FAILURE_LIMIT times before a gateway answers 429 itself (members limit
 * logins on their own as well).
 *
 * Invariants: the primary serves no request. A worker that exits before it ever listened (a port
 * in use, bad flags) stops the whole gateway with exit code 1 instead of being restarted in a loop.
 * A worker whose primary is gone (killed with SIGKILL) exits on its own: node:cluster ends a
 * worker whose channel to the primary closes.
 *
 * @module
 */
import cluster, { type Worker } from 'node:cluster'

/** How long after a worker died a new one is started (a crashing worker must not spin). */
export const RESTART_DELAY_MS = 1000

export interface GatewayProcessesOptions {
  /** How many workers serve the port (at least 2; with 1 there is no need of a primary). */
  readonly count: number
  readonly log: (line: string) => void
  /** The line logged once every worker listens, given the port they share. */
  readonly listening: (port: number) => string
}

/** In the primary: forks and supervises the workers (see the module doc). Returns at once. */
export function superviseGatewayProcesses(options: GatewayProcessesOptions): void {
  const { count, log } = options
  const listened = new Set<number>()
  let announced = false
  let stopping: number | null = null

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
  const stop = (code: number): void => {
    if (stopping !== null) return
    stopping = code
    const workers = live()
    if (workers.length === 0) process.exit(code)
    for (const w of workers) w.process.kill('SIGTERM')
  }

  cluster.on('listening', (worker, address) => {
    listened.add(worker.id)
    if (announced || listened.size < count) return
    announced = true
    log(options.listening(address.port))
  })
  cluster.on('exit', (worker, code, signal) => {
    const how = signal === null ? `code ${code}` : signal
    if (stopping !== null) {
      if (live().length === 0) process.exit(stopping)
      return
    }
    if (!listened.has(worker.id)) {
      log(`edgecd gateway: process ${worker.process.pid} exited (${how}) before it listened; stopping`)
      stop(1)
      return
    }
    log(`edgecd gateway: process ${worker.process.pid} exited (${how}); starting another in ${RESTART_DELAY_MS} ms`)
    setTimeout(() => {
      if (stopping === null) cluster.fork()
    }, RESTART_DELAY_MS)
  })
  for (let i = 0; i < count; i++) cluster.fork()
  const onSignal = (name: string): void => {
    log(`edgecd gateway: ${name}, closing`)
    stop(0)
  }
  process.once('SIGTERM', () => onSignal('SIGTERM'))
  process.once('SIGINT', () => onSignal('SIGINT'))
}
