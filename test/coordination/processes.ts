/**
 * Helpers of the coordination tests. Fixture processes: each is `node --import tsx
 * fixtures/<script>.ts` with one JSON config, appending to a log shared with the others
 * (fixtures/log.ts). The test reads that log, writes commands to a process's stdin, and kills it
 * by PID; `useFixtures` kills whatever is still running after the describe and removes the log
 * directory. Also: a follower to send calls to, and the keys under a prefix.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after } from 'node:test'
import assert from 'node:assert/strict'
import { b64, call, eventually, prefixEnd, unb64, type Cluster } from '../e2e/cluster-harness.ts'
import { killOnExit } from '../kill-on-exit.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const FIXTURES = join(ROOT, 'test', 'coordination', 'fixtures')

/**
 * A member that is not the leader (to exercise forwarding of the blocking calls), once it knows
 * every member's client URL (members publish them shortly after a leader is elected).
 */
export async function follower(cluster: Cluster): Promise<string> {
  const leader = await cluster.leader()
  const url = cluster.url(cluster.memberNames.find((n) => n !== leader.name) as string)
  // A publication proposed while leadership was still settling waits out the request timeout
  // before it is proposed again: on a loaded machine that can take more than 10 s.
  await eventually(
    'every member published its client URL',
    async () => {
      const { members } = await call(url, '/v3/cluster/member/list')
      assert.ok(members.every((m: { clientURLs?: string[] }) => (m.clientURLs ?? []).length > 0))
    },
    { timeoutMs: 30_000 },
  )
  return url
}

/** etcd's error body for the concurrency APIs (500, code 2). */
export function concurrencyError(message: string): { error: string; message: string; code: number } {
  return { error: message, message, code: 2 }
}

/** Keys (as text) under `prefix`, in create order. */
export async function keysUnder(base: string, prefix: string): Promise<string[]> {
  const r = await call(base, '/v3/kv/range', {
    key: b64(prefix), range_end: prefixEnd(prefix), sort_target: 'CREATE', keys_only: true,
  })
  return (r.kvs ?? []).map((kv: { key: string }) => unb64(kv.key))
}

export interface LogLine {
  readonly at: number
  readonly label: string
  readonly event: string
  readonly [field: string]: unknown
}

export class Fixture {
  readonly label: string
  readonly #child: ChildProcess
  readonly exited: Promise<number | string>
  #output = ''

  constructor(script: string, config: Record<string, unknown> & { readonly label: string }) {
    this.label = config.label
    const args = ['--import', 'tsx', join(FIXTURES, `${script}.ts`), JSON.stringify(config)]
    this.#child = killOnExit(spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }))
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-4000)
    }
    this.#child.stdout?.on('data', keep)
    this.#child.stderr?.on('data', keep)
    this.exited = new Promise((res) => this.#child.once('exit', (code, signal) => res(signal ?? code ?? -1)))
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** What the process printed (the tail), for failure messages. */
  get output(): string {
    return this.#output
  }

  /** One command line on the process's stdin. */
  send(line: string): void {
    this.#child.stdin?.write(line + '\n')
  }

  /** kill -9 by PID; resolves with the wall-clock time the signal was sent, once it has exited. */
  async kill(): Promise<number> {
    const at = Date.now()
    if (this.running && this.#child.pid !== undefined) process.kill(this.#child.pid, 'SIGKILL')
    await this.exited
    return at
  }
}

export interface Fixtures {
  /** The shared log file. */
  readonly log: string
  start(script: string, config: Record<string, unknown> & { readonly label: string }): Fixture
  /** Every line of the shared log so far. */
  lines(): LogLine[]
  /** Waits for the first line matching `match`. */
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** Waits for the first `event` logged by `label`. */
  waitForEvent(label: string, event: string): Promise<LogLine>
  /** Whether `label` has logged `event`. */
  logged(label: string, event: string): boolean
}

/** Fixture processes for one describe, killed (by PID) in `after`. */
export function useFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-coordination-'))
  const log = join(dir, 'shared.log')
  const started: Fixture[] = []
  after(async () => {
    await Promise.all(started.map((f) => f.kill()))
    rmSync(dir, { recursive: true, force: true })
  })
  const lines = (): LogLine[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine)
      : []
  return {
    log,
    start(script, config) {
      const fixture = new Fixture(script, { ...config, log })
      started.push(fixture)
      return fixture
    },
    lines,
    waitForEvent(label, event) {
      return this.waitFor(`${label}: ${event}`, (l) => l.label === label && l.event === event)
    },
    logged(label, event) {
      return lines().some((l) => l.label === label && l.event === event)
    },
    waitFor(what, match, timeoutMs = 15_000) {
      return eventually(
        what,
        () => {
          const all = lines()
          const error = all.find((l) => l.event === 'error')
          if (error !== undefined) throw new Error(`${error.label} failed: ${String(error['message'])}`)
          const found = all.find(match)
          if (found === undefined) throw new Error(`not in the log yet (${all.length} lines)`)
          return found
        },
        { timeoutMs, intervalMs: 25 },
      )
    },
  }
}
