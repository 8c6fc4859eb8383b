/**
 * The chaos test's cluster: member processes (`workers/member.ts` under tsx) on 127.0.0.1, each
 * with its client port and a {@link PeerProxy} in front of its peer traffic (its peer URL in
 * `--initial-cluster` is the proxy's). Data dirs and logs live under the run's folder and outlive
 * kills, so a killed member restarts on the same data dir.
 *
 * Everything it starts it stops by PID (`stop()`), and an exit hook kills what is left if the
 * test process dies first. A SIGSTOPped member is SIGCONTed before it is killed. Members also go
 * when this process dies without running its exit hook (SIGKILL, out of memory): each has its
 * stdin a pipe from here and EDGECD_EXIT_WITH_PARENT=1 (src/member/exit-with-parent.ts), so it
 * stops once that pipe closes (a member paused at that moment, once it is continued).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { killOnExit } from '../kill-on-exit.ts'
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT_WITH_PARENT_ENV } from '../../src/member/exit-with-parent.ts'
import { PeerProxy } from './proxy.ts'
import { freePort } from '../free-ports.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const MEMBER_ENTRY = join(ROOT, 'workers', 'member.ts')

export interface ClusterOptions {
  readonly size: number
  /** The run's folder: data dirs and logs go under it. */
  readonly dir: string
  readonly heartbeatMs: number
  readonly electionMs: number
  /** The members' `--log-level` (default warn; info logs elections and restarts). */
  readonly logLevel?: string
  /** Extra flags for every member. */
  readonly memberFlags?: readonly string[]
  /** Extra environment for every member unless `spawn` is given its own. */
  readonly env?: Readonly<Record<string, string>>
}

export interface MemberProc {
  readonly name: string
  readonly clientUrl: string
  readonly proxy: PeerProxy
  readonly dataDir: string
  readonly log: string
  /** Decimal member ID, learned from the first status answer. */
  id: string | null
  child: ChildProcess | null
  exited: Promise<void>
  paused: boolean
  /** Set while the test stops it on purpose; an exit without it is a crash. */
  expectedExit: boolean
  lastExit: string | null
}

export interface Status {
  readonly id: string
  readonly leader: string
  readonly term: number
  readonly revision: number
  readonly applied: number
}

export class ChaosCluster {
  readonly options: ClusterOptions
  readonly members: MemberProc[] = []
  #token = ''
  #initial = ''
  /** Members that exited on their own and were started again since, with how they ended. */
  readonly #crashes: string[] = []

  constructor(options: ClusterOptions) {
    this.options = options
  }

  async start(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true })
    this.#token = `chaos-${process.pid}-${Date.now().toString(36)}`
    for (let i = 1; i <= this.options.size; i++) {
      const name = `m${i}`
      const clientPort = await freePort()
      const proxy = await PeerProxy.start(0, clientPort)
      this.members.push({
        name,
        clientUrl: `http://127.0.0.1:${clientPort}`,
        proxy,
        dataDir: join(this.options.dir, name),
        log: join(this.options.dir, `${name}.log`),
        id: null,
        child: null,
        exited: Promise.resolve(),
        paused: false,
        expectedExit: false,
        lastExit: null,
      })
    }
    this.#initial = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.proxy.port}`).join(',')
    for (const m of this.members) this.spawn(m.name)
    await this.waitForLeader(30_000)
  }

  member(name: string): MemberProc {
    const m = this.members.find((p) => p.name === name)
    if (m === undefined) throw new Error(`no member ${name}`)
    return m
  }

  byId(id: string): MemberProc | undefined {
    return this.members.find((m) => m.id === id)
  }

  get clientUrls(): string[] {
    return this.members.map((m) => m.clientUrl)
  }

  isRunning(name: string): boolean {
    const child = this.member(name).child
    return child !== null && child.exitCode === null && child.signalCode === null
  }

  /** Starts (or restarts, on the same data dir) a member; `env` adds variables (disk faults). */
  spawn(name: string, env: Readonly<Record<string, string>> = this.options.env ?? {}): void {
    const m = this.member(name)
    if (this.isRunning(name)) throw new Error(`${name} is running`)
    // A crash stays on record when the member is started again (by a fault, or by the heal).
    if (m.child !== null && !m.expectedExit) this.#crashes.push(`${name} (${m.lastExit})`)
    const args = [
      '--import',
      'tsx',
      MEMBER_ENTRY,
      '--name',
      name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.proxy.port}`,
      '--initial-cluster',
      this.#initial,
      '--initial-cluster-token',
      this.#token,
      '--heartbeat-interval',
      String(this.options.heartbeatMs),
      '--election-timeout',
      String(this.options.electionMs),
      '--log-level',
      this.options.logLevel ?? 'warn',
      ...(this.options.memberFlags ?? []),
    ]
    const fd = openSync(m.log, 'a')
    writeSync(fd, `---- ${new Date().toISOString()} starting ${name} ${JSON.stringify(env)}\n`)
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['pipe', fd, fd],
      env: { ...process.env, ...env, [EXIT_WITH_PARENT_ENV]: '1' },
    })
    closeSync(fd)
    killOnExit(child)
    m.child = child
    m.paused = false
    m.expectedExit = false
    m.exited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => {
        m.lastExit = signal !== null ? `killed by ${signal}` : `exit code ${code}`
        res()
      })
    })
  }

  /** kill -9 (or `signal`) and wait for the exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.member(name)
    if (!this.isRunning(name) || m.child === null) return
    m.expectedExit = true
    m.child.kill(signal)
    if (m.paused) m.child.kill('SIGCONT')
    m.paused = false
    await m.exited
  }

  /** The PID of the member's process while it runs; null when it does not. */
  pidOf(name: string): number | null {
    return this.isRunning(name) ? (this.member(name).child?.pid ?? null) : null
  }

  /** Whether the member's process answers a status call (so it has started: its signal handlers are set). */
  async answers(name: string): Promise<boolean> {
    if (!this.isRunning(name)) return false
    return this.status(name).then(
      () => true,
      () => false,
    )
  }

  signal(name: string, signal: NodeJS.Signals): void {
    const m = this.member(name)
    if (!this.isRunning(name) || m.child === null) return
    m.child.kill(signal)
    if (signal === 'SIGSTOP') m.paused = true
    if (signal === 'SIGCONT') m.paused = false
  }

  /** Cuts or heals the traffic `from` → `to` (member names). */
  setLink(from: string, to: string, cut: boolean): void {
    const id = this.member(from).id
    if (id === null) throw new Error(`the ID of ${from} is not known yet`)
    this.member(to).proxy.setCut(id, cut)
  }

  healNetwork(): void {
    for (const m of this.members) m.proxy.healAll()
  }

  async status(name: string, timeoutMs = 1000): Promise<Status> {
    const m = this.member(name)
    const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(timeoutMs),
    })
    const s = (await res.json()) as Record<string, any>
    if (res.status !== 200) throw new Error(`${name}: status ${res.status} ${JSON.stringify(s)}`)
    const id = String(s['header'].member_id)
    m.id = id
    return {
      id,
      leader: String(s['leader'] ?? '0'),
      term: Number(s['raftTerm'] ?? 0),
      revision: Number(s['header'].revision ?? 0),
      applied: Number(s['raftAppliedIndex'] ?? 0),
    }
  }

  /** Statuses of the running, unpaused members that answer (others are left out). */
  async statuses(timeoutMs = 1000): Promise<Map<string, Status>> {
    const out = new Map<string, Status>()
    await Promise.all(
      this.members
        .filter((m) => this.isRunning(m.name) && !m.paused)
        .map(async (m) => {
          try {
            out.set(m.name, await this.status(m.name, timeoutMs))
          } catch {
            // not answering
          }
        }),
    )
    return out
  }

  /** The leader a majority of the members currently reports, or null. */
  async leader(): Promise<MemberProc | null> {
    const seen = new Map<string, number>()
    for (const s of (await this.statuses()).values())
      if (s.leader !== '0') seen.set(s.leader, (seen.get(s.leader) ?? 0) + 1)
    for (const [id, n] of seen) if (n > this.options.size / 2) return this.byId(id) ?? null
    return null
  }

  /** Waits until every running member reports the same leader; returns it. */
  async waitForLeader(timeoutMs: number): Promise<MemberProc> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      this.assertNoCrash()
      const statuses = await this.statuses()
      const running = this.members.filter((m) => this.isRunning(m.name) && !m.paused)
      const leaders = new Set([...statuses.values()].map((s) => s.leader))
      const leader = leaders.size === 1 ? this.byId([...leaders][0] as string) : undefined
      if (statuses.size === running.length && leader !== undefined) return leader
      if (Date.now() > deadline)
        throw new Error(`no agreed leader after ${timeoutMs} ms: ${JSON.stringify([...statuses])}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Throws (with the log tail) if a member is down after exiting without the test stopping it. */
  assertNoCrash(): void {
    for (const m of this.members) {
      if (m.child !== null && !m.expectedExit && !this.isRunning(m.name))
        throw new Error(`${m.name} exited unexpectedly (${m.lastExit}):\n${this.logTail(m.name)}`)
    }
  }

  /** Every exit of a member that the test did not cause, as `name (how it ended)`, restarted ones included. */
  crashed(): string[] {
    const now = this.members
      .filter((m) => m.child !== null && !m.expectedExit && !this.isRunning(m.name))
      .map((m) => `${m.name} (${m.lastExit})`)
    return [...this.#crashes, ...now]
  }

  logTail(name: string, lines = 20): string {
    try {
      return readFileSync(this.member(name).log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return '(no log)'
    }
  }

  /** Kills every member (SIGCONT first if paused) by PID and closes the proxies. */
  async stop(): Promise<void> {
    for (const m of this.members) if (m.paused) this.signal(m.name, 'SIGCONT')
    await Promise.all(this.members.map((m) => this.kill(m.name)))
    await Promise.all(this.members.map((m) => m.proxy.close()))
  }
}
