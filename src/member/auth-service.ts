/**
 * The Auth service: `/v3/auth/*` on top of the replicated auth store. Changes are proposed
 * through Raft (auth-store.ts applies them); everything slow or random is done here first:
 * password hashes (scrypt), the signing key proposed with `enable`, tokens. Reads come from the
 * local store after a ReadIndex round. Who may call what is auth-gate.ts's business.
 *
 * `authenticate` is limited per client address and user name, and per address (auth-limiter.ts):
 * every call counts as a failure until its password proved right or no password was checked. It
 * answers an unknown user and a wrong password alike, after the same amount of hashing.
 *
 * @module
 */
import type {
  AuthenticateRequest, AuthenticateResponse, AuthStatusResponse, HeaderResponse, NamePasswordRequest, NameRequest,
  RoleGetResponse, RoleGrantPermissionRequest, RoleRequest, RoleRevokePermissionRequest, RolesResponse,
  UserAddRequest, UserGrantRoleRequest, UserRevokeRoleRequest, UsersResponse,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import type { Applied } from './actor.ts'
import { AuthErrors } from './auth-errors.ts'
import { authGate, type Caller } from './auth-gate.ts'
import { hashPassword, verifyPassword } from './auth-password.ts'
import type { AuthCommand } from './auth-store.ts'
import { newSigningKey } from './auth-tokens.ts'
import type { MemberContext } from './member-context.ts'

async function change(m: MemberContext, command: AuthCommand): Promise<HeaderResponse> {
  const applied: Applied = await m.actor.proposeAuth(command)
  if (applied.error !== null) throw applied.error
  return { header: { revision: applied.revision } }
}

/** A linearizable view of the auth store, with the header of the moment. */
async function read(m: MemberContext): Promise<{ header: { revision: number } }> {
  await m.actor.linearizableRead()
  return { header: { revision: m.actor.store.currentRevision() } }
}

export function enable(m: MemberContext): Promise<HeaderResponse> {
  return change(m, { type: 'enable', jwtKey: newSigningKey() })
}

export function disable(m: MemberContext): Promise<HeaderResponse> {
  return change(m, { type: 'disable' })
}

export async function status(m: MemberContext): Promise<AuthStatusResponse> {
  const { header } = await read(m)
  const store = m.actor.auth
  return { header, enabled: store.enabled(), authRevision: store.revision() }
}

export async function authenticate(
  m: MemberContext,
  req: AuthenticateRequest,
  _signal: AbortSignal,
  caller: Caller,
): Promise<AuthenticateResponse> {
  const gate = authGate(m)
  const attempt = gate.failures.begin(caller.connection.address, req.name)
  let verified: Verified | null
  try {
    verified = await verify(m, req)
  } catch (err) {
    attempt.forgive()
    throw err
  }
  if (verified === null) throw AuthErrors.authFailed()
  attempt.forgive()
  if (caller.tokenError !== undefined) throw caller.tokenError
  return { header: verified.header, token: await gate.tokens.issue(m.actor, verified.user, m.actor.auth.revision()) }
}

/** A login whose password proved right. */
interface Verified {
  readonly header: { revision: number }
  readonly user: string
}

/**
 * The header and the user whose password `req` gives, or null when the user is unknown or the
 * password wrong (after the same hashing either way); throws when no password could be checked
 * (auth off, no leader, a user without a password: etcd says so, before any hashing).
 */
async function verify(m: MemberContext, req: AuthenticateRequest): Promise<Verified | null> {
  if (!m.actor.auth.enabled()) throw AuthErrors.notEnabled()
  const { header } = await read(m)
  const user = m.actor.auth.user(req.name)
  if (user !== null && user.hash === null) throw AuthErrors.noPasswordUser()
  if (!(await verifyPassword(req.password, user?.hash ?? null)) || user === null) return null
  return { header, user: user.name }
}

export async function userAdd(m: MemberContext, req: UserAddRequest): Promise<HeaderResponse> {
  if (req.name === '') throw AuthErrors.userEmpty()
  const hash = req.options?.noPassword === true ? null : await hashPassword(req.password, m.bcryptCost)
  return change(m, { type: 'user-add', name: req.name, hash })
}

export async function userGet(m: MemberContext, req: NameRequest): Promise<RolesResponse> {
  const { header } = await read(m)
  const user = m.actor.auth.user(req.name)
  if (user === null) throw AuthErrors.userNotFound()
  return { header, roles: user.roles }
}

export async function userList(m: MemberContext): Promise<UsersResponse> {
  const { header } = await read(m)
  return { header, users: m.actor.auth.users() }
}

export function userDelete(m: MemberContext, req: NameRequest): Promise<HeaderResponse> {
  return change(m, { type: 'user-delete', name: req.name })
}

export async function userChangePassword(m: MemberContext, req: NamePasswordRequest): Promise<HeaderResponse> {
  if (m.actor.auth.user(req.name) === null) throw AuthErrors.userNotFound()
  return change(m, { type: 'user-changepw', name: req.name, hash: await hashPassword(req.password, m.bcryptCost) })
}

export function userGrantRole(m: MemberContext, req: UserGrantRoleRequest): Promise<HeaderResponse> {
  return change(m, { type: 'user-grant', user: req.user, role: req.role })
}

export function userRevokeRole(m: MemberContext, req: UserRevokeRoleRequest): Promise<HeaderResponse> {
  return change(m, { type: 'user-revoke', name: req.name, role: req.role })
}

export function roleAdd(m: MemberContext, req: NameRequest): Promise<HeaderResponse> {
  return change(m, { type: 'role-add', name: req.name })
}

export async function roleGet(m: MemberContext, req: RoleRequest): Promise<RoleGetResponse> {
  const { header } = await read(m)
  const perm = m.actor.auth.role(req.role)
  if (perm === null) throw AuthErrors.roleNotFound()
  return { header, perm }
}

export async function roleList(m: MemberContext): Promise<RolesResponse> {
  const { header } = await read(m)
  return { header, roles: m.actor.auth.roles() }
}

export function roleDelete(m: MemberContext, req: RoleRequest): Promise<HeaderResponse> {
  return change(m, { type: 'role-delete', role: req.role })
}

export function roleGrantPermission(m: MemberContext, req: RoleGrantPermissionRequest): Promise<HeaderResponse> {
  if (req.perm === null) throw new EtcdError(GrpcCode.InvalidArgument, 'etcdserver: permission not given')
  return change(m, { type: 'role-grant', name: req.name, perm: req.perm })
}

export function roleRevokePermission(m: MemberContext, req: RoleRevokePermissionRequest): Promise<HeaderResponse> {
  return change(m, { type: 'role-revoke', role: req.role, key: req.key, rangeEnd: req.rangeEnd })
}
