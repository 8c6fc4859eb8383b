/**
 * What the benchmarks ask of the machine: free loopback ports, CPU time, time waiting for a CPU
 * and RSS of a process from /proc, bytes a directory holds on disk, the load average, waiting for
 * an idle machine (bounded), and making sure etcd, etcdctl and wrk are installed.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, hostname } from 'node:os'
import { join } from 'node:path'
import { childrenOf } from '../../test/proc-fs.ts'
export { freePort } from '../../test/free-ports.ts'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/**
 * CPU seconds (user + system) a process and its child processes have used so far: its own, its
 * children's that ended and were waited for (cutime, cstime), and those of the children still
 * running (a gateway run as several processes: its workers); NaN once it is gone.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const own = (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / CLK_TCK
    return own + sumOverChildren(pid, cpuSeconds)
  } catch {
    return Number.NaN
  }
}

/**
 * Seconds the threads of a process (and of its running child processes) have spent runnable but
 * waiting for a CPU, summed over the threads they have now (field 2 of
 * /proc/<pid>/task/<tid>/schedstat, in ns); NaN when the kernel does not keep these figures or
 * the process is gone. On a host whose cores are all busy, this is the time a process lost to
 * the others: the leader's share of it caps its throughput.
 */
export function cpuWaitSeconds(pid: number): number {
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1])
      } catch {
        // The thread ended meanwhile: its wait is lost with it.
      }
    }
    return ns / 1e9 + sumOverChildren(pid, cpuWaitSeconds)
  } catch {
    return Number.NaN
  }
}

/** `f` summed over the running child processes of `pid` (a child that ends meanwhile counts 0). */
function sumOverChildren(pid: number, f: (child: number) => number): number {
  let sum = 0
  for (const child of childrenOf(pid)) {
    const v = f(child)
    if (!Number.isNaN(v)) sum += v
  }
  return sum
}

/** Resident set size in bytes (VmRSS); NaN once the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? Number.NaN : Number(m[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** Bytes the files under `dir` occupy on disk (allocated blocks, as `du` counts them). */
export function diskBytes(dir: string): number {
  let total = 0
  const walk = (path: string, depth: number): void => {
    if (depth > 32) return
    let st
    try {
      st = lstatSync(path)
    } catch {
      return
    }
    total += st.blocks * 512
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name), depth + 1)
  }
  walk(dir, 0)
  return total
}

/** The 1-, 5- and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const parts = readFileSync('/proc/loadavg', 'utf8').split(' ')
  return [Number(parts[0]), Number(parts[1]), Number(parts[2])]
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.reduce((a, b) => a + b, 0)
  const idle = (v[3] ?? 0) + (v[4] ?? 0) // idle + iowait
  return { busy: total - idle, total }
}

export interface IdleReport {
  /** Load averages when the run started. */
  readonly loadavg: [number, number, number]
  /** Seconds spent waiting. */
  readonly waitedS: number
  /** True when the machine never became idle within the bound (the run went ahead anyway). */
  readonly busy: boolean
}

/**
 * Waits until the 1-minute load average is below `threshold`, at most `maxWaitMs`. The load average
 * lags by about a minute (a run of ours just ended still shows), so a machine whose CPUs are
 * measured ≥ 90 % idle over two consecutive seconds also counts as idle.
 */
export async function waitForIdle(threshold: number, maxWaitMs: number, log: (s: string) => void): Promise<IdleReport> {
  const start = Date.now()
  let told = false
  let idleSeconds = 0
  let prev = machineJiffies()
  for (let i = 0; i < 100_000; i++) {
    const load = loadAverage()
    if (load[0] < threshold || idleSeconds >= 2)
      return { loadavg: load, waitedS: (Date.now() - start) / 1000, busy: false }
    if (Date.now() - start >= maxWaitMs) {
      log(`  machine still busy after ${Math.round(maxWaitMs / 1000)} s (load ${load.join(' ')}); running anyway`)
      return { loadavg: load, waitedS: (Date.now() - start) / 1000, busy: true }
    }
    if (!told) {
      log(`  waiting for an idle machine (load ${load.join(' ')}, threshold ${threshold})…`)
      told = true
    }
    await sleep(1000)
    const now = machineJiffies()
    const frac = (now.busy - prev.busy) / Math.max(1, now.total - prev.total)
    prev = now
    idleSeconds = frac < 0.1 ? idleSeconds + 1 : 0
  }
  return { loadavg: loadAverage(), waitedS: (Date.now() - start) / 1000, busy: true }
}

export function which(cmd: string): string | null {
  const r = spawnSync('which', [cmd], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

/**
 * Makes sure `commands` are on the PATH. When one is missing and we run as root, installs the
 * Debian `packages` with apt-get; otherwise throws with the command to run.
 */
export function ensureTools(commands: readonly string[], packages: readonly string[], log: (s: string) => void): void {
  const missing = commands.filter((c) => which(c) === null)
  if (missing.length === 0) return
  const install = `apt-get install -y ${packages.join(' ')}`
  if (process.getuid?.() !== 0)
    throw new Error(`missing ${missing.join(', ')}: run \`sudo apt-get update && sudo ${install}\` (Debian 12 packages) first`)
  log(`missing ${missing.join(', ')}: ${install}`)
  let r = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit' })
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' })
    r = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit' })
  }
  const still = commands.filter((c) => which(c) === null)
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(', ')}`)
}

/** A one-line description of the machine, for the report. */
export function machineDescription(): string {
  const c = cpus()
  const memGiB = (() => {
    const m = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))
    return m === null ? '?' : (Number(m[1]) / 1024 / 1024).toFixed(1)
  })()
  let os = ''
  try {
    os = /PRETTY_NAME="([^"]*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? ''
  } catch {
    os = ''
  }
  return `${hostname()}: ${c.length} × ${c[0]?.model ?? 'cpu'}, ${memGiB} GiB RAM, ${os}, Node ${process.version}`
}
