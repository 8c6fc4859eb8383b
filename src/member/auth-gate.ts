/**
 * Who a request acts as, and whether it may: the check every call of the member's API passes
 * through while auth is enabled (etcd's auth checks, made in the HTTP layer before anything is
 * proposed or read).
 *
 * Identity: the raw token in `Authorization` (`Bearer x` is not a token) or `Grpc-Metadata-Token`;
 * without one, the verified client certificate's CN when `--client-cert-auth` is on; else
 * `user name is empty` (400 / 3). A bad, expired or revoked token is `invalid auth token` (401 / 16).
 *
 * Permissions (a user holding the `root` role may do anything):
 *
 *   needs no token    maintenance/status, alarm GET, member/list, lease/grant, lease/leases,
 *                     lease/keepalive, auth/authenticate, auth/status (etcd 3.4 lets these through)
 *   read              range; txn compares and range ops; watch (its whole range, at creation);
 *                     election leader/observe (`name/`); lease/timetolive keys (with `keys`)
 *   write             put (+ read with prev_kv, + write on every key already on its lease);
 *                     deleterange (+ read with prev_kv); txn puts and deletes; lease/revoke (every
 *                     attached key); lock (`name/`, read and write); unlock; campaign, proclaim,
 *                     resign (`name/`)
 *   any user          lease/timetolive; user/get of oneself; role/get of one's own role
 *   root              everything else: compaction, maintenance, member changes, auth admin
 *
 * Denied is `permission denied` (403 / 7). Lock and election pass every error on as 500 / 2,
 * as etcd's v3lock and v3election servers do.
 *
 * @module
 */
import { concurrencyError, prefixRangeEnd } from '../api/index.ts'
import { EtcdError, type RequestOp, type TxnRequest } from '../mvcc/index.ts'
import { AuthErrors } from './auth-errors.ts'
import { DEFAULT_FAILURE_LIMITS, FailureLimiter, type FailureLimits } from './auth-limiter.ts'
import { covers, type Access } from './auth-perms.ts'
import type { MemberActor } from './actor.ts'
import { ROOT, type StoredPermission } from './auth-store.ts'
import { DEFAULT_TOKEN_OPTIONS, Tokens, type TokenOptions } from './auth-tokens.ts'
import { prefixOf } from './concurrency.ts'
import type { MemberContext } from './member-context.ts'

const EMPTY = new Uint8Array(0)

/** What the transport knows about the client. */
export interface Connection {
  /** The client's address (for limiting failed logins). */
  readonly address: string
  /** The CN of the client certificate the TLS layer verified (with --client-cert-auth), else null. */
  readonly commonName: string | null
}

export const UNKNOWN_CONNECTION: Connection = { address: 'unknown', commonName: null }

export interface Principal {
  readonly name: string
  readonly root: boolean
}

/** A request's caller as its handler sees it. */
export interface Caller {
  /** Null while auth is off, or for a call that needs no user. */
  readonly principal: Principal | null
  readonly connection: Connection
}

export interface AuthOptions {
  readonly tokens: TokenOptions
  readonly failures: FailureLimits
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = { tokens: DEFAULT_TOKEN_OPTIONS, failures: DEFAULT_FAILURE_LIMITS }

const FREE: ReadonlySet<string> = new Set([
  'maintenance.status', 'cluster.member.list', 'lease.grant', 'lease.leases', 'lease.keepalive', 'auth.authenticate',
  'auth.status',
])

/** Permission checks by endpoint; an endpoint not listed here (nor FREE) is root only. */
type Check = (g: Checker, req: any) => void

const CHECKS: Readonly<Record<string, Check>> = {
  'kv.range': (g, r) => g.need('read', r.key, r.rangeEnd),
  'kv.put': (g, r) => g.put(r.key, r.prevKv, r.lease),
  'kv.deleterange': (g, r) => g.deleteRange(r.key, r.rangeEnd, r.prevKv),
  'kv.txn': (g, r) => g.txn(r),
  'lease.revoke': (g, r) => g.leaseKeys('write', r.id),
  'lease.timetolive': (g, r) => (r.keys ? g.leaseKeys('read', r.id) : undefined),
  'lock.lock': (g, r) => g.prefix(r.name, 'read', 'write'),
  'lock.unlock': (g, r) => g.need('write', r.key, EMPTY),
  'election.campaign': (g, r) => g.prefix(r.name, 'write'),
  'election.proclaim': (g, r) => g.need('write', r.leader?.key ?? EMPTY, EMPTY),
  'election.resign': (g, r) => g.need('write', r.leader?.key ?? EMPTY, EMPTY),
  'election.leader': (g, r) => g.prefix(r.name, 'read'),
  'election.observe': (g, r) => g.prefix(r.name, 'read'),
  'auth.user.get': (g, r) => (r.name === g.principal.name ? undefined : g.root()),
  'auth.role.get': (g, r) => (g.hasRole(r.role) ? undefined : g.root()),
}

/** One principal's permission checks against the local stores. */
class Checker {
  readonly principal: Principal
  readonly #m: MemberContext
  readonly #perms: StoredPermission[]
  readonly #roles: readonly string[]

  constructor(m: MemberContext, principal: Principal, roles: readonly string[]) {
    this.#m = m
    this.principal = principal
    this.#roles = roles
    this.#perms = roles.flatMap((r) => m.actor.auth.role(r) ?? [])
  }

  root(): void {
    if (!this.principal.root) throw AuthErrors.permissionDenied()
  }

  hasRole(role: string): boolean {
    return this.#roles.includes(role)
  }

  need(access: Access, key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this.principal.root && !covers(this.#perms, access, key, rangeEnd)) throw AuthErrors.permissionDenied()
  }

  prefix(name: Uint8Array, ...access: Access[]): void {
    const prefix = prefixOf(name)
    for (const a of access) this.need(a, prefix, prefixRangeEnd(prefix))
  }

  put(key: Uint8Array, prevKv: boolean, lease: bigint): void {
    this.need('write', key, EMPTY)
    if (prevKv) this.need('read', key, EMPTY)
    if (lease !== 0n) this.leaseKeys('write', lease)
  }

  deleteRange(key: Uint8Array, rangeEnd: Uint8Array, prevKv: boolean): void {
    this.need('write', key, rangeEnd)
    if (prevKv) this.need('read', key, rangeEnd)
  }

  txn(t: TxnRequest): void {
    for (const c of t.compare) this.need('read', c.key, c.rangeEnd)
    for (const op of [...t.success, ...t.failure]) this.#op(op)
  }

  /** Every key attached to `lease` (as this member's store knows it). */
  leaseKeys(access: Access, lease: bigint): void {
    if (this.principal.root) return
    const { keys } = this.#m.actor.store.leaseTimeToLive({ id: lease, keys: true }, this.#m.actor.clock.now())
    for (const k of keys) this.need(access, k, EMPTY)
  }

  #op(op: RequestOp): void {
    if (op.type === 'range') this.need('read', op.request.key, op.request.rangeEnd)
    else if (op.type === 'put') this.put(op.request.key, op.request.prevKv, op.request.lease)
    else if (op.type === 'delete-range') this.deleteRange(op.request.key, op.request.rangeEnd, op.request.prevKv)
    else this.txn(op.request)
  }
}

export class AuthGate {
  readonly tokens: Tokens
  readonly failures: FailureLimiter

  constructor(options: AuthOptions, now: () => number) {
    this.tokens = new Tokens(options.tokens, now)
    this.failures = new FailureLimiter(options.failures, now)
  }

  /** The user `headers` (or the client certificate) name; throws when none or a bad token. */
  async principal(actor: MemberActor, headers: Headers, connection: Connection): Promise<Principal> {
    const token = headers.get('authorization') ?? headers.get('grpc-metadata-token')
    let name: string
    if (token !== null && token !== '') name = await this.tokens.verify(actor, token)
    else if (connection.commonName !== null && connection.commonName !== '') name = connection.commonName
    else throw AuthErrors.userEmpty()
    return { name, root: actor.auth.user(name)?.roles.includes(ROOT) ?? false }
  }

  /**
   * Checks a decoded request of endpoint `endpoint` (by name) and answers its caller. Nothing is
   * checked while auth is off.
   */
  async authorize(m: MemberContext, endpoint: string, req: unknown, headers: Headers, connection: Connection): Promise<Caller> {
    const store = m.actor.auth
    if (!store.enabled() || FREE.has(endpoint) || (endpoint === 'maintenance.alarm' && isGet(req)))
      return { principal: null, connection }
    const concurrency = endpoint.startsWith('lock.') || endpoint.startsWith('election.')
    try {
      const principal = await this.principal(m.actor, headers, connection)
      const check = CHECKS[endpoint]
      const checker = new Checker(m, principal, store.user(principal.name)?.roles ?? [])
      if (check === undefined) checker.root()
      else check(checker, req)
      return { principal, connection }
    } catch (err) {
      throw concurrency && err instanceof EtcdError ? concurrencyError(err) : err
    }
  }

  /** Whether `principal` may watch `[key, rangeEnd)`. */
  canRead(m: MemberContext, principal: Principal, key: Uint8Array, rangeEnd: Uint8Array): boolean {
    if (principal.root) return true
    const checker = new Checker(m, principal, m.actor.auth.user(principal.name)?.roles ?? [])
    try {
      checker.need('read', key, rangeEnd)
      return true
    } catch {
      return false
    }
  }
}

function isGet(req: unknown): boolean {
  return typeof req === 'object' && req !== null && (req as { action?: unknown }).action === 'GET'
}

const DEFAULT_GATES = new WeakMap<MemberContext['actor'], AuthGate>()

/** The member's gate: `m.auth`, or one with the default options (simple tokens, 300 s). */
export function authGate(m: MemberContext): AuthGate {
  if (m.auth !== undefined) return m.auth
  let gate = DEFAULT_GATES.get(m.actor)
  if (gate === undefined) {
    gate = new AuthGate(DEFAULT_AUTH_OPTIONS, () => m.actor.clock.now())
    DEFAULT_GATES.set(m.actor, gate)
  }
  return gate
}
