/**
 * `edgecd up` (and `npm start`): a local cluster of member processes plus a gateway, each a child
 * process (members and the gateway run from their bundles, bundles.ts), data under one
 * directory. Waits until the cluster has a leader, prints the
 * endpoints, and on SIGINT/SIGTERM stops every child it started (by PID) before exiting.
 * Restarting with the same data directory resumes the same cluster.
 *
 * A child that exits on its own is logged (which one, its PID, its exit code or signal) and the
 * others keep serving: a member's death is a fault the cluster tolerates while a majority is left,
 * and the gateway fails over to the members still up. Only when every member has exited does the
 * cluster stop the rest (the gateway) and `runUp` return 1.
 *
 *   edgecd up [--size 3] [--gateway-port 2379] [--gateway-processes 1] [--member-base-port 2381]
 *             [--data-dir ./data] [--token edgecd-local] [--host 127.0.0.1]
 *
 * @module
 */
import type { Command } from 'commander'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CliError, ExitCode } from './errors.ts'
import { gatewayCommand, memberCommand, ROOT } from './bundles.ts'

export interface UpOptions {
  /** Number of members. */
  readonly size: number
  /** Host every process binds to. */
  readonly host: string
  /** The gateway's port; members use memberBasePort, memberBasePort+1, … */
  readonly gatewayPort: number
  /** Processes serving the gateway's port (its `--processes`). */
  readonly gatewayProcesses: number
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
  gatewayProcesses: 1,
  memberBasePort: 2381,
  dataDir: './data',
  clusterToken: 'edgecd-local',
  memberFlags: [],
  log: (line) => console.log(line),
}

export interface RunningCluster {
  readonly gatewayUrl: string
  readonly memberUrls: readonly string[]
  /** The members' processes (m1, m2, … in order), then the gateway's. */
  readonly children: readonly ChildProcess[]
  /** Resolves once every member has exited, on its own or by stop(). */
  readonly membersExited: Promise<void>
  /** Stops every process this cluster started and resolves once they have exited. */
  stop(): Promise<void>
}

/** `exit code 1` or `killed by SIGKILL`, from a child's exit event. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exit code ${code}`
}

/** How a child starts (from its bundle, bundles.ts). */
interface Launch {
  readonly command: string
  readonly args: readonly string[]
  readonly env?: Readonly<Record<string, string>>
}

function startChild(launch: Launch, args: string[], label: string, log: (line: string) => void): ChildProcess {
  const child = spawn(launch.command, [...launch.args, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...launch.env },
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
  const { size, host, gatewayPort, gatewayProcesses, memberBasePort, dataDir, clusterToken, log } = options
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`cluster size must be 1 to 9, got ${size}`)
  // (The gateway checks the upper bound itself, and says so.)
  if (!Number.isInteger(gatewayProcesses) || gatewayProcesses < 1) throw new Error(`gateway processes must be a positive integer, got ${gatewayProcesses}`)
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`)
  const memberUrls = names.map((_, i) => `http://${host}:${memberBasePort + i}`)
  const initialCluster = names.map((n, i) => `${n}=${memberUrls[i]}`).join(',')
  // A data dir that already holds a member resumes it: the cluster is "existing" only for members
  // added later, so the initial members always start with state "new" and recover from disk.
  const children: ChildProcess[] = []
  const member = await memberCommand([])
  names.forEach((name, i) => {
    const memberDir = join(resolve(dataDir), name) // the children run in ROOT: make it the caller's
    const resuming = existsSync(memberDir)
    const child = startChild(
      member,
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
    )
    log(`${resuming ? 'resuming' : 'starting'} member ${name} (pid ${child.pid}) on ${memberUrls[i]} (data in ${memberDir})`)
    children.push(child)
  })
  const gatewayUrl = `http://${host}:${gatewayPort}`
  const gateway = startChild(
    await gatewayCommand([]),
    ['--listen', `${host}:${gatewayPort}`, '--endpoints', memberUrls.join(','), '--processes', String(gatewayProcesses)],
    'gateway',
    log,
  )
  const processes = gatewayProcesses === 1 ? '' : ` with ${gatewayProcesses} processes`
  log(`starting the gateway (pid ${gateway.pid}) on ${gatewayUrl}${processes}`)
  children.push(gateway)

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
  const membersExited = new Promise<void>((allGone) => {
    let membersLeft = size
    names.forEach((name, i) => {
      const child = children[i] as ChildProcess
      child.once('exit', (code, signal) => {
        membersLeft -= 1
        if (stopping === null) {
          const left = membersLeft === 0 ? 'no member left; stopping the cluster' : `${membersLeft} of ${size} members left`
          log(`member ${name} (pid ${child.pid}) exited (${describeExit(code, signal)}); ${left}`)
        }
        if (membersLeft === 0) {
          void stop()
          allGone()
        }
      })
    })
  })
  gateway.once('exit', (code, signal) => {
    if (stopping === null)
      log(`the gateway (pid ${gateway.pid}) exited (${describeExit(code, signal)}); the members still serve on ${memberUrls.join(' ')}`)
  })
  return { gatewayUrl, memberUrls, children, membersExited, stop }
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
    "Or with the CLI (etcdctl's commands and flags):",
    `  npx edgecd --endpoints ${g} put foo bar`,
    `  npx edgecd --endpoints ${g} get foo`,
    `  npx edgecd --endpoints ${g} endpoint status -w table`,
    '',
    `Ctrl-C (or SIGTERM to pid ${process.pid}) stops the cluster; starting again resumes from the same data.`,
  ].join('\n')
}

/**
 * Starts the cluster and keeps it up until SIGINT or SIGTERM: what `npm start` and `edgecd up` do.
 * Resolves with the exit code once the cluster is down (1 when it never got a leader).
 */
export async function runUp(options: UpOptions): Promise<number> {
  const cluster = await up(options)
  let code = 1
  const stopped = new Promise<number>((resolve) => {
    const stop = (): void => {
      code = 0
      options.log('stopping the cluster…')
      void cluster.stop().then(() => resolve(code))
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    // Every member gone on its own (up() then stops the gateway): exit 1.
    void cluster.membersExited.then(() => cluster.stop()).then(() => resolve(code))
  })
  try {
    options.log(usageBanner(cluster, await waitForLeader(cluster.gatewayUrl, 30_000)))
  } catch (err) {
    options.log(`edgecd: ${(err as Error).message}`)
    await cluster.stop()
    return 1
  }
  return stopped
}

function portFlag(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new Error(`not a port: ${text}`)
  return n
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Starts a local cluster (members + gateway) and keeps it up until Ctrl-C, like npm start')
    .option('--size <n>', 'number of members (1 to 9)', String(DEFAULT_UP_OPTIONS.size))
    .option('--gateway-port <port>', "the gateway's port", String(DEFAULT_UP_OPTIONS.gatewayPort))
    .option('--gateway-processes <n>', "processes serving the gateway's port", String(DEFAULT_UP_OPTIONS.gatewayProcesses))
    .option('--member-base-port <port>', "the first member's port", String(DEFAULT_UP_OPTIONS.memberBasePort))
    .option('--data-dir <dir>', 'where the members keep their data (one dir per member)', DEFAULT_UP_OPTIONS.dataDir)
    .option('--token <token>', 'the cluster token', DEFAULT_UP_OPTIONS.clusterToken)
    .option('--host <host>', 'the address every process binds to', DEFAULT_UP_OPTIONS.host)
    .action(async (flags: Record<string, string>) => {
      const code = await runUp({
        ...DEFAULT_UP_OPTIONS,
        size: Number(flags['size']),
        gatewayPort: portFlag(flags['gatewayPort'] as string),
        gatewayProcesses: Number(flags['gatewayProcesses']),
        memberBasePort: portFlag(flags['memberBasePort'] as string),
        dataDir: flags['dataDir'] as string,
        clusterToken: flags['token'] as string,
        host: flags['host'] as string,
      })
      if (code !== 0) throw new CliError(ExitCode.Error, '')
    })
}
