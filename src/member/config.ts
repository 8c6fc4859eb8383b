/**
 * A member's configuration, from etcd-named command-line flags and `EDGECD_*` environment
 * variables (flag `--initial-cluster-token` ↔ `EDGECD_INITIAL_CLUSTER_TOKEN`). A flag wins over
 * its variable; both win over the defaults. Invalid values are reported as {@link ConfigError}
 * naming the flag, never silently replaced.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { DEFAULT_QUOTA_BYTES } from '../mvcc/index.ts'
import { checkEtcdOnlyFlags, ETCD_ONLY_FLAGS, goDurationMs } from './etcd-flags.ts'
import { goBool, goFlagArgs } from './go-flags.ts'
import { parseSecurityConfig, SECURITY_BOOLEAN_FLAGS, SECURITY_STRING_FLAGS, type ListenSchemes, type SecurityConfig } from './security-config.ts'

export type AutoCompactionMode = 'periodic' | 'revision'

/** etcd's levels; panic and fatal log only what stops the member. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal'
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'panic', 'fatal']

export interface MemberConfig {
  readonly name: string
  readonly dataDir: string
  /** Where this member serves clients (and its peers too, without listenPeerUrls). */
  readonly listenClientUrls: readonly string[]
  /**
   * Where this member serves its peers (the mesh, and the API peers call: the member list, forwards),
   * as etcd's --listen-peer-urls; null: on the client URLs, one port for both.
   */
  readonly listenPeerUrls: readonly string[] | null
  /** Where it serves only /metrics and /health, as etcd's --listen-metrics-urls; none by default. */
  readonly listenMetricsUrls: readonly string[]
  readonly advertiseClientUrls: readonly string[]
  /** This member's peer URLs as the cluster knows them. */
  readonly initialAdvertisePeerUrls: readonly string[]
  /** name → peer URLs of every initial member, this one included. */
  readonly initialCluster: ReadonlyMap<string, readonly string[]>
  readonly initialClusterState: 'new' | 'existing'
  readonly initialClusterToken: string
  /** Milliseconds between leader heartbeats (one Raft tick). */
  readonly heartbeatInterval: number
  /** Milliseconds without a leader before an election; a multiple of heartbeatInterval. */
  readonly electionTimeout: number
  /** Applied entries between two checkpoints of the database. */
  readonly snapshotCount: number
  /** Database size past which writes are refused; negative: no quota (etcd's 0 is the default, 2 GiB). */
  readonly quotaBackendBytes: number
  readonly maxRequestBytes: number
  readonly maxTxnOps: number
  readonly autoCompactionMode: AutoCompactionMode
  /** periodic: milliseconds of history to keep; revision: revisions to keep; 0 = off. */
  readonly autoCompactionRetention: number
  /** Promote a learner to voter automatically once it has caught up. */
  readonly autoPromote: boolean
  readonly logLevel: LogLevel
  /** Where log lines go: 'stdout', 'stderr' or a file path (appended to); --log-outputs. */
  readonly logOutputs: readonly string[]
  /** How often a watch with progress_notify hears of the revision when idle (etcd's --experimental-watch-progress-notify-interval). */
  readonly watchProgressNotifyMs: number
  /** The cost of the bcrypt hashes of passwords (etcd's --bcrypt-cost). */
  readonly bcryptCost: number
  /** etcd tuning flags given a value that has no effect in edgecd (etcd-flags.ts): warned of at start. */
  readonly ineffectiveFlags: readonly string[]
  /** TLS, auth tokens and per-stream limits (security-config.ts); absent: DEFAULT_SECURITY. */
  readonly security?: SecurityConfig
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

const STRING_FLAGS = [
  'name',
  'data-dir',
  'listen-client-urls',
  'listen-peer-urls',
  'listen-metrics-urls',
  'advertise-client-urls',
  'initial-advertise-peer-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'heartbeat-interval',
  'election-timeout',
  'snapshot-count',
  'quota-backend-bytes',
  'max-request-bytes',
  'max-txn-ops',
  'auto-compaction-mode',
  'auto-compaction-retention',
  'log-level',
  'logger',
  'log-outputs',
  'experimental-watch-progress-notify-interval',
  'bcrypt-cost',
  ...SECURITY_STRING_FLAGS,
] as const
const BOOLEAN_FLAGS = ['auto-promote', 'debug', ...SECURITY_BOOLEAN_FLAGS] as const

type FlagName = (typeof STRING_FLAGS)[number] | (typeof BOOLEAN_FLAGS)[number]

/** Every flag read as a string, and every boolean one: edgecd's own, then etcd's others (etcd-flags.ts). */
const VALUE_FLAGS: ReadonlySet<string> = new Set([...STRING_FLAGS, ...ETCD_ONLY_FLAGS.filter((f) => f.form !== 'boolean').map((f) => f.flag)])
const BOOL_FLAGS: ReadonlySet<string> = new Set([...BOOLEAN_FLAGS, ...ETCD_ONLY_FLAGS.filter((f) => f.form === 'boolean').map((f) => f.flag)])

/** Every flag a member takes (its usage text lists them all). */
export const MEMBER_FLAGS: readonly string[] = [...STRING_FLAGS, ...BOOLEAN_FLAGS, ...ETCD_ONLY_FLAGS.map((f) => f.flag)]

/** `initial-cluster-token` → `EDGECD_INITIAL_CLUSTER_TOKEN` (or, with prefix 'ETCD', etcd's `ETCD_INITIAL_CLUSTER_TOKEN`). */
export function envName(flag: string, prefix: 'EDGECD' | 'ETCD' = 'EDGECD'): string {
  return `${prefix}_${flag.toUpperCase().replace(/-/g, '_')}`
}

/**
 * The `ETCD_*` variables in `env` that name no flag a member takes (etcd's own that edgecd does
 * not have, or a misspelling): the member warns of them at start, as etcd warns of the ones it
 * does not know, rather than ignore them silently.
 */
export function unknownEtcdVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set(MEMBER_FLAGS.map((f) => envName(f, 'ETCD')))
  return Object.keys(env).filter((name) => name.startsWith('ETCD_') && !known.has(name)).sort()
}

function urlList(flag: string, text: string): string[] {
  const urls = text.split(',').map((u) => u.trim()).filter((u) => u !== '')
  if (urls.length === 0) throw new ConfigError(`--${flag}: no URL given`)
  for (const u of urls) {
    let parsed: URL
    try {
      parsed = new URL(u)
    } catch {
      throw new ConfigError(`--${flag}: invalid URL ${JSON.stringify(u)}`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new ConfigError(`--${flag}: URL scheme must be http or https: ${u}`)
    if (parsed.port === '') throw new ConfigError(`--${flag}: URL needs an explicit port: ${u}`)
  }
  return urls
}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`--${flag}: expected a whole number, got ${JSON.stringify(text)}`)
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`--${flag}: must be a positive integer, got ${text}`)
  return n
}

/** --quota-backend-bytes as etcd reads it: 0 is the default (2 GiB), a negative size turns the quota off. */
function quotaBytes(text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(`--quota-backend-bytes: expected a whole number, got ${JSON.stringify(text)}`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new ConfigError(`--quota-backend-bytes: out of range, got ${text}`)
  return n === 0 ? DEFAULT_QUOTA_BYTES : n
}

/** `a=http://h:1,b=http://h:2,a=http://h:3` → a → [h:1, h:3], b → [h:2]. */
export function parseInitialCluster(text: string): Map<string, string[]> {
  const cluster = new Map<string, string[]>()
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new ConfigError(`--initial-cluster: expected name=url, got ${JSON.stringify(part)}`)
    const name = part.slice(0, eq)
    const urls = urlList('initial-cluster', part.slice(eq + 1))
    cluster.set(name, [...(cluster.get(name) ?? []), ...urls])
  }
  if (cluster.size === 0) throw new ConfigError('--initial-cluster: no member given')
  return cluster
}

/**
 * --log-outputs as etcd reads it: `,`-separated, `default` and `stderr` for standard error,
 * `stdout`, or a file path; unset, standard output (edgecd's default: etcd's is stderr).
 * etcd's `systemd/journal` is standard error, which a systemd unit's journal takes.
 */
function logOutputList(text: string | undefined): string[] {
  if (text === undefined) return ['stdout']
  const outputs = text.split(',').map((o) => o.trim()).filter((o) => o !== '')
  if (outputs.length === 0) throw new ConfigError('--log-outputs: no output given')
  return [...new Set(outputs.map((o) => (o === 'default' || o === 'systemd/journal' ? 'stderr' : o)))]
}

/** A positive Go duration, in milliseconds. */
function durationMs(flag: string, text: string): number {
  const ms = goDurationMs(text)
  if (ms === null || ms <= 0) throw new ConfigError(`--${flag}: expected a positive duration such as 5s, got ${JSON.stringify(text)}`)
  return Math.round(ms)
}

/** --bcrypt-cost, in Go's bcrypt bounds (4 to 31). */
function bcryptCost(text: string): number {
  const n = positiveInt('bcrypt-cost', text)
  if (n < 4 || n > 31) throw new ConfigError(`--bcrypt-cost: must be between 4 and 31, got ${JSON.stringify(text)}`)
  return n
}

/**
 * Listen URLs as the default of the client URLs a member advertises: refused when one listens on
 * every address (0.0.0.0, [::]), which names no address another host can reach; `flag` must then
 * be given.
 */
function advertisable(flag: string, listen: readonly string[]): string {
  const any = listen.find((u) => ['0.0.0.0', '[::]'].includes(new URL(u).hostname))
  if (any !== undefined) throw new ConfigError(`--${flag} is needed: ${any} listens on every address, which is no address to advertise`)
  return listen.join(',')
}

/** host:port of a listen URL (the address a listener binds). */
function bindAddress(url: string): string {
  const u = new URL(url)
  return `${u.hostname}:${u.port}`
}

/** No address is listened on twice: within a list, or by two of the lists. */
function checkListenUrls(client: readonly string[], peer: readonly string[] | null, metrics: readonly string[]): void {
  const seen = new Map<string, string>()
  const lists = [['listen-client-urls', client], ['listen-peer-urls', peer ?? []], ['listen-metrics-urls', metrics]] as const
  for (const [flag, urls] of lists) {
    for (const url of urls) {
      const address = bindAddress(url)
      const first = seen.get(address)
      if (first === flag) throw new ConfigError(`--${flag}: ${address} is given twice`)
      if (first === 'listen-client-urls' && flag === 'listen-peer-urls')
        throw new ConfigError(`--listen-peer-urls: ${address} is also a client URL (leave --listen-peer-urls out to serve peers on the client port)`)
      if (first !== undefined) throw new ConfigError(`--${flag}: ${address} is also in --${first}`)
      seen.set(address, flag)
    }
  }
}

/** Which listeners are https, as the TLS flags must match them (security-config.ts). */
function listenSchemes(client: readonly string[], peer: readonly string[] | null): ListenSchemes {
  const https = (urls: readonly string[]): boolean => urls.some((u) => u.startsWith('https:'))
  return { client: https(client), peer: peer === null ? null : https(peer) }
}

/**
 * The retention as etcd reads it: a bare number is hours in periodic mode and revisions in
 * revision mode; anything else is a Go-style duration (`1h30m`, `90s`, `500ms`), which in
 * revision mode (etcd reads it the same) is its count of nanoseconds as revisions.
 */
export function parseRetention(mode: AutoCompactionMode, text: string): number {
  const t = text.trim()
  if (/^\d+$/.test(t)) return mode === 'periodic' ? Number(t) * 3_600_000 : Number(t)
  const ms = goDurationMs(t)
  if (ms === null) throw new ConfigError(`--auto-compaction-retention: invalid duration ${JSON.stringify(t)}`)
  return mode === 'periodic' ? Math.round(ms) : Math.round(ms * 1e6)
}

/** Reads flags from `argv` (without the node and script paths) and variables from `env`. */
export function parseMemberConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): MemberConfig {
  let parsed: ReturnType<typeof parseArgs>
  let booleans: ReadonlyMap<string, boolean>
  try {
    const goArgs = goFlagArgs(argv, VALUE_FLAGS, BOOL_FLAGS)
    booleans = goArgs.booleans
    parsed = parseArgs({
      args: goArgs.args,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries([...VALUE_FLAGS].map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries([...BOOL_FLAGS].map((f) => [f, { type: 'boolean' as const }])),
      },
    })
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  const get = (flag: FlagName | string): string | undefined => {
    const v = booleans.get(flag) ?? values[flag]
    if (typeof v === 'string') return v
    if (typeof v === 'boolean') return String(v)
    // A flag, else edgecd's variable, else etcd's (so an etcd set-up's environment carries over).
    const name = env[envName(flag)] !== undefined ? envName(flag) : envName(flag, 'ETCD')
    const variable = env[name]
    if (variable === undefined || !BOOL_FLAGS.has(flag)) return variable
    // A boolean variable is read as Go reads it (1, t, TRUE…), and anything else refused.
    const b = goBool(variable)
    if (b === null) throw new ConfigError(`${name}: invalid boolean value ${JSON.stringify(variable)}`)
    return String(b)
  }
  const ineffectiveFlags = checkEtcdOnlyFlags(get, (message) => new ConfigError(message))

  const name = get('name') ?? 'default'
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError(`--name: only letters, digits, '.', '_' and '-' allowed: ${name}`)
  const listenClientUrls = urlList('listen-client-urls', get('listen-client-urls') ?? 'http://127.0.0.1:2381')
  const peerFlag = get('listen-peer-urls')
  const listenPeerUrls = peerFlag === undefined ? null : urlList('listen-peer-urls', peerFlag)
  const metricsFlag = get('listen-metrics-urls')
  const listenMetricsUrls = metricsFlag === undefined ? [] : urlList('listen-metrics-urls', metricsFlag)
  checkListenUrls(listenClientUrls, listenPeerUrls, listenMetricsUrls)
  const advertiseClientUrls = urlList('advertise-client-urls', get('advertise-client-urls') ?? advertisable('advertise-client-urls', listenClientUrls))
  // Its peer URLs: as given, else its own entry of --initial-cluster, else where it listens for peers.
  const clusterFlag = get('initial-cluster')
  const given = clusterFlag === undefined ? undefined : parseInitialCluster(clusterFlag)
  const initialAdvertisePeerUrls = urlList(
    'initial-advertise-peer-urls',
    get('initial-advertise-peer-urls') ?? (given?.get(name) ?? listenPeerUrls ?? listenClientUrls).join(','),
  )
  const initialCluster = given ?? parseInitialCluster(initialAdvertisePeerUrls.map((u) => `${name}=${u}`).join(','))
  if (!initialCluster.has(name)) throw new ConfigError(`--initial-cluster: this member (${name}) is not listed`)

  const state = get('initial-cluster-state') ?? 'new'
  if (state !== 'new' && state !== 'existing')
    throw new ConfigError(`--initial-cluster-state: must be new or existing, got ${state}`)

  const heartbeatInterval = positiveInt('heartbeat-interval', get('heartbeat-interval') ?? '100')
  const electionTimeout = positiveInt('election-timeout', get('election-timeout') ?? '1000')
  if (electionTimeout < 5 * heartbeatInterval)
    throw new ConfigError('--election-timeout: must be at least 5 times --heartbeat-interval')

  const mode = get('auto-compaction-mode') ?? 'periodic'
  if (mode !== 'periodic' && mode !== 'revision')
    throw new ConfigError(`--auto-compaction-mode: must be periodic or revision, got ${mode}`)

  // etcd's --debug is --log-level debug.
  const logLevel = get('debug') === 'true' ? 'debug' : (get('log-level') ?? 'info')
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level: must be one of ${LOG_LEVELS.join(', ')}, got ${logLevel}`)
  // Log lines are JSON either way; etcd 3.4's two loggers are both taken.
  const logger = get('logger') ?? 'zap'
  if (logger !== 'zap' && logger !== 'capnslog') throw new ConfigError(`--logger: must be zap or capnslog, got ${logger}`)
  const logOutputs = logOutputList(get('log-outputs'))

  const autoPromote = get('auto-promote')
  if (autoPromote !== undefined && autoPromote !== 'true' && autoPromote !== 'false')
    throw new ConfigError(`--auto-promote: must be true or false, got ${autoPromote}`)

  return {
    name,
    dataDir: get('data-dir') ?? `./data/${name}`,
    listenClientUrls,
    listenPeerUrls,
    listenMetricsUrls,
    advertiseClientUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get('initial-cluster-token') ?? 'edgecd-cluster',
    heartbeatInterval,
    electionTimeout,
    snapshotCount: positiveInt('snapshot-count', get('snapshot-count') ?? '100000'),
    quotaBackendBytes: quotaBytes(get('quota-backend-bytes') ?? '0'),
    maxRequestBytes: positiveInt('max-request-bytes', get('max-request-bytes') ?? '1572864'),
    maxTxnOps: positiveInt('max-txn-ops', get('max-txn-ops') ?? '128'),
    autoCompactionMode: mode,
    autoCompactionRetention: parseRetention(mode, get('auto-compaction-retention') ?? '0'),
    autoPromote: autoPromote === 'true',
    logLevel: logLevel as LogLevel,
    logOutputs,
    watchProgressNotifyMs: durationMs('experimental-watch-progress-notify-interval', get('experimental-watch-progress-notify-interval') ?? '10m'),
    bcryptCost: bcryptCost(get('bcrypt-cost') ?? '10'),
    ineffectiveFlags,
    // A metrics URL is served as a client one is (etcd's: with the client certificate).
    security: parseSecurityConfig(get, listenSchemes([...listenClientUrls, ...listenMetricsUrls], listenPeerUrls), {
      int: positiveInt,
      error: (message) => new ConfigError(message),
    }),
  }
}
