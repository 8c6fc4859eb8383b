/**
 * Runs the gateway as a Worker for tests: `wrangler dev` in local mode (its workerd binary comes
 * from the npm package) with the repository's wrangler.toml, on 127.0.0.1 and free ports, offline.
 * The member endpoints and the other settings reach the Worker as `--var EDGECD_*:…` (its env).
 *
 *   const gw = await startWorkersGateway({ endpoints: cluster.urls, requestTimeoutMs: 1000 })
 *   await fetch(`${gw.url}/v3/kv/range`, …)
 *   await gw.close()        // SIGTERM to wrangler's process group (wrangler, workerd, esbuild)
 *
 * Nothing is written to the home directory or the repository's state: XDG_CONFIG_HOME (wrangler's
 * global config, metrics consent, logs) and `--persist-to` point into a fresh temp dir, removed on
 * close. The one exception is wrangler's own bundle scratch dir, `.wrangler/tmp/` next to
 * wrangler.toml (gitignored), which wrangler removes when it exits.
 *
 * wrangler's node process is spawned directly (`wrangler-dist/cli.js`, not the `bin/` shim that
 * re-spawns it) in its own process group, so its PID is the group's: `close` signals the group,
 * waits for wrangler to exit, and kills the group with SIGKILL if it has not after 5 s. An exit
 * hook (test/kill-on-exit.ts, with signals routed through it) does the same for gateways a dying
 * test left behind.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_LOGIN_LIMITS, type GatewayOptions } from '../../src/gateway/index.ts'
import type { RunningGateway } from './serve-gateway.ts'
import { freePort } from '../free-ports.ts'
import { exitOnSignals, forget, killOnExit } from '../kill-on-exit.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'wrangler-dist', 'cli.js')
const READY_TIMEOUT_MS = 30_000

/** The environment that keeps wrangler offline and quiet (stack-notes.md) plus its config dir. */
function wranglerEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    XDG_CONFIG_HOME: join(dir, 'config'),
    WRANGLER_LOG_PATH: join(dir, 'logs'),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  }
}

export { freePort }

/** The Worker's env for these options. Options with no EDGECD_* variable are refused, not dropped. */
export function workerVars(options: GatewayOptions): Record<string, string> {
  if (options.fetch !== undefined) throw new TypeError('a Worker gateway cannot be given a fetch function')
  if (options.probeTimeoutMs !== undefined) throw new TypeError('probeTimeoutMs is not a Worker setting')
  const vars: Record<string, string> = { EDGECD_ENDPOINTS: options.endpoints.join(',') }
  const timeout = options.requestTimeoutMs
  if (timeout !== undefined) vars['EDGECD_REQUEST_TIMEOUT_MS'] = String(timeout)
  if (options.autoSync !== undefined) vars['EDGECD_AUTO_SYNC'] = String(options.autoSync)
  if (options.clientAddress !== undefined || options.now !== undefined)
    throw new TypeError('a Worker gateway takes the client address from CF-Connecting-IP and the real clock')
  const limits = options.authFailures
  if (limits === null) vars['EDGECD_AUTH_FAILURE_LIMIT'] = '0'
  else if (limits !== undefined) {
    if (limits.maxClients !== DEFAULT_LOGIN_LIMITS.maxClients) throw new TypeError('authFailures.maxClients is not a Worker setting')
    vars['EDGECD_AUTH_FAILURE_LIMIT'] = String(limits.max)
    vars['EDGECD_AUTH_FAILURE_WINDOW_MS'] = String(limits.windowMs)
  }
  // retryBackoffMs has no variable: the Worker keeps the default first pause (50 ms).
  return vars
}

// A wrangler (with its group) not yet closed is killed if the test process exits or is signalled
// (the test runner ends a file that timed out with a signal, which skips `exit` unless handled).
exitOnSignals()

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal)
  } catch {
    // the group is gone
  }
}

export interface WorkersGateway extends RunningGateway {
  /** wrangler's node process (also its process group). */
  readonly pid: number
  /** What wrangler printed so far (its log file in the temp dir). */
  log(): string
}

/** Starts `wrangler dev` for these options and resolves once the Worker answers. */
export async function startWorkersGateway(options: GatewayOptions): Promise<WorkersGateway> {
  const vars = workerVars(options)
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-wrangler-'))
  const [port, inspectorPort] = [await freePort(), await freePort()]
  const logPath = join(dir, 'wrangler.log')
  const fd = openSync(logPath, 'a')
  const args = [
    '--no-warnings',
    '--experimental-vm-modules',
    WRANGLER,
    'dev',
    '--local',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspectorPort),
    '--persist-to', join(dir, 'state'),
    '--show-interactive-dev-session=false',
    '--log-level', 'info',
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ]
  const env = wranglerEnv(dir)
  const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  killOnExit(child, { group: true })
  const exited = new Promise<void>((res) => child.once('exit', () => res()))
  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8')
    } catch {
      return ''
    }
  }
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, 'SIGTERM')
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      // workerd and esbuild are in the same group; make sure none outlives wrangler.
      signalGroup(child, 'SIGKILL')
      forget(child)
      rmSync(dir, { recursive: true, force: true })
    })()
    return closing
  }
  const url = `http://127.0.0.1:${port}`
  try {
    await waitReady(url, child, log)
  } catch (err) {
    await close()
    throw err
  }
  return { url, pid: child.pid as number, log, close }
}

/**
 * Ready when the gateway app itself answers: its Go-style 404 for a path outside the API (the
 * member endpoints are not touched). Fails at once if wrangler exits, with its log.
 */
async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const how = child.exitCode ?? child.signalCode
      throw new Error(`wrangler dev exited (${how}) before it was ready:\n${log()}`)
    }
    // e.g. a module-scope `new AbortController()` anywhere in the bundle: workerd refuses to load it.
    if (log().includes('runtime failed to start')) throw new Error(`the Worker did not start:\n${log()}`)
    // A timer of our own, not AbortSignal.timeout's (unreferenced, and Node 20 may collect the
    // signal): an answer whose body never ends must not hold the test forever.
    const abort = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => {
      abort.abort()
      reject(new Error('no answer within 1 s'))
    }, 1000)))
    try {
      const answer = fetch(`${url}/edgecd-ready`, { signal: abort.signal }).then(async (res) => [res.status, await res.text()] as const)
      const [status, text] = await Promise.race([answer, late])
      if (status === 404 && text === '404 page not found\n') return
    } catch {
      // not listening yet
    } finally {
      clearTimeout(timer)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`wrangler dev not ready after ${READY_TIMEOUT_MS} ms:\n${log()}`)
}
