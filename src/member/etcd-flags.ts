/**
 * The rest of etcd 3.4's server flags, so that an etcd command line (or its `ETCD_*`
 * variables) starts a member or says why it cannot. Each is one of:
 *
 * - **tuning edgecd has no use for** (`tuning`): any value of the right form is taken; one other
 *   than etcd's default is named in a warning at start (config.ts `ineffectiveFlags`), never
 *   ignored silently;
 * - **a feature edgecd does not have** (`only`): taken at the value that leaves it off, refused
 *   with the reason for any other (a v2 API, a discovery service, revocation lists…), so that a
 *   set-up asking for it fails at start instead of running without it.
 *
 * The flags edgecd implements are in config.ts and security-config.ts.
 *
 * @module
 */

/** How a value is read: Go's bool, a Go duration (`5s`, `1h30m`), an unsigned integer, or text. */
export type FlagForm = 'boolean' | 'duration' | 'uint' | 'text'

export interface EtcdOnlyFlag {
  readonly flag: string
  readonly form: FlagForm
  /** etcd's default, as its --help prints it. */
  readonly dflt: string
  /** What edgecd does with the flag (its --help line). */
  readonly meaning: string
  /** The only value taken (`only` flags); any other is refused with `meaning`. */
  readonly only?: string
  /** For text flags, the values taken; absent, any. */
  readonly choices?: readonly string[]
}

const tuning = (flag: string, form: FlagForm, dflt: string, meaning: string, choices?: readonly string[]): EtcdOnlyFlag =>
  choices === undefined ? { flag, form, dflt, meaning } : { flag, form, dflt, meaning, choices }

const only = (flag: string, form: FlagForm, value: string, meaning: string): EtcdOnlyFlag => ({ flag, form, dflt: value, meaning, only: value })

export const ETCD_ONLY_FLAGS: readonly EtcdOnlyFlag[] = [
  tuning('max-snapshots', 'uint', '5', 'no effect: a member keeps only its latest checkpoint'),
  tuning('max-wals', 'uint', '5', 'no effect: journal segments go once a checkpoint covers them'),
  tuning('backend-batch-interval', 'duration', '0s', 'no effect: each Raft batch is committed at once (group commit)'),
  tuning('backend-batch-limit', 'uint', '0', 'no effect: each Raft batch is committed at once (group commit)'),
  tuning('max-concurrent-streams', 'uint', '4294967295', 'no effect: no limit on gRPC streams per connection'),
  tuning('grpc-keepalive-min-time', 'duration', '5s', "no effect: Node's HTTP/2 keepalive"),
  tuning('grpc-keepalive-interval', 'duration', '2h0m0s', "no effect: Node's HTTP/2 keepalive"),
  tuning('grpc-keepalive-timeout', 'duration', '20s', "no effect: Node's HTTP/2 keepalive"),
  tuning('initial-election-tick-advance', 'boolean', 'true', "no effect: a member's first election follows its Raft timer"),
  tuning('pre-vote', 'boolean', 'false', 'no effect: Raft always runs PreVote'),
  tuning('metrics', 'text', 'basic', 'no effect: the same metrics either way', ['basic', 'extensive']),
  tuning('experimental-initial-corrupt-check', 'boolean', 'false', 'no effect: each checkpoint and journal record is CRC-checked on recovery'),
  tuning('experimental-corrupt-check-time', 'duration', '0s', 'no effect: no periodic hash comparison'),
  tuning('experimental-backend-bbolt-freelist-type', 'text', 'array', 'no effect: the database is sql.js, not bbolt', ['array', 'map']),
  tuning('experimental-enable-lease-checkpoint', 'boolean', 'false', 'no effect: remaining TTLs are always checkpointed, so a new leader resumes each lease where it was'),
  tuning('experimental-compaction-batch-limit', 'uint', '1000', 'no effect: compaction runs in slices of its own'),
  tuning('experimental-warning-apply-duration', 'duration', '100ms', 'no effect: no slow-apply warning'),
  tuning('log-package-levels', 'text', '', 'no effect: one --log-level for the member'),
  // Not in etcd 3.4's --help, but taken by it.
  tuning('unsafe-no-fsync', 'boolean', 'false', 'no effect: writes are always fsynced before they are acknowledged'),
  tuning('discovery-fallback', 'text', 'proxy', 'no effect without --discovery', ['exit', 'proxy']),
  tuning('discovery-proxy', 'text', '', 'no effect without --discovery'),
  tuning('discovery-srv-name', 'text', '', 'no effect without --discovery-srv'),
  tuning('proxy-failure-wait', 'uint', '5000', 'no effect without --proxy'),
  tuning('proxy-refresh-interval', 'uint', '30000', 'no effect without --proxy'),
  tuning('proxy-dial-timeout', 'uint', '1000', 'no effect without --proxy'),
  tuning('proxy-write-timeout', 'uint', '5000', 'no effect without --proxy'),
  tuning('proxy-read-timeout', 'uint', '0', 'no effect without --proxy'),
  only('config-file', 'text', '', 'only the default: give flags or ETCD_* variables, not a YAML file'),
  only('wal-dir', 'text', '', 'only the default: the journal lives in --data-dir'),
  only('enable-v2', 'boolean', 'false', 'only false: the v3 API alone is served'),
  only('experimental-enable-v2v3', 'text', '', 'only the default: the v3 API alone is served'),
  only('enable-pprof', 'boolean', 'false', 'only false: no /debug/pprof (profile with node --cpu-prof)'),
  only('strict-reconfig-check', 'boolean', 'true', 'only true: membership changes are always checked'),
  only('force-new-cluster', 'boolean', 'false', 'only false: restore a snapshot into a new cluster instead'),
  only('discovery', 'text', '', 'only the default: list the founding members in --initial-cluster'),
  only('discovery-srv', 'text', '', 'only the default: list the founding members in --initial-cluster'),
  only('proxy', 'text', 'off', 'only off: no proxy mode'),
  only('auto-tls', 'boolean', 'false', 'only false: give --cert-file and --key-file'),
  only('peer-auto-tls', 'boolean', 'false', 'only false: give --peer-cert-file and --peer-key-file'),
  only('client-crl-file', 'text', '', 'only the default: no certificate revocation lists'),
  only('peer-crl-file', 'text', '', 'only the default: no certificate revocation lists'),
  only('client-cert-allowed-hostname', 'text', '', 'only the default: any certificate of the CA'),
  only('peer-cert-allowed-cn', 'text', '', 'only the default: any certificate of the peer CA'),
  only('peer-cert-allowed-hostname', 'text', '', 'only the default: any certificate of the peer CA'),
  only('experimental-peer-skip-client-san-verification', 'boolean', 'false', "only false: peers' certificates are verified"),
  only('cipher-suites', 'text', '', "only the default: Node's TLS 1.2+ cipher suites"),
  only('enable-grpc-gateway', 'boolean', 'true', 'only true: the JSON API is always served'),
  only('cors', 'text', '*', 'only *: every origin gets the CORS headers'),
  only('host-whitelist', 'text', '*', 'only *: any Host header is served'),
]

/** Go's time.ParseDuration for the units etcd's flags use; milliseconds, or null if malformed. */
export function goDurationMs(text: string): number | null {
  const t = text.trim()
  if (t === '0') return 0
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let rest = t
  if (rest === '') return null
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest)
    if (m === null) return null
    total += Number(m[1]) * (units[m[2] as string] as number)
    rest = rest.slice(m[0].length)
  }
  return total
}

/** Whether `value` has the flag's form (booleans come as 'true' / 'false'). */
function wellFormed(f: EtcdOnlyFlag, value: string): boolean {
  switch (f.form) {
    case 'boolean':
      return value === 'true' || value === 'false'
    case 'duration':
      return goDurationMs(value) !== null
    case 'uint':
      return /^\d+$/.test(value.trim()) && Number(value) <= 2 ** 64
    case 'text':
      return f.choices === undefined || f.choices.includes(value)
  }
}

/** The same setting: equal text, or equal durations (`2h` is `2h0m0s`), or equal numbers. */
function sameValue(f: EtcdOnlyFlag, a: string, b: string): boolean {
  if (f.form === 'duration') return goDurationMs(a) === goDurationMs(b)
  if (f.form === 'uint') return Number(a) === Number(b)
  return a === b
}

/**
 * Checks the etcd-only flags that were given (`get` is the flag or its variable, undefined when
 * absent): returns the tuning flags given a value other than etcd's default (to be warned of), or
 * throws `fail(message)` for a malformed value or a feature edgecd does not have.
 */
export function checkEtcdOnlyFlags(get: (flag: string) => string | undefined, fail: (message: string) => Error): string[] {
  const ineffective: string[] = []
  for (const f of ETCD_ONLY_FLAGS) {
    const value = get(f.flag)
    if (value === undefined) continue
    if (!wellFormed(f, value)) {
      const expected = f.choices?.join(' or ') ?? { boolean: 'true or false', duration: 'a duration such as 5s', uint: 'a whole number', text: 'text' }[f.form]
      throw fail(`--${f.flag}: expected ${expected}, got ${JSON.stringify(value)}`)
    }
    if (f.only !== undefined) {
      if (!sameValue(f, value, f.only)) throw fail(`--${f.flag}=${value} is not supported by edgecd: ${f.meaning}`)
    } else if (!sameValue(f, value, f.dflt)) ineffective.push(f.flag)
  }
  return ineffective
}
