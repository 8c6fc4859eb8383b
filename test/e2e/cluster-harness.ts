/**
 * The multi-process harness of the end-to-end tests: real member and gateway processes
 * (`process.execPath --import tsx workers/…`), real sockets on 127.0.0.1, data in a fresh temp dir.
 *
 *   const cluster = useCluster({ gateway: true })     // inside a describe: started in before(),
 *   …                                                 // stopped in after(), logs on failure
 *   await cluster.kill('m1')                          // kill -9, waits for the exit
 *   await cluster.restart('m1')                       // same flags, same data dir
 *   const url = await cluster.reservePeer('m4')       // free ports for a member to add (its peer URL)
 *   await cluster.addMember('m4')                     // --initial-cluster-state existing
 *
 * Every process writes its stdout and stderr to `<tmp>/<name>.log`; the tails of these logs are
 * printed when a test fails. `stop()` kills every process it started by PID and removes the temp
 * dir; an exit hook does the same if the test process ends without it. Members also go when the
 * test process dies without running that hook (SIGKILL): each has its stdin a pipe from here and
 * EDGECD_EXIT_WITH_PARENT=1 (src/member/exit-with-parent.ts), so it stops once that pipe closes.
 *
 * Also here: `post` / `call` (one API call, raw HTTP), `LineStream` (a streaming call whose
 * request body stays open, read line by line), `eventually` (poll a condition until a deadline),
 * `startWriters` / `assertAllPresent` (writes under failures, and the check that every
 * acknowledged one is there), and base64 helpers.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { exitOnSignals, killOnExit } from '../kill-on-exit.ts'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, afterEach, before, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { EXIT_WITH_PARENT_ENV } from '../../src/member/exit-with-parent.ts'
import { freePort } from '../free-ports.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const MEMBER_ENTRY = join(ROOT, 'workers', 'member.ts')
const GATEWAY_ENTRY = join(ROOT, 'workers', 'gateway-node.ts')

// ---- small helpers ------------------------------------------------------------------------------

export function b64(text: string | Uint8Array): string {
  return Buffer.from(text).toString('base64')
}

export function unb64(text: string | undefined): string {
  return Buffer.from(text ?? '', 'base64').toString('utf8')
}

/** The range end that makes `prefix` a prefix range (last byte + 1), base64. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix)
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) + 1
  return bytes.toString('base64')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** An error `eventually` does not retry: waiting cannot help (a process crashed). */
export class FatalError extends Error {
  override name = 'FatalError'
}

/**
 * Calls `check` until it returns without throwing, and returns what it returned; after
 * `timeoutMs`, throws its last error (with `what` in front). A {@link FatalError} ends it at once.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T> | T,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  const interval = options.intervalMs ?? 50
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (err instanceof FatalError) throw err
      if (Date.now() >= deadline) {
        const message = err instanceof Error ? err.message : String(err)
        throw new Error(`${what}: not true after ${options.timeoutMs ?? 10_000} ms; last: ${message}`, { cause: err })
      }
    }
    await sleep(interval)
  }
}

export { freePort }

/** A member as member/list answers it. */
export interface ApiMember {
  ID: string
  name?: string
  peerURLs: string[]
  clientURLs?: string[]
  isLearner?: boolean
}

export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: any
}

/**
 * One POST (or `method`) to `base + path`. `body` is sent as is when it is a string, JSON-encoded
 * otherwise. Network failures reject (callers that expect them use `eventually`).
 */
export async function post(
  base: string,
  path: string,
  body: unknown = {},
  options: { readonly timeoutMs?: number; readonly method?: string; readonly headers?: Readonly<Record<string, string>> } = {},
): Promise<HttpAnswer> {
  const method = options.method ?? 'POST'
  const payload = method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const res = await fetch(base + path, {
    method,
    body: payload,
    headers: options.headers,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Like `post`, but anything other than 200 throws (with the body in the message). */
export async function call(base: string, path: string, body: unknown = {}, timeoutMs = 10_000): Promise<any> {
  const answer = await post(base, path, body, { timeoutMs })
  if (answer.status !== 200) throw new Error(`${base}${path} → ${answer.status} ${answer.text}`)
  return answer.json
}

/**
 * A streaming call (watch, keepalive): the request body stays open for `send`, the answer is read
 * line by line with `next`. `close` ends both.
 */
export class LineStream {
  readonly status: number
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #body: ReadableStreamDefaultController<Uint8Array>
  readonly #abort: AbortController
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #ended = false
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null

  private constructor(
    status: number,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    body: ReadableStreamDefaultController<Uint8Array>,
    abort: AbortController,
  ) {
    this.status = status
    this.#reader = reader
    this.#body = body
    this.#abort = abort
  }

  static async open(
    base: string,
    path: string,
    first: unknown,
    timeoutMs = 10_000,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<LineStream> {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c
        c.enqueue(new TextEncoder().encode(typeof first === 'string' ? first : JSON.stringify(first)))
      },
    })
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(new Error(`${path}: no answer within ${timeoutMs} ms`)), timeoutMs)
    try {
      const init = { method: 'POST', body, headers, signal: abort.signal, duplex: 'half' } as RequestInit
      const res = await fetch(base + path, init)
      const reader = (res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })).getReader()
      return new LineStream(res.status, reader, controller as ReadableStreamDefaultController<Uint8Array>, abort)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends one more request object on the open request body. */
  send(message: unknown): void {
    this.#body.enqueue(new TextEncoder().encode(typeof message === 'string' ? message : JSON.stringify(message)))
  }

  /** Ends the request body (the response may stay open: watch). */
  endRequest(): void {
    try {
      this.#body.close()
    } catch {
      // already closed
    }
  }

  /** The next line, parsed; null when the answer ended; throws after `timeoutMs` without one. */
  async next(timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const nl = this.#buffer.indexOf('\n')
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl).trim()
        this.#buffer = this.#buffer.slice(nl + 1)
        if (line !== '') return JSON.parse(line)
        continue
      }
      if (this.#ended) {
        const rest = this.#buffer.trim()
        this.#buffer = ''
        return rest === '' ? null : JSON.parse(rest)
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no stream message within ${timeoutMs} ms (buffered: ${JSON.stringify(this.#buffer)})`)
      this.#pending ??= this.#reader.read()
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))
      const result = await Promise.race([this.#pending, timeout])
      clearTimeout(timer)
      if (result === 'timeout') continue
      this.#pending = null
      if (result.done) this.#ended = true
      else this.#buffer += this.#decoder.decode(result.value, { stream: true })
    }
  }

  /** Asserts that no message arrives within `ms` (the stream may stay open). */
  async expectQuiet(ms: number): Promise<void> {
    let message: unknown
    try {
      message = await this.next(ms)
    } catch {
      return
    }
    throw new Error(`expected no stream message, got ${JSON.stringify(message)}`)
  }

  close(): void {
    this.endRequest()
    this.#abort.abort()
    this.#reader.cancel().catch(() => undefined)
  }
}

// ---- writers ----------------------------------------------------------------------------------

export interface Ack {
  readonly key: string
  readonly value: string
  readonly revision: number
}

/**
 * Writers, one per endpoint, each putting its own keys one after another; only answers with 200
 * count as acknowledged. A put that gets no answer within 3 s, or is still in flight at `stop`,
 * has an unknown outcome and does not count.
 */
export function startWriters(endpoints: ReadonlyArray<readonly [string, string]>): {
  acks: Ack[][]
  count: () => number
  stop: () => Promise<void>
} {
  let stopped = false
  const inFlight = new Set<AbortController>()
  const acks = endpoints.map((): Ack[] => [])
  const put = async (url: string, key: string, value: string): Promise<number | null> => {
    // One controller per request, held here (not AbortSignal.any, whose composite signal Node 20
    // may collect before it fires), and a timer race in case the body never settles.
    const ac = new AbortController()
    inFlight.add(ac)
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => {
        ac.abort()
        r(null)
      }, 3000)
    })
    const request = (async (): Promise<number | null> => {
      const res = await fetch(`${url}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(key), value: b64(value) }),
        signal: ac.signal,
      })
      const body = (await res.json()) as { header?: { revision?: string } }
      return res.status === 200 ? Number(body.header?.revision) : null
    })().catch(() => null)
    try {
      return await Promise.race([request, timeout])
    } finally {
      clearTimeout(timer)
      inFlight.delete(ac)
    }
  }
  const loops = endpoints.map(async ([name, url], w) => {
    for (let seq = 0; !stopped; seq++) {
      const key = `f/${name}/${String(seq).padStart(5, '0')}`
      const value = `${name}-${seq}`
      const revision = await put(url, key, value)
      // Answered after stop: still acknowledged, and must be there.
      if (revision !== null) acks[w]?.push({ key, value, revision })
      else await sleep(20)
    }
  })
  return {
    acks,
    count: () => acks.reduce((n, a) => n + a.length, 0),
    stop: async () => {
      stopped = true
      for (const ac of inFlight) ac.abort()
      await Promise.all(loops)
    },
  }
}

/** Every acknowledged put (under `f/`) is in the store of `url` with its value and revision. */
export async function assertAllPresent(url: string, acks: readonly Ack[], serializable = false): Promise<void> {
  const got = await call(url, '/v3/kv/range', { key: b64('f/'), range_end: prefixEnd('f/'), serializable }, 20_000)
  const stored = new Map<string, { value: string; revision: number }>()
  for (const kv of got.kvs ?? [])
    stored.set(unb64(kv.key), { value: unb64(kv.value), revision: Number(kv.mod_revision) })
  const missing = acks.filter((a) => stored.get(a.key)?.value !== a.value || stored.get(a.key)?.revision !== a.revision)
  assert.deepEqual(missing, [], `acknowledged writes missing or changed on ${url}`)
}

// ---- processes ----------------------------------------------------------------------------------

export interface ClusterOptions {
  /** Founding members, named m1…mN. Default 3. */
  readonly size?: number
  /** Also start a gateway in front of the founding members. Default false. */
  readonly gateway?: boolean
  /** Extra flags for every member. */
  readonly memberFlags?: readonly string[]
  /** Default 50 and 500, so elections are quick. */
  readonly heartbeatMs?: number
  readonly electionMs?: number
  /** Serve peers on ports of their own (--listen-peer-urls), as etcd's members do. Default false: one port for all. */
  readonly peerPorts?: boolean
}

interface Proc {
  readonly name: string
  readonly kind: 'member' | 'gateway'
  readonly url: string
  /** A member's peer URL: `url` itself unless the cluster has peer ports. */
  readonly peerUrl: string
  readonly log: string
  args: string[]
  child: ChildProcess | null
  /** Resolves when the current child has exited. */
  exited: Promise<void>
  /** Set when the harness killed it on purpose; an exit without it is a crash. */
  expectedExit: boolean
  lastExit: string | null
  /** The member ID, once a status answer showed it. */
  id: string | null
}

/** Data dirs of every cluster in this process, removed on exit if a test run dies. */
const DIRS = new Set<string>()
process.once('exit', () => {
  for (const dir of DIRS) rmSync(dir, { recursive: true, force: true })
})
// A signal (Ctrl-C, the test runner giving up on the file) ends the process through its exit hooks.
exitOnSignals()

export interface LeaderInfo {
  readonly id: string
  readonly name: string
  readonly url: string
}

/**
 * etcd's default timing (heartbeat 100 ms, election 1 s), for suites that never stop a member:
 * an election there comes only from a loaded machine, and is not what they test.
 */
export const STEADY_TIMING = { heartbeatMs: 100, electionMs: 1000 } as const

export class Cluster {
  readonly options: Required<ClusterOptions>
  readonly dir: string
  readonly #procs = new Map<string, Proc>()
  #stopped = false

  constructor(options: ClusterOptions = {}) {
    this.options = {
      size: options.size ?? 3,
      gateway: options.gateway ?? false,
      memberFlags: options.memberFlags ?? [],
      heartbeatMs: options.heartbeatMs ?? 50,
      electionMs: options.electionMs ?? 500,
      peerPorts: options.peerPorts ?? false,
    }
    this.dir = mkdtempSync(join(tmpdir(), 'edgecd-e2e-'))
    DIRS.add(this.dir)
  }

  /** Starts the founding members (and the gateway) and waits for a leader everyone agrees on. */
  async start(): Promise<void> {
    const names = Array.from({ length: this.options.size }, (_, i) => `m${i + 1}`)
    const urls = new Map<string, { url: string; peerUrl: string }>()
    for (const name of names) urls.set(name, await this.#freeUrls())
    const initial = names.map((n) => `${n}=${urls.get(n)?.peerUrl}`).join(',')
    for (const name of names) {
      const { url, peerUrl } = urls.get(name) as { url: string; peerUrl: string }
      this.#add(name, 'member', { url, peerUrl }, this.#memberArgs(name, url, peerUrl, initial, 'new', []))
    }
    if (this.options.gateway) {
      const url = `http://127.0.0.1:${await freePort()}`
      const endpoints = names.map((n) => urls.get(n)?.url).join(',')
      const listen = url.slice('http://'.length)
      this.#add('gateway', 'gateway', { url, peerUrl: url }, [GATEWAY_ENTRY, '--listen', listen, '--endpoints', endpoints])
    }
    for (const p of this.#procs.values()) this.#spawn(p)
    try {
      await this.waitForLeader(20_000)
      if (this.options.gateway) {
        await eventually('the gateway answers', async () => {
          const res = await post(this.gatewayUrl, '/v3/maintenance/status', {}, { timeoutMs: 2000 })
          if (res.status !== 200) throw new Error(res.text)
        })
      }
    } catch (err) {
      this.printLogs(`cluster start failed: ${(err as Error).message}`)
      throw err
    }
  }

  // ---- who is where -----------------------------------------------------------------------------

  /** Names of members (not the gateway), in the order they were added. */
  get memberNames(): string[] {
    return [...this.#procs.values()].filter((p) => p.kind === 'member').map((p) => p.name)
  }

  /** Names of the members whose process is running. */
  get runningMembers(): string[] {
    return this.memberNames.filter((n) => this.isRunning(n))
  }

  /** Where the member serves clients. */
  url(name: string): string {
    return this.#proc(name).url
  }

  /** Where the member serves its peers: its client URL, unless the cluster has peer ports. */
  peerUrl(name: string): string {
    return this.#proc(name).peerUrl
  }

  get gatewayUrl(): string {
    return this.#proc('gateway').url
  }

  isRunning(name: string): boolean {
    const child = this.#procs.get(name)?.child
    return child !== null && child !== undefined && child.exitCode === null && child.signalCode === null
  }

  pid(name: string): number | undefined {
    return this.#proc(name).child?.pid
  }

  dataDir(name: string): string {
    return join(this.dir, name)
  }

  /** The member's ID as its status answers say (decimal string). */
  async memberId(name: string): Promise<string> {
    const p = this.#proc(name)
    if (p.id === null) p.id = (await call(p.url, '/v3/maintenance/status')).header.member_id as string
    return p.id
  }

  nameOf(id: string): string | undefined {
    return [...this.#procs.values()].find((p) => p.id === id)?.name
  }

  // ---- waiting -----------------------------------------------------------------------------------

  /**
   * Waits until every running member (or `among`) reports the same leader, and that leader is one
   * of them. Returns it.
   */
  async waitForLeader(timeoutMs = 10_000, among: readonly string[] = this.runningMembers): Promise<LeaderInfo> {
    return eventually(
      'a leader all running members agree on',
      async () => {
        this.#assertNoCrash()
        const seen = await Promise.all(
          among.map(async (name) => {
            const s = await call(this.url(name), '/v3/maintenance/status', {}, 1000)
            this.#proc(name).id = s.header.member_id as string
            return s.leader as string | undefined
          }),
        )
        const leader = seen[0]
        if (leader === undefined || leader === '0' || seen.some((l) => l !== leader))
          throw new Error(`leaders seen: ${JSON.stringify(seen)}`)
        const name = this.nameOf(leader)
        if (name === undefined || !among.includes(name))
          throw new Error(`leader ${leader} is not among ${among.join(',')}`)
        return { id: leader, name, url: this.url(name) }
      },
      { timeoutMs, intervalMs: 50 },
    )
  }

  /** The current leader (after agreement of the running members). */
  leader(timeoutMs = 10_000): Promise<LeaderInfo> {
    return this.waitForLeader(timeoutMs)
  }

  /** Where a client may send a call, each named: a follower, the leader, and the gateway (if any). */
  async clientEndpoints(): Promise<Array<[string, string]>> {
    const leader = await this.leader()
    const follower = this.runningMembers.find((n) => n !== leader.name) as string
    const all: Array<[string, string]> = [[`follower ${follower}`, this.url(follower)], [`leader ${leader.name}`, leader.url]]
    if (this.options.gateway) all.push(['gateway', this.gatewayUrl])
    return all
  }

  /** Waits until every running member (or `among`) has the same revision and the same HashKV at it. */
  async waitForConvergence(
    timeoutMs = 20_000,
    among: readonly string[] = this.runningMembers,
  ): Promise<{ revision: number; hash: number }> {
    return eventually(
      `members ${among.join(',')} converge`,
      async () => {
        this.#assertNoCrash()
        const states = await Promise.all(
          among.map(async (name) => {
            const s = await call(this.url(name), '/v3/maintenance/status', {}, 2000)
            return { name, revision: Number(s.header.revision), applied: Number(s.raftAppliedIndex) }
          }),
        )
        const revision = states[0]?.revision as number
        if (states.some((s) => s.revision !== revision)) throw new Error(`revisions differ: ${JSON.stringify(states)}`)
        const hashes = await Promise.all(
          among.map(async (name) => {
            const h = await call(this.url(name), '/v3/maintenance/hashkv', { revision }, 2000)
            const whole = await call(this.url(name), '/v3/maintenance/hash', {}, 2000)
            return { name, hashkv: h.hash as number, hash: whole.hash as number, rev: Number(whole.header.revision) }
          }),
        )
        const first = hashes[0] as { hashkv: number; hash: number }
        if (hashes.some((h) => h.hashkv !== first.hashkv || h.hash !== first.hash || h.rev !== revision))
          throw new Error(`hashes differ at revision ${revision}: ${JSON.stringify(hashes)}`)
        return { revision, hash: first.hashkv }
      },
      { timeoutMs, intervalMs: 100 },
    )
  }

  // ---- changing things ------------------------------------------------------------------------

  /** Sends `signal` (SIGKILL: kill -9) to the process and waits until it has exited. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.#proc(name)
    if (!this.isRunning(name)) return
    p.expectedExit = true
    p.child?.kill(signal)
    let timer: ReturnType<typeof setTimeout> | undefined
    const force = new Promise<void>((r) => {
      timer = setTimeout(() => {
        p.child?.kill('SIGKILL')
        r()
      }, 10_000)
    })
    await Promise.race([p.exited, force])
    await p.exited
    clearTimeout(timer)
  }

  /** Starts the process again with the same flags (and the same data dir). */
  async restart(name: string): Promise<void> {
    const p = this.#proc(name)
    if (this.isRunning(name)) throw new Error(`${name} is still running`)
    this.#spawn(p)
  }

  /** Reserves free ports for a member to add later; returns its peer URL (its client URL too, without peer ports). */
  async reservePeer(name: string): Promise<string> {
    if (this.#procs.has(name)) throw new Error(`${name} exists`)
    const urls = await this.#freeUrls()
    this.#add(name, 'member', urls, [])
    return urls.peerUrl
  }

  /**
   * Starts a member that was added through the API (`member/add`) on the URL `reservePeer` gave:
   * `--initial-cluster-state existing`, `--initial-cluster` listing every member's URL.
   */
  async addMember(name: string, flags: readonly string[] = []): Promise<void> {
    const p = this.#proc(name)
    const initial = this.memberNames
      .filter((n) => n === name || this.#proc(n).args.length > 0)
      .map((n) => `${n}=${this.peerUrl(n)}`)
      .join(',')
    p.args = this.#memberArgs(name, p.url, p.peerUrl, initial, 'existing', flags)
    this.#spawn(p)
  }

  /** Waits until the process exits by itself (e.g. a removed member), which is then no crash. */
  async waitForExit(name: string, timeoutMs = 10_000): Promise<string> {
    const p = this.#proc(name)
    p.expectedExit = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)))
    const how = await Promise.race([p.exited.then(() => 'exited' as const), late])
    clearTimeout(timer)
    if (how === 'late') throw new Error(`${name} still runs after ${timeoutMs} ms`)
    return p.lastExit as string
  }

  /** Fails (with the log tail) if a process the harness did not stop has exited. */
  assertAlive(): void {
    this.#assertNoCrash()
  }

  /** Stops everything this cluster started (by PID) and removes its temp dir. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await Promise.all(
      [...this.#procs.values()].map(async (p) => {
        if (p.child === null || !this.isRunning(p.name)) return
        p.expectedExit = true
        p.child.kill('SIGKILL')
        await p.exited
      }),
    )
    rmSync(this.dir, { recursive: true, force: true })
    DIRS.delete(this.dir)
  }

  /** The last `lines` lines of a process's log. */
  logTail(name: string, lines = 30): string {
    const path = this.#proc(name).log
    if (!existsSync(path)) return '(no log)'
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  }

  /** Prints every process's log tail to stderr (a failing test calls this). */
  printLogs(why: string, lines = 25): void {
    const parts = [`\n==== ${why}; logs in ${this.dir} ====`]
    for (const p of this.#procs.values()) {
      const state = this.isRunning(p.name)
        ? `running, pid ${p.child?.pid}`
        : `not running (${p.lastExit ?? 'never started'})`
      parts.push(`---- ${p.name} (${state}) ----`, this.logTail(p.name, lines))
    }
    process.stderr.write(parts.join('\n') + '\n')
  }

  // ---- internals ------------------------------------------------------------------------------

  /** A client URL on a free port, and a peer URL: on another free port with peer ports, else the same. */
  async #freeUrls(): Promise<{ url: string; peerUrl: string }> {
    const url = `http://127.0.0.1:${await freePort()}`
    return { url, peerUrl: this.options.peerPorts ? `http://127.0.0.1:${await freePort()}` : url }
  }

  #memberArgs(
    name: string,
    url: string,
    peerUrl: string,
    initial: string,
    state: 'new' | 'existing',
    flags: readonly string[],
  ): string[] {
    return [
      MEMBER_ENTRY,
      '--name', name,
      '--data-dir', this.dataDir(name),
      '--listen-client-urls', url,
      ...(peerUrl === url ? [] : ['--listen-peer-urls', peerUrl]),
      '--initial-cluster', initial,
      '--initial-cluster-token', `e2e-${this.dir.slice(-6)}`,
      '--initial-cluster-state', state,
      '--heartbeat-interval', String(this.options.heartbeatMs),
      '--election-timeout', String(this.options.electionMs),
      ...this.options.memberFlags,
      ...flags,
    ]
  }

  #add(name: string, kind: Proc['kind'], urls: { url: string; peerUrl: string }, args: string[]): void {
    this.#procs.set(name, {
      name, kind, ...urls, args,
      log: join(this.dir, `${name}.log`),
      child: null,
      exited: Promise.resolve(),
      expectedExit: false,
      lastExit: null,
      id: null,
    })
  }

  #spawn(p: Proc): void {
    if (this.#stopped) throw new Error('the cluster was stopped')
    const fd = openSync(p.log, 'a')
    writeSync(fd, `---- ${new Date().toISOString()} starting ${p.name}: ${p.args.slice(1).join(' ')}\n`)
    const member = p.kind === 'member'
    const child = spawn(process.execPath, ['--import', 'tsx', ...p.args], {
      cwd: ROOT,
      stdio: [member ? 'pipe' : 'ignore', fd, fd],
      env: member ? { ...process.env, [EXIT_WITH_PARENT_ENV]: '1' } : process.env,
    })
    closeSync(fd)
    p.child = child
    p.expectedExit = false
    killOnExit(child)
    p.exited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => {
        p.lastExit = signal !== null ? `killed by ${signal}` : `exit code ${code}`
        res()
      })
    })
  }

  #proc(name: string): Proc {
    const p = this.#procs.get(name)
    if (p === undefined) throw new Error(`no process named ${name}`)
    return p
  }

  #assertNoCrash(): void {
    for (const p of this.#procs.values()) {
      if (p.child !== null && !p.expectedExit && !this.isRunning(p.name))
        throw new FatalError(`${p.name} exited unexpectedly (${p.lastExit}):\n${this.logTail(p.name, 15)}`)
    }
  }
}

/** The test failed: `passed` is set by Node (since 20.12) but missing from @types/node 20. */
function failed(t: object): boolean {
  return (t as { passed?: boolean }).passed === false
}

/**
 * A cluster for the tests of one `describe`: started in `before`, its logs printed after each
 * failing test, stopped (every process killed, temp dir removed) in `after`.
 */
export function useCluster(options: ClusterOptions = {}): Cluster {
  const cluster = new Cluster(options)
  before(() => cluster.start())
  afterEach((t) => {
    if (failed(t)) cluster.printLogs(`test "${t.name}" failed`)
  })
  after(() => cluster.stop())
  return cluster
}

/** A cluster for one test (it may break it): stopped when the test ends, logs printed if it failed. */
export async function startCluster(t: TestContext, options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(options)
  t.after(async () => {
    if (failed(t)) cluster.printLogs(`test "${t.name}" failed`)
    await cluster.stop()
  })
  await cluster.start()
  return cluster
}
