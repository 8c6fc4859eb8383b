/**
 * Who a request acts as, and whether it may: the check every call of the member's API passes
 * through while auth is enabled (etcd's auth checks, made in the HTTP layer before anything is
 * proposed or read).
 *
 * Identity: the raw token in `Grpc-Metadata-Token` or else `Authorization` (`Bearer x` is not a token);
 * without one, the verified client certificate's CN when `--client-cert-auth` is on (on a call a
 * follower forwarded, the CN it verified and vouched for: forwarded-user.ts); else
 * `user name is empty` (400 / 3). A bad, expired or revoked token is `invalid auth token` (401 / 16).
 *
 * Permissions (a user holding the `root` role may do anything):
 *
 *   nothing           maintenance/status, member/list, lease/leases, lease/keepalive,
 *                     lease/timetolive without `keys`, auth/status, unlock of an empty key: any
 *                     token is ignored (etcd 3.4 answers these locally, unchecked)
 *   no user, but a    lease/grant, compaction, auth/authenticate (its token checked after its
 *   token must be     password, as etcd does), lease/revoke of a lease without keys, a txn
 *   valid             without compares or ops, user/get of "", alarm GET (etcd 3.4 reads a
 *                     token only when it proposes the call, and checks none of these; a bad
 *                     token on an alarm call is 500 / 2 `auth: invalid auth token`, as its
 *                     maintenance server passes it on as is)
 *   read              range; txn compares and range ops; watch (its whole range, at creation);
 *                     election leader/observe (`name/`); lease/timetolive with `keys` (every
 *                     attached key: etcd 3.4.23 lists them to anyone, CVE-2023-32082, fixed in
 *                     3.4.26)
 *   write             put (+ read with prev_kv, + write on every key already on its lease);
 *                     deleterange (+ read with prev_kv); txn puts and deletes; lease/revoke (every
 *                     attached key; without a user, a lease with keys is `user name is empty`);
 *                     lock (`name/`, read and write); unlock; campaign, proclaim, resign (`name/`)
 *   any user          user/get of oneself; role/get of one's own role
 *   root              everything else: maintenance, member changes, auth admin
 *
 * Denied is `permission denied` (403 / 7). Lock and election pass every error on as 500 / 2,
 * as etcd's v3lock and v3election servers do. Hash, hashkv, defragment and snapshot answer an
 * auth error as etcd 3.4's maintenance server does, which checks them itself: 500 / 2 with the
 * auth package's words (`auth: permission denied`, `auth: user name is empty`, …).
 *
 * While auth is off nothing is checked, but a call that comes with a token is refused as with a
 * bad one, as etcd does (disabling auth voids every token): a client still sending the token it
 * held is told, not silently served as nobody. The calls that need nothing (above), authenticate
 * (`authentication is not enabled`), moving the leader and lease/timetolive (which etcd 3.4
 * never checks, `keys` or not) are served whatever the token.
 *
 * @module
 */
import { concurrencyError } from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { AuthErrors } from './auth-errors.ts'
import { DEFAULT_FAILURE_LIMITS, FailureLimiter, type FailureLimits } from './auth-limiter.ts'
import { Checker, principalOf, type Principal } from './auth-checker.ts'
import type { MemberActor } from './actor.ts'
import { DEFAULT_TOKEN_OPTIONS, Tokens, type TokenOptions } from './auth-tokens.ts'
import type { MemberContext } from './member-context.ts'
import type { ForwardedClaim } from './forwarded-user.ts'

const EMPTY = new Uint8Array(0)

/** What the transport knows about the client. */
export interface Connection {
  /** The client's address (for limiting failed logins). */
  readonly address: string
  /** The CN of the client certificate the TLS layer verified (with --client-cert-auth), else null. */
  readonly commonName: string | null
  /**
   * On a request another member forwarded over a verified TLS connection (with --client-cert-auth):
   * the user that member says it verified, NOT checked yet. app.ts checks it (forwarded-user.ts)
   * and drops it before anything else sees the connection; the gate never reads it.
   */
  readonly forwardClaim?: ForwardedClaim
}

export const UNKNOWN_CONNECTION: Connection = { address: 'unknown', commonName: null }

export type { Principal } from './auth-checker.ts'

/** A request's headers by lower-case name (Web `Headers` is one). */
export interface HeaderSource {
  get(name: string): string | null
}

/** A request's caller as its handler sees it. */
export interface Caller {
  /** Null while auth is off, or for a call that needs no user. */
  readonly principal: Principal | null
  readonly connection: Connection
  /**
   * authenticate only, auth on: what the call's bad token earns, answered once its password
   * proved right (etcd checks the password before it reads the token).
   */
  readonly tokenError?: EtcdError
}

export interface AuthOptions {
  readonly tokens: TokenOptions
  readonly failures: FailureLimits
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = { tokens: DEFAULT_TOKEN_OPTIONS, failures: DEFAULT_FAILURE_LIMITS }

const FREE: ReadonlySet<string> = new Set([
  'maintenance.status', 'cluster.member.list', 'lease.leases', 'lease.keepalive', 'auth.status',
])

/**
 * Calls served with or without a user: a token that comes with one must be valid. Each check
 * gets the user's checker, or null without one.
 */
type OptionalCheck = (g: Checker | null, req: any, m: MemberContext) => void

const USER_OPTIONAL: Readonly<Record<string, OptionalCheck>> = {
  'lease.grant': () => undefined,
  // A txn that compares and does nothing needs no user (etcd checks each compare and op).
  'kv.txn': (g, r) => {
    if (g !== null) g.txn(r)
    else if (r.compare.length + r.success.length + r.failure.length > 0) throw AuthErrors.userEmpty()
  },
  'kv.compaction': () => undefined,
  'lease.revoke': (g, r, m) => {
    if (g !== null) g.leaseKeys('write', r.id)
    else if (m.actor.store.leaseKeys(r.id).length > 0) throw AuthErrors.userEmpty()
  },
  'lock.unlock': (g, r) => {
    if (g === null) throw AuthErrors.userEmpty()
    g.need('write', r.key, EMPTY)
  },
  'maintenance.alarm': (g, r) => {
    if (isGet(r)) return
    if (g === null) throw AuthErrors.userEmpty()
    g.root()
  },
  // etcd lets a user get themself; without a user that is the user named "" (not found).
  'auth.user.get': (g, r) => {
    if (g === null) {
      if (r.name !== '') throw AuthErrors.userEmpty()
    } else if (r.name !== g.principal.name) g.root()
  },
}

/** Calls served whatever token comes with them while auth is off (see the module doc). */
const FREE_WHILE_OFF: ReadonlySet<string> = new Set(['auth.authenticate', 'maintenance.transfer-leadership', 'lease.timetolive'])

/**
 * The token a call comes with (gRPC's `token` metadata first, as etcd reads it), or null for none.
 * A header sent empty is a token, the empty one, which no user holds (etcd: `invalid auth token`).
 */
export function tokenOf(headers: HeaderSource): string | null {
  return headers.get('grpc-metadata-token') ?? headers.get('authorization')
}

/** Root-only calls whose auth errors come as 500 / 2 `auth: …` (see the module doc). */
const MAINTENANCE_CHECKED: ReadonlySet<string> = new Set(['maintenance.hash', 'maintenance.hashkv', 'maintenance.defragment', 'maintenance.snapshot'])

/** Permission checks by endpoint; an endpoint not listed here (nor FREE) is root only. */
type Check = (g: Checker, req: any) => void

const CHECKS: Readonly<Record<string, Check>> = {
  'kv.range': (g, r) => g.need('read', r.key, r.rangeEnd),
  'kv.put': (g, r) => g.put(r.key, r.prevKv, r.lease),
  'kv.deleterange': (g, r) => g.deleteRange(r.key, r.rangeEnd, r.prevKv),
  'lease.timetolive': (g, r) => g.leaseKeys('read', r.id),
  'lock.lock': (g, r) => g.prefix(r.name, 'read', 'write'),
  'election.campaign': (g, r) => g.prefix(r.name, 'write'),
  'election.proclaim': (g, r) => g.need('write', r.leader?.key ?? EMPTY, EMPTY),
  'election.resign': (g, r) => g.need('write', r.leader?.key ?? EMPTY, EMPTY),
  'election.leader': (g, r) => g.prefix(r.name, 'read'),
  'election.observe': (g, r) => g.prefix(r.name, 'read'),
  'auth.role.get': (g, r) => (g.hasRole(r.role) ? undefined : g.root()),
}

export class AuthGate {
  readonly tokens: Tokens
  readonly failures: FailureLimiter

  constructor(options: AuthOptions, now: () => number) {
    this.tokens = new Tokens(options.tokens, now)
    this.failures = new FailureLimiter(options.failures, now)
  }

  /** The user `headers` (or the client certificate) name; throws when none or a bad token. */
  async principal(actor: MemberActor, headers: HeaderSource, connection: Connection): Promise<Principal> {
    const principal = await this.#identify(actor, headers, connection)
    if (principal === null) throw AuthErrors.userEmpty()
    return principal
  }

  /** The user `headers` (or the client certificate) name, or null when neither names one; throws on a bad token. */
  async #identify(actor: MemberActor, headers: HeaderSource, connection: Connection): Promise<Principal | null> {
    const token = tokenOf(headers)
    if (token !== null) return principalOf(actor.auth, await this.tokens.verify(actor, token))
    if (connection.commonName !== null && connection.commonName !== '') return principalOf(actor.auth, connection.commonName)
    return null
  }

  /**
   * Checks a decoded request of endpoint `endpoint` (by name) and answers its caller. While auth
   * is off, only that no token comes with it (see the module doc).
   */
  async authorize(m: MemberContext, endpoint: string, req: unknown, headers: HeaderSource, connection: Connection): Promise<Caller> {
    const store = m.actor.auth
    // etcd refuses an unlock of an empty key (`key is not provided`) before it looks at any token.
    const free = FREE.has(endpoint) || (endpoint === 'lease.timetolive' && !asksKeys(req)) || (endpoint === 'lock.unlock' && emptyKey(req))
    const enabled = store.enabled()
    if (free || (!enabled && (FREE_WHILE_OFF.has(endpoint) || tokenOf(headers) === null)))
      return { principal: null, connection }
    const concurrency = endpoint.startsWith('lock.') || endpoint.startsWith('election.')
    try {
      if (!enabled) throw AuthErrors.invalidToken()
      if (endpoint === 'auth.authenticate') return await this.#login(m, headers, connection)
      const optional = USER_OPTIONAL[endpoint]
      if (optional !== undefined) {
        const principal = await this.#identify(m.actor, headers, connection)
        optional(principal === null ? null : new Checker(store, m.actor.store, principal), req, m)
        return { principal, connection }
      }
      const principal = await this.principal(m.actor, headers, connection)
      const check = CHECKS[endpoint]
      const checker = new Checker(store, m.actor.store, principal)
      if (check === undefined) checker.root()
      else check(checker, req)
      return { principal, connection }
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err
      if (concurrency) throw concurrencyError(err)
      const rawTokenError = endpoint === 'maintenance.alarm' && err.code === GrpcCode.Unauthenticated
      if (MAINTENANCE_CHECKED.has(endpoint) || rawTokenError) throw new EtcdError(GrpcCode.Unknown, err.message.replace(/^etcdserver: /, 'auth: '))
      throw err
    }
  }

  /** An authenticate call's caller: no user, and the error of its token if it comes with a bad one. */
  async #login(m: MemberContext, headers: HeaderSource, connection: Connection): Promise<Caller> {
    try {
      await this.#identify(m.actor, headers, connection)
      return { principal: null, connection }
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err
      return { principal: null, connection, tokenError: err }
    }
  }

  /** Whether `principal` may watch `[key, rangeEnd)`. */
  canRead(m: MemberContext, principal: Principal, key: Uint8Array, rangeEnd: Uint8Array): boolean {
    if (principal.root) return true
    const checker = new Checker(m.actor.auth, m.actor.store, principal)
    try {
      checker.need('read', key, rangeEnd)
      return true
    } catch {
      return false
    }
  }
}

function asksKeys(req: unknown): boolean {
  return typeof req === 'object' && req !== null && (req as { keys?: unknown }).keys === true
}

function emptyKey(req: unknown): boolean {
  return typeof req === 'object' && req !== null && (req as { key?: Uint8Array }).key?.length === 0
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
