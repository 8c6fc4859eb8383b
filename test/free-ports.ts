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
 * A port counts as free when a listener can bind it at the time of the check and no other live
 * process reserved it: each port handed out is reserved for the life of the process by a file
 * named for it under the system's temporary directory (created exclusively, holding the pid). Test
 * files run side by side, and one of them stops and restarts its members on the same ports: without
 * the reservation another could take such a port while it is free. A process outside the tests may
 * still take a port before the test's server does, and then that server fails to start (the test
 * fails, it never passes wrongly).
 *
 * @module
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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

/** Where the ports handed out by live processes are reserved, one file per port. */
export const RESERVATIONS = join(tmpdir(), 'edgecd-test-ports')

/** This process's reservations, removed when it exits. */
const reserved: number[] = []
process.once('exit', () => {
  for (const port of reserved) {
    try {
      unlinkSync(join(RESERVATIONS, String(port)))
    } catch {
      // Already gone.
    }
  }
})

/** Whether process `pid` is alive (one of another user counts). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Reserves `port` for this process: false when another live process holds it. A reservation
 * left by a process that is gone is taken over.
 */
export function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true })
  const file = join(RESERVATIONS, String(port))
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      reserved.push(port)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder = Number.NaN
    try {
      holder = Number(readFileSync(file, 'utf8'))
    } catch {
      continue // Removed meanwhile: try again.
    }
    // (An empty file is one being written: its writer is alive.)
    if (!Number.isInteger(holder) || holder === 0 || holder === process.pid || alive(holder)) return false
    try {
      unlinkSync(file)
    } catch {
      // Another process took it over first; the exclusive create decides.
    }
  }
  return false
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
    // Reserved one by one; a run that another process holds part of is given up (its ports stay
    // reserved, and handed out, by this process: never used, harmless).
    for (const p of ports) handedOut.add(p)
    if (!ports.every(reserve)) continue
    return base
  }
  throw new Error(`no ${count} consecutive free ports found between ${LOW} and ${HIGH}`)
}

/** A port nobody listens on right now, never the same one twice in one process. */
export function freePort(): Promise<number> {
  return freeConsecutivePorts(1)
}
