/**
 * etcd's JWT token options, as its `--auth-token` takes them:
 *
 *   --auth-token jwt,pub-key=app.rsa.pub,priv-key=app.rsa,sign-method=RS512,ttl=10m
 *
 * - `sign-method` (required): HS256/384/512 (the key is the bytes of `priv-key`), RS*, PS* or
 *   ES* 256/384/512 (signed with `priv-key`, verified with `pub-key`, else with the public half
 *   of `priv-key`);
 * - `priv-key` (required here: every edgecd member issues tokens, so none is verify-only);
 * - `ttl`: the tokens' lifetime, a Go duration (default 5m; --auth-token-ttl is for simple tokens).
 *
 * Plain `--auth-token jwt` is edgecd's own: HS256 with --auth-token-key or the cluster's
 * replicated key. Only file paths are kept here; workers/member.ts reads the files.
 *
 * @module
 */
import { goDurationMs } from './etcd-flags.ts'

export const JWT_SIGN_METHODS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number]

export interface JwtOptions {
  readonly signMethod: JwtSignMethod
  readonly privKeyFile: string
  /** Null: verified with the public half of the private key (an HS method has none). */
  readonly pubKeyFile: string | null
  readonly ttlMs: number
}

const OPTIONS = new Set(['pub-key', 'priv-key', 'sign-method', 'ttl'])

/** etcd's default JWT lifetime. */
const DEFAULT_TTL_MS = 5 * 60_000

/**
 * The options after `jwt,` in --auth-token (`options` without that prefix); `fail` makes the
 * error thrown for a malformed one.
 */
export function parseJwtOptions(options: readonly string[], fail: (message: string) => Error): JwtOptions {
  const given = new Map<string, string>()
  for (const option of options) {
    const eq = option.indexOf('=')
    const name = option.slice(0, Math.max(eq, 0))
    if (eq <= 0 || !OPTIONS.has(name)) throw fail(`--auth-token: unknown jwt option ${JSON.stringify(option)} (pub-key, priv-key, sign-method, ttl)`)
    given.set(name, option.slice(eq + 1))
  }
  const method = given.get('sign-method') ?? ''
  if (!(JWT_SIGN_METHODS as readonly string[]).includes(method))
    throw fail(`--auth-token: jwt needs sign-method, one of ${JWT_SIGN_METHODS.join(', ')}; got ${JSON.stringify(method)}`)
  const privKeyFile = given.get('priv-key') ?? ''
  if (privKeyFile === '') throw fail('--auth-token: jwt needs priv-key (every edgecd member signs tokens)')
  const ttl = given.get('ttl')
  const ttlMs = ttl === undefined ? DEFAULT_TTL_MS : goDurationMs(ttl)
  if (ttlMs === null || ttlMs <= 0) throw fail(`--auth-token: jwt ttl must be a positive duration such as 10m, got ${JSON.stringify(ttl)}`)
  const pub = given.get('pub-key') ?? ''
  return { signMethod: method as JwtSignMethod, privKeyFile, pubKeyFile: pub === '' ? null : pub, ttlMs: Math.round(ttlMs) }
}
