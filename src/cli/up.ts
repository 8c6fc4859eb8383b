/**
 * `edgecd up` (and `npm start`): a local cluster of member processes plus a gateway, each a child
 * process run with tsx, data under one directory. Waits until the cluster has a leader, prints the
 * endpoints, and on SIGINT/SIGTERM stops every child it started (by PID) before exiting.
 * Restarting with the same data directory resumes the same cluster.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, resolve } from 'node:path'

export interface UpOptions {
  /** Number of members. */
  readonly size: number
  /** Host every process binds to. */
  readonly host: string
  /** The gateway's port; members use memberBasePort, memberBasePort+1, … */
  readonly gatewayPort: number
  readonly memberBasePort: number
  readonly dataDir: string
  readonly clusterToken: string
  /** Extra flags passed to every member (e.g. --auto-compaction-retention 1h). */
  readonly memberFlags: readonly string[]
  readonly log: (line: string) => void
}

export const DEFAULT_UP_OPTIONS: UpOptions = {
  size: 3,
  host: '127.0.0.1',
  gatewayPort: 2379,
  memberBasePort: 2381,
  dataDir: './data',
  clusterToken: 'edgecd-local',
  memberFlags: [],
  log: (line) => console.log(line),
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const MEMBER_ENTRY = join(ROOT, 'workers', 'member.ts')
const GATEWAY_ENTRY = join(ROOT, 'workers', 'gateway-node.ts')

export interface RunningCluster {
  readonly gatewayUrl: string
  readonly memberUrls: readonly string[]
  readonly children: readonly ChildProcess[]
  /** Stops every process this cluster started and resolves once they have exited. */
  stop(): Promise<void>
}

function startChild(entry: string, args: string[], label: string, log: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const relay = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log(`[${label}] ${line}`)
  }
  child.stdout?.on('data', relay)
  child.stderr?.on('data', relay)
  return child
}

/** Resolves with the leader's ID once the gateway reports one, or rejects after `timeoutMs`. */
export async function waitForLeader(gatewayUrl: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${gatewayUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })
      const body = (await res.json()) as { leader?: string }
      if (res.ok && body.leader !== undefined && body.leader !== '0') return body.leader
      last = JSON.stringify(body)
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`no leader after ${timeoutMs} ms (last answer: ${last})`)
}

export async function up(options: UpOptions = DEFAULT_UP_OPTIONS): Promise<RunningCluster> {
  const { size, host, gatewayPort, memberBasePort, dataDir, clusterToken, log } = options
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`cluster size must be 1 to 9, got ${size}`)
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`)
  const memberUrls = names.map((_, i) => `http://${host}:${memberBasePort + i}`)
  const initialCluster = names.map((n, i) => `${n}=${memberUrls[i]}`).join(',')
  // A data dir that already holds a member resumes it: the cluster is "existing" only for members
  // added later, so the initial members always start with state "new" and recover from disk.
  const children: ChildProcess[] = []
  names.forEach((name, i) => {
    const memberDir = join(dataDir, name)
    log(`${existsSync(memberDir) ? 'resuming' : 'starting'} member ${name} on ${memberUrls[i]} (data in ${memberDir})`)
    children.push(
      startChild(
        MEMBER_ENTRY,
        [
          '--name', name,
          '--data-dir', memberDir,
          '--listen-client-urls', memberUrls[i] as string,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', clusterToken,
          '--initial-cluster-state', 'new',
          ...options.memberFlags,
        ],
        name,
        log,
      ),
    )
  })
  const gatewayUrl = `http://${host}:${gatewayPort}`
  children.push(
    startChild(GATEWAY_ENTRY, ['--listen', `${host}:${gatewayPort}`, '--endpoints', memberUrls.join(',')], 'gateway', log),
  )

  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(
      children.map(
        (child) =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res()
            child.once('exit', () => res())
            child.kill('SIGTERM')
            setTimeout(() => child.kill('SIGKILL'), 5000).unref()
          }),
      ),
    ).then(() => undefined)
    return stopping
  }
  for (const child of children)
    child.once('exit', (code, signal) => {
      if (stopping === null) log(`process ${child.pid} exited (${signal ?? code}); stopping the cluster`)
      void stop()
    })
  return { gatewayUrl, memberUrls, children, stop }
}

/** Prints how to try the cluster, verbatim commands that work against it. */
export function usageBanner(cluster: RunningCluster, leader: string): string {
  const g = cluster.gatewayUrl
  return [
    '',
    `edgecd is up: gateway ${g}, members ${cluster.memberUrls.join(' ')}, leader ${leader}`,
    '',
    'Try it (keys and values are base64: foo = Zm9v, bar = YmFy):',
    `  curl -s -X POST ${g}/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'`,
    `  curl -s -X POST ${g}/v3/kv/range -d '{"key":"Zm9v"}'`,
    `  curl -s -X POST ${g}/v3/maintenance/status -d '{}'`,
    '',
    'Ctrl-C stops the cluster; starting again resumes from the same data.',
  ].join('\n')
}
