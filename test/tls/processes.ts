/**
 * Member processes (`workers/member.ts` under tsx) on 127.0.0.1 for the TLS and log tests: free
 * ports, a log file per member, and stop by PID (an exit hook kills what a dying run left).
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { killOnExit } from '../kill-on-exit.ts'
import { closeSync, openSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../free-ports.ts'
import { issue, type Ca } from './certs.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export { freePort }

export interface MemberProcess {
  readonly name: string
  readonly url: string
  readonly log: string
  stop(): Promise<void>
}

export interface SpawnOptions {
  readonly name: string
  readonly scheme: 'http' | 'https'
  readonly port: number
  readonly dir: string
  /** `name=url,…`; default: this member alone. */
  readonly initialCluster?: string
  readonly flags?: readonly string[]
}

export function spawnMember(o: SpawnOptions): MemberProcess {
  const url = `${o.scheme}://127.0.0.1:${o.port}`
  const log = join(o.dir, `${o.name}.log`)
  const fd = openSync(log, 'a')
  const args = [
    '--import', 'tsx', join(ROOT, 'workers', 'member.ts'),
    '--name', o.name,
    '--data-dir', join(o.dir, o.name),
    '--listen-client-urls', url,
    '--initial-cluster', o.initialCluster ?? `${o.name}=${url}`,
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    ...(o.flags ?? []),
  ]
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  killOnExit(child)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return {
    name: o.name,
    url,
    log,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
      await exited
    },
  }
}

/** One member `m1` in `dir` serving https with a certificate of `ca` and --client-cert-auth. */
export async function spawnClientCertMember(ca: Ca, dir: string): Promise<MemberProcess> {
  const server = issue(ca, 'm1', 'm1')
  return spawnMember({
    name: 'm1',
    scheme: 'https',
    port: await freePort(),
    dir,
    flags: ['--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', ca.cert, '--client-cert-auth'],
  })
}

/** Polls `url`/health with `fetcher` until it answers 200. */
export async function waitHealthy(url: string, fetcher: typeof fetch, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const res = await fetcher(`${url}/health`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} not healthy: ${last}`)
}
