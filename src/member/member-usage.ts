import { ETCD_ONLY_FLAGS } from './etcd-flags.ts'

/**
 * What `workers/member.ts --help` prints: every flag of MEMBER_FLAGS (config.ts) with its default
 * and meaning, and the environment variables that stand for them. A test keeps the flags and the
 * defaults equal to what the parser takes and falls back to.
 *
 * @module
 */

type HelpLine = readonly [flag: string, dflt: string, meaning: string]

/** etcd's other flags (etcd-flags.ts), printed after edgecd's own. */
const ETCD_ONLY_HELP: readonly HelpLine[] = ETCD_ONLY_FLAGS.map((f) => [f.flag, f.dflt === '' ? '""' : f.dflt, f.meaning])

/** flag, default (as printed), meaning; in the order they are printed. */
export const MEMBER_FLAG_HELP: readonly HelpLine[] = [
  ['name', 'default', 'member name'],
  ['data-dir', './data/<name>', 'journal and checkpoints (one member per dir, locked)'],
  ['listen-client-urls', 'http://127.0.0.1:2381', 'where it serves clients (JSON and gRPC), and peers without --listen-peer-urls'],
  ['listen-peer-urls', 'off', 'where it serves peers; off: on the client URLs, one port for all'],
  ['listen-metrics-urls', 'off', 'where it also serves /metrics and /health (and nothing else)'],
  ['advertise-client-urls', 'the listen URLs', 'what it publishes in the member list (needed for a 0.0.0.0 listen URL)'],
  ['initial-advertise-peer-urls', 'the listen URLs', 'its peer URLs (default: --listen-peer-urls, else --listen-client-urls; needed for 0.0.0.0)'],
  ['initial-cluster', '<name>=<peer url>', 'the founding members, name=url,…'],
  ['initial-cluster-state', 'new', 'existing: join a running cluster after member add'],
  ['initial-cluster-token', 'edgecd-cluster', 'names the cluster; peers must present it'],
  ['heartbeat-interval', '100', 'ms per Raft tick'],
  ['election-timeout', '1000', 'ms; at least 5 heartbeats'],
  ['snapshot-count', '100000', 'applied entries between checkpoints'],
  ['quota-backend-bytes', '2147483648', 'past it writes fail with database space exceeded (NOSPACE)'],
  ['max-request-bytes', '1572864', 'larger requests fail with request is too large'],
  ['max-txn-ops', '128', 'operations per txn list'],
  ['auto-compaction-mode', 'periodic', 'periodic or revision'],
  ['auto-compaction-retention', '0 (off)', 'periodic: 1h, 30m or hours; revision: revisions to keep'],
  ['auto-promote', 'off', 'promote learners once they have caught up'],
  ['log-level', 'info', 'debug, info, warn, error, panic or fatal'],
  ['logger', 'zap', 'zap or capnslog: JSON lines either way'],
  ['log-outputs', 'stdout', 'stdout, stderr (or default), or file paths to append to; comma-separated'],
  ['debug', 'off', 'the same as --log-level debug'],
  ['experimental-watch-progress-notify-interval', '10m', 'how often an idle watch with progress_notify hears the revision'],
  ['bcrypt-cost', '10', 'cost of the bcrypt hash of new passwords (4 to 31)'],
  ['auth-token', 'simple', 'simple or jwt tokens (auth is off until enabled)'],
  ['auth-token-ttl', '300', 'token lifetime, seconds'],
  ['auth-token-key', 'replicated', 'the JWT signing secret (16 characters or more)'],
  ['max-watchers-per-stream', '100000', 'watchers one watch stream may hold'],
  ['max-leases-per-stream', '100000', 'leases one keepalive stream may renew'],
  ['cert-file', 'off', 'client TLS certificate'],
  ['key-file', 'off', 'client TLS key'],
  ['trusted-ca-file', 'off', 'CA for client certificates'],
  ['client-cert-auth', 'off', 'require client certificates (the CN is the user)'],
  ['peer-cert-file', 'off', 'peer TLS certificate'],
  ['peer-key-file', 'off', 'peer TLS key'],
  ['peer-trusted-ca-file', 'off', 'CA for peer certificates'],
  ['peer-client-cert-auth', 'off', 'require peer certificates'],
  ...ETCD_ONLY_HELP,
]

const width = Math.max(...MEMBER_FLAG_HELP.map(([flag]) => flag.length)) + 2
const defaultWidth = Math.max(...MEMBER_FLAG_HELP.map(([, d]) => d.length))
const line = ([flag, dflt, meaning]: HelpLine): string => `  --${flag.padEnd(width)} ${dflt.padEnd(defaultWidth)}  ${meaning}`
const own = MEMBER_FLAG_HELP.slice(0, MEMBER_FLAG_HELP.length - ETCD_ONLY_HELP.length)

export const MEMBER_USAGE = `usage: node --import tsx workers/member.ts [flags]   (or node dist/member.mjs [flags])

flags (each also an environment variable: --initial-cluster-token = EDGECD_INITIAL_CLUSTER_TOKEN, or etcd's
ETCD_INITIAL_CLUSTER_TOKEN; a flag wins, then EDGECD_, then ETCD_; an ETCD_ variable naming no flag is warned of):
${own.map(line).join('\n')}
  --${'help'.padEnd(width)} ${''.padEnd(defaultWidth)}  this text

etcd's other flags, so that an etcd command line starts a member or says why not: tuning taken
without effect (named in a warning at start when not at etcd's default), and features edgecd
does not have, taken only at the value that leaves them off:
${ETCD_ONLY_HELP.map(line).join('\n')}

EDGECD_EXIT_WITH_PARENT=1 (a variable only): also stop when stdin ends.`
