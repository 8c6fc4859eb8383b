/**
 * The member's security settings, from etcd's flag names (read by config.ts with the others):
 *
 *   --cert-file, --key-file           TLS for the member's client URLs (and its peer URLs, when
 *                                     they share a port or no --peer-cert-file is given)
 *   --trusted-ca-file                 CA for client certificates
 *   --client-cert-auth                require a client certificate from that CA; its CN is the
 *                                     user of a request without token
 *   --peer-cert-file, --peer-key-file the certificate this member presents when it dials a peer
 *                                     and serves on its --listen-peer-urls (on a port shared
 *                                     with clients, when no --cert-file is given)
 *   --peer-trusted-ca-file            CA that peers' certificates (served and presented) chain to
 *   --peer-client-cert-auth           accept a peer connection only with a certificate of that CA
 *   --auth-token simple|jwt           token kind (default simple); `jwt,sign-method=…,priv-key=…,
 *                                     pub-key=…,ttl=…` as etcd takes it (jwt-options.ts)
 *   --auth-token-ttl <seconds>        token lifetime (default 300)
 *   --auth-token-key <secret>         jwt signing secret (EDGECD_AUTH_TOKEN_KEY keeps it out of
 *                                     `ps`); default: the key replicated when auth was enabled
 *   --max-watchers-per-stream <n>     watchers one watch stream holds at once (default 100000)
 *   --max-leases-per-stream <n>       leases one keepalive stream renews (default 100000)
 *
 * Only file paths are kept here; workers/member.ts reads the files (src/member/tls.ts).
 *
 * @module
 */
import type { TokenMode } from './auth-tokens.ts'
import { parseJwtOptions, type JwtOptions } from './jwt-options.ts'
import { DEFAULT_STREAM_LIMITS } from './member-context.ts'

export const SECURITY_STRING_FLAGS = [
  'cert-file',
  'key-file',
  'trusted-ca-file',
  'peer-cert-file',
  'peer-key-file',
  'peer-trusted-ca-file',
  'auth-token',
  'auth-token-ttl',
  'auth-token-key',
  'max-watchers-per-stream',
  'max-leases-per-stream',
] as const
export const SECURITY_BOOLEAN_FLAGS = ['client-cert-auth', 'peer-client-cert-auth'] as const

type SecurityFlag = (typeof SECURITY_STRING_FLAGS)[number] | (typeof SECURITY_BOOLEAN_FLAGS)[number]

export interface TlsFiles {
  readonly certFile: string
  readonly keyFile: string
  /** Null: the system's CAs. */
  readonly trustedCaFile: string | null
}

export interface SecurityConfig {
  /** Served to clients (and on a shared port); null: none given. */
  readonly tls: TlsFiles | null
  readonly clientCertAuth: boolean
  /** Presented when dialling peers (wss) and served on --listen-peer-urls; null: --cert-file's, if any. */
  readonly peerTls: TlsFiles | null
  readonly peerClientCertAuth: boolean
  readonly authToken: TokenMode
  /** etcd's `--auth-token jwt,sign-method=…,priv-key=…` options; null: simple, or edgecd's HS256 jwt. */
  readonly jwt: JwtOptions | null
  readonly authTokenTtlMs: number
  readonly authTokenKey: string | null
  readonly maxWatchersPerStream: number
  readonly maxLeasesPerStream: number
}

/** Plain HTTP, simple tokens of 300 s, DEFAULT_STREAM_LIMITS. */
export const DEFAULT_SECURITY: SecurityConfig = {
  tls: null,
  clientCertAuth: false,
  peerTls: null,
  peerClientCertAuth: false,
  authToken: 'simple',
  jwt: null,
  authTokenTtlMs: 300_000,
  authTokenKey: null,
  maxWatchersPerStream: DEFAULT_STREAM_LIMITS.maxWatchers,
  maxLeasesPerStream: DEFAULT_STREAM_LIMITS.maxLeases,
}

export interface SecurityParseHelpers {
  readonly int: (flag: string, text: string) => number
  readonly error: (message: string) => Error
}

function pair(
  get: (flag: SecurityFlag) => string | undefined,
  fail: SecurityParseHelpers['error'],
  prefix: '' | 'peer-',
): TlsFiles | null {
  const certFile = get(`${prefix}cert-file`)
  const keyFile = get(`${prefix}key-file`)
  if ((certFile === undefined) !== (keyFile === undefined))
    throw fail(`--${prefix}cert-file and --${prefix}key-file go together`)
  if (certFile === undefined || keyFile === undefined) return null
  return { certFile, keyFile, trustedCaFile: get(`${prefix}trusted-ca-file`) ?? null }
}

/** Whether some of a member's client URLs, and of its peer URLs, are https. */
export interface ListenSchemes {
  readonly client: boolean
  /** null: peers are served on the client URLs (no --listen-peer-urls). */
  readonly peer: boolean | null
}

/**
 * Reads the security flags; `schemes` tells which listen URLs are https. Each https listener
 * needs a certificate to serve: client URLs --cert-file, peer URLs --peer-cert-file (else
 * --cert-file); one port for both serves --cert-file, else --peer-cert-file. A certificate with
 * no https listener at all is refused as a mistake.
 */
export function parseSecurityConfig(
  get: (flag: SecurityFlag) => string | undefined,
  schemes: ListenSchemes,
  helpers: SecurityParseHelpers,
): SecurityConfig {
  const fail = helpers.error
  const tls = pair(get, fail, '')
  const peerTls = pair(get, fail, 'peer-')
  const served = tls ?? peerTls
  const clientHttps = schemes.client
  const peerHttps = schemes.peer === true
  if (schemes.peer === null) {
    if (clientHttps && served === null) throw fail('an https listen URL needs --cert-file and --key-file')
  } else {
    if (clientHttps && tls === null) throw fail('an https --listen-client-urls URL needs --cert-file and --key-file')
    if (peerHttps && served === null) throw fail('an https --listen-peer-urls URL needs --peer-cert-file and --peer-key-file')
  }
  if (!clientHttps && !peerHttps && served !== null) throw fail('--cert-file / --peer-cert-file need an https listen URL')
  const clientCertAuth = get('client-cert-auth') === 'true'
  const peerClientCertAuth = get('peer-client-cert-auth') === 'true'
  // A certificate is checked only over TLS: a side with no https URL would check nothing.
  if (clientCertAuth && !clientHttps) throw fail('--client-cert-auth needs an https --listen-client-urls URL')
  if (peerClientCertAuth && !(schemes.peer === null ? clientHttps : peerHttps))
    throw fail('--peer-client-cert-auth needs an https peer URL')
  if (clientCertAuth && (tls?.trustedCaFile ?? null) === null)
    throw fail('--client-cert-auth needs --cert-file, --key-file and --trusted-ca-file')
  if (peerClientCertAuth && (peerTls?.trustedCaFile ?? tls?.trustedCaFile ?? null) === null)
    throw fail('--peer-client-cert-auth needs --peer-trusted-ca-file')
  const [authToken, ...jwtOptions] = (get('auth-token') ?? 'simple').split(',')
  if ((authToken !== 'simple' && authToken !== 'jwt') || (authToken === 'simple' && jwtOptions.length > 0))
    throw fail(`--auth-token: must be simple, jwt, or jwt with etcd's options (sign-method=…,priv-key=…), got ${get('auth-token')}`)
  const jwt = jwtOptions.length === 0 ? null : parseJwtOptions(jwtOptions, fail)
  const authTokenKey = get('auth-token-key') ?? null
  if (authTokenKey !== null && authTokenKey.length < 16) throw fail('--auth-token-key: use at least 16 characters')
  if (authTokenKey !== null && jwt !== null) throw fail("--auth-token-key: not with --auth-token's jwt options (priv-key is the key)")
  return {
    tls,
    clientCertAuth,
    peerTls,
    peerClientCertAuth,
    authToken,
    jwt,
    authTokenTtlMs: helpers.int('auth-token-ttl', get('auth-token-ttl') ?? '300') * 1000,
    authTokenKey,
    maxWatchersPerStream: helpers.int('max-watchers-per-stream', get('max-watchers-per-stream') ?? String(DEFAULT_STREAM_LIMITS.maxWatchers)),
    maxLeasesPerStream: helpers.int('max-leases-per-stream', get('max-leases-per-stream') ?? String(DEFAULT_STREAM_LIMITS.maxLeases)),
  }
}
