/**
 * What the dashboard's browser tests run on: a real local cluster started by `up()` (src/cli/up.ts:
 * three member processes and a gateway, free ports, a temp data dir, quick elections), headless
 * Chromium driven by playwright-core, and the etcd calls the tests make beside the page.
 *
 * `killMember` sends one member SIGKILL by PID; `up()` logs its exit and keeps the others serving.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { up, type RunningCluster } from '../../src/cli/up.ts'
import { freeConsecutivePorts } from '../free-ports.ts'
import { killOnExit } from '../kill-on-exit.ts'

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/** The flags headless Chromium needs on these machines (no sandbox as root, no network chatter). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Where screenshots go: the test output dir, one folder per run. */
export const SHOTS = mkdtempSync(join(tmpdir(), 'edgecd-ui-shots-'))

export function b64(text: string): string {
  return Buffer.from(text).toString('base64')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export interface UiCluster {
  readonly cluster: RunningCluster
  readonly gateway: string
  readonly logs: string[]
  /** Member name (m1…) → client URL. */
  readonly members: ReadonlyMap<string, string>
  /** kill -9 one member by PID (and wait until it is gone) without taking the others down. */
  killMember(name: string): Promise<void>
  stop(): Promise<void>
}

export async function startCluster(size = 3): Promise<UiCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-ui-'))
  const base = await freeConsecutivePorts(size + 1)
  const logs: string[] = []
  const cluster = await up({
    size,
    host: '127.0.0.1',
    gatewayPort: base,
    gatewayProcesses: 1,
    memberBasePort: base + 1,
    dataDir: dir,
    clusterToken: `ui-${base}`,
    memberFlags: ['--heartbeat-interval', '50', '--election-timeout', '500'],
    log: (line) => {
      logs.push(line)
      if (logs.length > 400) logs.shift()
    },
  })
  const members = new Map(cluster.memberUrls.map((url, i) => [`m${i + 1}`, url]))
  // If the test process dies without stop(), its children must not outlive it, nor its data dir.
  for (const child of cluster.children) killOnExit(child)
  const onExit = (): void => rmSync(dir, { recursive: true, force: true })
  process.once('exit', onExit)
  const stop = async (): Promise<void> => {
    await cluster.stop()
    process.removeListener('exit', onExit)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor('a leader behind the gateway', async () => {
      const s = await call(cluster.gatewayUrl, '/v3/maintenance/status')
      if (s.leader === undefined || s.leader === '0') throw new Error('no leader yet')
    }, 30_000)
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n${logs.slice(-30).join('\n')}`)
  }
  return {
    cluster,
    gateway: cluster.gatewayUrl,
    logs,
    members,
    async killMember(name: string): Promise<void> {
      const index = Number(name.slice(1)) - 1
      const child = cluster.children[index] as ChildProcess
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      process.kill(child.pid, 'SIGKILL')
      await exited
    },
    stop,
  }
}

/** One etcd API call; anything but 200 throws with the body. */
export async function call(base: string, path: string, body: unknown = {}, token?: string): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== undefined) headers['authorization'] = token
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${path} → ${res.status} ${text}`)
  return JSON.parse(text)
}

export async function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not true after ${timeoutMs} ms: ${(err as Error).message}`)
    }
    await sleep(100)
  }
}

export async function launchBrowser(): Promise<Browser> {
  // playwright gives every launch a fresh, empty profile (--user-data-dir) of its own.
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/** Saves a screenshot of the page to the run's shot dir and returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path })
  return path
}
