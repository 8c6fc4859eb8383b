/**
 * The gateway's settings from `EDGECD_*` variables (a Worker's env, or process.env on Node), and
 * the `host:port` form of `--listen`. Invalid values throw a {@link GatewayConfigError} naming the
 * variable; nothing is silently replaced.
 *
 *   EDGECD_ENDPOINTS            member client URLs, comma-separated (required)
 *   EDGECD_REQUEST_TIMEOUT_MS   deadline of one request, retries included (default 5000)
 *   EDGECD_AUTO_SYNC            "true": follow member/list for the endpoint list
 *   EDGECD_AUTH_FAILURE_LIMIT   failed logins per client address in the window before the gateway
 *                               answers 429 itself (default 49; 0: the gateway does not limit)
 *   EDGECD_AUTH_FAILURE_WINDOW_MS  that window (default 10000)
 *   EDGECD_PROCESSES            Node only: processes serving the port (default 1; node-processes.ts)
 *
 * The options carry `authFailures` only when one of the last two is set (the app's default
 * otherwise).
 *
 * @module
 */
import type { GatewayOptions } from './app.ts'
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './login-limiter.ts'
import { normalizeEndpoint } from './members.ts'

export class GatewayConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GatewayConfigError'
  }
}

export type GatewayEnv = Readonly<Record<string, string | undefined>>

export function gatewayOptionsFromEnv(env: GatewayEnv): GatewayOptions {
  const list = (env['EDGECD_ENDPOINTS'] ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')
  if (list.length === 0) throw new GatewayConfigError('EDGECD_ENDPOINTS: no member endpoint given')
  const endpoints = list.map((e) => {
    try {
      return normalizeEndpoint(e)
    } catch {
      throw new GatewayConfigError(`EDGECD_ENDPOINTS: not an http(s) URL: ${e}`)
    }
  })
  const timeout = env['EDGECD_REQUEST_TIMEOUT_MS']
  const requestTimeoutMs = timeout === undefined || timeout === '' ? 5000 : Number(timeout)
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new GatewayConfigError(`EDGECD_REQUEST_TIMEOUT_MS: not a positive integer: ${timeout}`)
  }
  const sync = env['EDGECD_AUTO_SYNC'] ?? 'false'
  if (sync !== 'true' && sync !== 'false') {
    throw new GatewayConfigError(`EDGECD_AUTO_SYNC: not true/false: ${sync}`)
  }
  const authFailures = authFailuresFromEnv(env)
  return { endpoints, requestTimeoutMs, autoSync: sync === 'true', ...(authFailures === undefined ? {} : { authFailures }) }
}

/** The most processes EDGECD_PROCESSES may ask for. */
export const MAX_PROCESSES = 64

/** How many processes serve the gateway's port (EDGECD_PROCESSES, 1 to {@link MAX_PROCESSES}; default 1). */
export function gatewayProcessesFromEnv(env: GatewayEnv): number {
  const count = integerFrom(env, 'EDGECD_PROCESSES', 1) ?? 1
  if (count > MAX_PROCESSES) throw new GatewayConfigError(`EDGECD_PROCESSES: more than ${MAX_PROCESSES}: ${count}`)
  return count
}

/** The login limits the env sets: undefined when it sets none, null when it turns them off. */
function authFailuresFromEnv(env: GatewayEnv): LoginLimits | null | undefined {
  const max = integerFrom(env, 'EDGECD_AUTH_FAILURE_LIMIT', 0)
  const windowMs = integerFrom(env, 'EDGECD_AUTH_FAILURE_WINDOW_MS', 1)
  if (max === undefined && windowMs === undefined) return undefined
  if (max === 0) return null
  return {
    ...DEFAULT_LOGIN_LIMITS,
    ...(max === undefined ? {} : { max }),
    ...(windowMs === undefined ? {} : { windowMs }),
  }
}

/** The integer variable `name` (at least `min`), or undefined when unset or empty. */
function integerFrom(env: GatewayEnv, name: string, min: number): number | undefined {
  const text = env[name]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new GatewayConfigError(`${name}: not an integer of at least ${min}: ${text}`)
  }
  return value
}

/** `127.0.0.1:2379`, `[::1]:2379` or `:2379` (all interfaces) → host and port. */
export function parseListen(listen: string): { readonly host: string; readonly port: number } {
  const colon = listen.lastIndexOf(':')
  const port = Number(listen.slice(colon + 1))
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GatewayConfigError(`--listen: expected host:port, got ${listen}`)
  }
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '0.0.0.0' : host, port }
}
