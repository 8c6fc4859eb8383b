/**
 * Free TCP ports on 127.0.0.1 for servers that tests and benchmarks start in other processes: one
 * at a time ({@link freePort}), or a run of consecutive ones (`up()` puts the gateway on one port
 * and its members on the ports after it).
 *
 * Ports come from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`). A port from
 * inside it (what binding port 0 returns) may become the local end of some outgoing connection
 * between the check and the child's `listen`, and then the child fails with EADDRINUSE; nothing
 * takes a port below the range unless it asks for that port.
 *
 * A port counts as free when a listener can bind it at the time of the check; another process may
 * still take it before the test's server does, and then that server fails to start (the test fails,
 * it never passes wrongly).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** Lowest port handed out. */
const LOW = 10_000

/** One past the highest port handed out: the start of the ephemeral range (Linux's default 32768). */
const HIGH = (() => {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(first) && first > LOW + 1_000 ? first : 32_768
  } catch {
    return 32_768
  }
})()

function listenable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer()
    server.once('error', () => res(false))
    server.listen(port, '127.0.0.1', () => server.close(() => res(true)))
  })
}

/**
 * Ports in [LOW, HIGH) that `fetch` refuses to connect to ("bad port" in the Fetch standard's
 * port blocking list); a server there could not be reached by the tests' own requests.
 */
export const FETCH_BLOCKED: ReadonlySet<number> = new Set([10_080])

/** Ports handed out in this process. */
const handedOut = new Set<number>()

/** Whether a port may be handed out: never before in this process, and reachable by `fetch`. */
export function mayHandOut(port: number): boolean {
  return !handedOut.has(port) && !FETCH_BLOCKED.has(port)
}

/**
 * A base port such that it and the `count - 1` ports after it are free and were not handed out
 * before in this process (a stopped member's port may be free again, and a later cluster must not
 * collide with a member that is about to restart), none of them blocked by `fetch`.
 */
export async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - LOW - count))
    const ports = Array.from({ length: count }, (_, i) => base + i)
    if (!ports.every(mayHandOut)) continue
    const free = await Promise.all(ports.map(listenable))
    if (!free.every(Boolean)) continue
    for (const p of ports) handedOut.add(p)
    return base
  }
  throw new Error(`no ${count} consecutive free ports found between ${LOW} and ${HIGH}`)
}

/** A port nobody listens on right now, never the same one twice in one process. */
export function freePort(): Promise<number> {
  return freeConsecutivePorts(1)
}
