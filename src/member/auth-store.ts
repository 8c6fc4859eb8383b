/**
 * The replicated auth store (etcd's auth store): users, roles, key permissions, whether auth is
 * enabled, the auth revision, the cluster's token signing key and the live simple tokens, in
 * `auth_*` tables of the member's sql.js database. Written only while applying committed entries
 * ({@link AuthStore.apply}), so every member holds the same rows at the same applied index, and
 * checkpoints and snapshots carry them.
 *
 * Deterministic: everything random or slow (password hashes, the signing key, tokens and their
 * issue time) is computed by the proposing member BEFORE it proposes, and arrives in the command.
 * Passwords are stored only as those hashes; simple tokens only as a hash of the token.
 *
 * Token revocation: every change bumps the auth revision. A token carries the revision it was
 * issued at, and is valid only while it is at least its user's `token_revision` (set by add and
 * changepw) and the store's `tokens_since` (set by disable). A role revoked keeps the user's
 * tokens valid, as in etcd 3.4: the permissions are looked up on every call.
 *
 * ```
 * auth_meta(k, v)              enabled 0|1, revision, tokens_since, jwt_key (bytes)
 * auth_users(name, hash, token_revision)        hash NULL: a user without password
 * auth_user_roles(user, role)
 * auth_roles(name)
 * auth_perms(role, key, range_end, perm_type)   perm_type 0 READ, 1 WRITE, 2 READWRITE
 * auth_tokens(hash, user, revision, expires_at)  simple tokens (hash = SHA-256 hex)
 * ```
 *
 * @module
 */
import { decode, encode } from '@msgpack/msgpack'
import type { Database, SqlValue } from 'sql.js'
import type { PermissionType } from '../api/index.ts'
import { EtcdError } from '../mvcc/index.ts'
import { AuthErrors } from './auth-errors.ts'

export const ROOT = 'root'

export interface StoredPermission {
  readonly permType: PermissionType
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
}

export interface StoredUser {
  readonly name: string
  /** The salted slow hash (auth-password.ts), or null for a user without password. */
  readonly hash: string | null
  /** Tokens issued at an auth revision below this one are void. */
  readonly tokenRevision: number
  /** Sorted. */
  readonly roles: readonly string[]
}

export interface StoredToken {
  readonly user: string
  readonly revision: number
  /** Milliseconds since the epoch, on the issuing member's clock. */
  readonly expiresAt: number
}

/** One change to the auth store; hashes, keys and times were computed by the proposer. */
export type AuthCommand =
  | { readonly type: 'enable'; readonly jwtKey: Uint8Array }
  | { readonly type: 'disable' }
  | { readonly type: 'user-add'; readonly name: string; readonly hash: string | null }
  | { readonly type: 'user-delete'; readonly name: string }
  | { readonly type: 'user-changepw'; readonly name: string; readonly hash: string | null }
  | { readonly type: 'user-grant'; readonly user: string; readonly role: string }
  | { readonly type: 'user-revoke'; readonly name: string; readonly role: string }
  | { readonly type: 'role-add'; readonly name: string }
  | { readonly type: 'role-delete'; readonly role: string }
  | { readonly type: 'role-grant'; readonly name: string; readonly perm: StoredPermission }
  | { readonly type: 'role-revoke'; readonly role: string; readonly key: Uint8Array; readonly rangeEnd: Uint8Array }
  | {
      readonly type: 'token'
      readonly tokenHash: string
      readonly user: string
      readonly revision: number
      readonly issuedAt: number
      readonly expiresAt: number
    }

const TYPES: ReadonlySet<string> = new Set([
  'enable', 'disable', 'user-add', 'user-delete', 'user-changepw', 'user-grant', 'user-revoke', 'role-add',
  'role-delete', 'role-grant', 'role-revoke', 'token',
])

const PERM_TYPES: readonly PermissionType[] = ['READ', 'WRITE', 'READWRITE']

export function encodeAuthCommand(command: AuthCommand): Uint8Array {
  return encode(command)
}

export function decodeAuthCommand(bytes: Uint8Array): AuthCommand {
  const v = decode(bytes) as { type?: unknown } | null
  if (typeof v !== 'object' || v === null || typeof v.type !== 'string' || !TYPES.has(v.type))
    throw new Error('auth: malformed command')
  return v as AuthCommand
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS auth_meta (k TEXT PRIMARY KEY, v);
CREATE TABLE IF NOT EXISTS auth_users (name TEXT PRIMARY KEY, hash TEXT, token_revision INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS auth_user_roles (user TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (user, role));
CREATE TABLE IF NOT EXISTS auth_roles (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS auth_perms (
  role TEXT NOT NULL, key BLOB NOT NULL, range_end BLOB NOT NULL, perm_type INTEGER NOT NULL,
  PRIMARY KEY (role, key, range_end));
CREATE TABLE IF NOT EXISTS auth_tokens (
  hash TEXT PRIMARY KEY, user TEXT NOT NULL, revision INTEGER NOT NULL, expires_at INTEGER NOT NULL);`

export class AuthStore {
  readonly #db: Database
  /** `enabled` as last read or written (every request asks; only apply changes it). */
  #enabled: boolean | null = null

  /** Binds to `db`, creating the tables if needed. A new store object is made per database. */
  constructor(db: Database) {
    this.#db = db
    db.exec(SCHEMA)
  }

  // ---- reads ----------------------------------------------------------------------------

  enabled(): boolean {
    this.#enabled ??= this.#meta('enabled') === 1
    return this.#enabled
  }

  /** Bumped by every change. */
  revision(): number {
    return Number(this.#meta('revision') ?? 0)
  }

  /** The replicated token signing key (set by the first enable), or null. */
  jwtKey(): Uint8Array | null {
    const v = this.#meta('jwt_key')
    return v instanceof Uint8Array ? v : null
  }

  user(name: string): StoredUser | null {
    const row = this.#row('SELECT hash, token_revision FROM auth_users WHERE name = ?', [name])
    if (row === null) return null
    const roles = this.#column('SELECT role FROM auth_user_roles WHERE user = ? ORDER BY role', [name])
    return { name, hash: row[0] as string | null, tokenRevision: Number(row[1]), roles }
  }

  users(): string[] {
    return this.#column('SELECT name FROM auth_users ORDER BY name', [])
  }

  roles(): string[] {
    return this.#column('SELECT name FROM auth_roles ORDER BY name', [])
  }

  /** A role's permissions sorted by key then range end, or null for an unknown role. */
  role(name: string): StoredPermission[] | null {
    if (this.#row('SELECT 1 FROM auth_roles WHERE name = ?', [name]) === null) return null
    const stmt = this.#db.prepare('SELECT key, range_end, perm_type FROM auth_perms WHERE role = ? ORDER BY key, range_end')
    const out: StoredPermission[] = []
    try {
      stmt.bind([name])
      while (stmt.step()) {
        const [key, rangeEnd, type] = stmt.get() as [Uint8Array, Uint8Array, number]
        out.push({ key, rangeEnd, permType: PERM_TYPES[type] ?? 'READ' })
      }
    } finally {
      stmt.free()
    }
    return out
  }

  /** A live simple token by the hash of its text, or null. */
  token(tokenHash: string): StoredToken | null {
    const row = this.#row('SELECT user, revision, expires_at FROM auth_tokens WHERE hash = ?', [tokenHash])
    return row === null ? null : { user: row[0] as string, revision: Number(row[1]), expiresAt: Number(row[2]) }
  }

  /** Whether a token of `user` issued at auth revision `revision` still stands (expiry aside). */
  tokenStands(user: string, revision: number): boolean {
    const u = this.user(user)
    return this.enabled() && u !== null && revision >= u.tokenRevision && revision >= Number(this.#meta('tokens_since') ?? 0)
  }

  // ---- apply ----------------------------------------------------------------------------

  /** Applies one committed command; an etcd error leaves everything unchanged. */
  apply(bytes: Uint8Array): EtcdError | null {
    try {
      this.#execute(decodeAuthCommand(bytes))
      return null
    } catch (err) {
      if (err instanceof EtcdError) return err
      throw err
    }
  }

  #execute(c: AuthCommand): void {
    switch (c.type) {
      case 'enable': return this.#enable(c.jwtKey)
      case 'disable':
        this.#setEnabled(false)
        this.#db.run('DELETE FROM auth_tokens')
        this.#setMeta('tokens_since', this.#bump())
        return
      case 'user-add':
        if (c.name === '') throw AuthErrors.userEmpty()
        if (this.user(c.name) !== null) throw AuthErrors.userExists()
        this.#db.run('INSERT INTO auth_users (name, hash, token_revision) VALUES (?, ?, ?)', [c.name, c.hash, this.#bump()])
        return
      case 'user-delete':
        if (this.enabled() && c.name === ROOT) throw AuthErrors.invalidAuthMgmt()
        this.#existingUser(c.name)
        this.#db.run('DELETE FROM auth_users WHERE name = ?', [c.name])
        this.#db.run('DELETE FROM auth_user_roles WHERE user = ?', [c.name])
        this.#db.run('DELETE FROM auth_tokens WHERE user = ?', [c.name])
        this.#bump()
        return
      case 'user-changepw':
        this.#existingUser(c.name)
        this.#db.run('UPDATE auth_users SET hash = ?, token_revision = ? WHERE name = ?', [c.hash, this.#bump(), c.name])
        return
      case 'user-grant': {
        const user = this.#existingUser(c.user)
        if (c.role !== ROOT && this.role(c.role) === null) throw AuthErrors.roleNotFound()
        if (user.roles.includes(c.role)) return
        this.#db.run('INSERT INTO auth_user_roles (user, role) VALUES (?, ?)', [c.user, c.role])
        this.#bump()
        return
      }
      case 'user-revoke': {
        if (this.enabled() && c.name === ROOT && c.role === ROOT) throw AuthErrors.invalidAuthMgmt()
        const user = this.#existingUser(c.name)
        if (!user.roles.includes(c.role)) throw AuthErrors.roleNotGranted()
        // The user's tokens stay valid (etcd 3.4): what the role allowed is refused from now on.
        this.#db.run('DELETE FROM auth_user_roles WHERE user = ? AND role = ?', [c.name, c.role])
        this.#bump()
        return
      }
      case 'role-add':
        if (c.name === '') throw AuthErrors.roleEmpty()
        if (this.role(c.name) !== null) throw AuthErrors.roleExists()
        this.#db.run('INSERT INTO auth_roles (name) VALUES (?)', [c.name])
        this.#bump()
        return
      case 'role-delete':
        // With auth off, a role named root is a role like any other (etcd 3.4).
        if (this.enabled() && c.role === ROOT) throw AuthErrors.invalidAuthMgmt()
        if (this.role(c.role) === null) throw AuthErrors.roleNotFound()
        this.#db.run('DELETE FROM auth_roles WHERE name = ?', [c.role])
        this.#db.run('DELETE FROM auth_perms WHERE role = ?', [c.role])
        this.#db.run('DELETE FROM auth_user_roles WHERE role = ?', [c.role])
        this.#bump()
        return
      case 'role-grant':
        if (this.role(c.name) === null) throw AuthErrors.roleNotFound()
        this.#db.run('INSERT OR REPLACE INTO auth_perms (role, key, range_end, perm_type) VALUES (?, ?, ?, ?)', [
          c.name,
          c.perm.key,
          c.perm.rangeEnd,
          Math.max(0, PERM_TYPES.indexOf(c.perm.permType)),
        ])
        this.#bump()
        return
      case 'role-revoke': {
        const perms = this.role(c.role)
        if (perms === null) throw AuthErrors.roleNotFound()
        if (!perms.some((p) => sameBytes(p.key, c.key) && sameBytes(p.rangeEnd, c.rangeEnd)))
          throw AuthErrors.permissionNotGranted()
        this.#db.run('DELETE FROM auth_perms WHERE role = ? AND key = ? AND range_end = ?', [c.role, c.key, c.rangeEnd])
        this.#bump()
        return
      }
      case 'token':
        if (!this.enabled()) throw AuthErrors.notEnabled()
        if (!this.tokenStands(c.user, c.revision)) throw AuthErrors.authFailed()
        this.#db.run('DELETE FROM auth_tokens WHERE expires_at <= ?', [c.issuedAt])
        this.#db.run('INSERT OR REPLACE INTO auth_tokens (hash, user, revision, expires_at) VALUES (?, ?, ?, ?)', [
          c.tokenHash,
          c.user,
          c.revision,
          c.expiresAt,
        ])
    }
  }

  #enable(jwtKey: Uint8Array): void {
    if (this.enabled()) return
    const root = this.user(ROOT)
    if (root === null) throw AuthErrors.rootUserNotExist()
    if (!root.roles.includes(ROOT)) throw AuthErrors.rootRoleNotExist()
    if (this.jwtKey() === null) this.#setMeta('jwt_key', jwtKey)
    this.#setEnabled(true)
    this.#bump()
  }

  #setEnabled(on: boolean): void {
    this.#setMeta('enabled', on ? 1 : 0)
    this.#enabled = on
  }

  #existingUser(name: string): StoredUser {
    const user = this.user(name)
    if (user === null) throw AuthErrors.userNotFound()
    return user
  }

  /** Increments the auth revision; answers the new one. */
  #bump(): number {
    const next = this.revision() + 1
    this.#setMeta('revision', next)
    return next
  }

  #meta(k: string): SqlValue | undefined {
    const row = this.#row('SELECT v FROM auth_meta WHERE k = ?', [k])
    return row === null ? undefined : row[0]
  }

  #setMeta(k: string, v: SqlValue): void {
    this.#db.run('INSERT OR REPLACE INTO auth_meta (k, v) VALUES (?, ?)', [k, v])
  }

  #row(sql: string, params: SqlValue[]): SqlValue[] | null {
    const stmt = this.#db.prepare(sql)
    try {
      stmt.bind(params)
      return stmt.step() ? stmt.get() : null
    } finally {
      stmt.free()
    }
  }

  #column(sql: string, params: SqlValue[]): string[] {
    const stmt = this.#db.prepare(sql)
    const out: string[] = []
    try {
      stmt.bind(params)
      while (stmt.step()) out.push(String(stmt.get()[0]))
    } finally {
      stmt.free()
    }
    return out
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
