/**
 * The auth calls: enable/disable/status, authenticate, users and roles (etcd's Auth service).
 * Reads are idempotent; changes are not. `authenticate` answers a token: pass it to
 * `client.setToken` (or `createClient({ token })`).
 *
 * @module
 */
import {
  authAuthenticate, authDisable, authEnable, authStatus, roleAdd, roleDelete, roleGet, roleGrantPermission, roleList,
  roleRevokePermission, userAdd, userChangePassword, userDelete, userGet, userGrantRole, userList, userRevokeRole,
  type AuthenticateResponse, type AuthStatusResponse, type HeaderResponse, type Permission, type RoleGetResponse,
  type RolesResponse, type UsersResponse,
} from '../api/index.ts'
import type { Answer, Transport } from './transport.ts'

const WRITE = { idempotent: false } as const
const READ = { idempotent: true } as const

export class AuthClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  enable(): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(authEnable, {}, WRITE)
  }

  disable(): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(authDisable, {}, WRITE)
  }

  status(): Promise<Answer<AuthStatusResponse>> {
    return this.#transport.call(authStatus, {}, READ)
  }

  authenticate(name: string, password: string): Promise<Answer<AuthenticateResponse>> {
    return this.#transport.call(authAuthenticate, { name, password }, READ)
  }

  /** `password` null: a user without password (it can only act through a client certificate). */
  userAdd(name: string, password: string | null): Promise<Answer<HeaderResponse>> {
    const request = { name, password: password ?? '', options: password === null ? { noPassword: true } : null }
    return this.#transport.call(userAdd, request, WRITE)
  }

  userGet(name: string): Promise<Answer<RolesResponse>> {
    return this.#transport.call(userGet, { name }, READ)
  }

  userList(): Promise<Answer<UsersResponse>> {
    return this.#transport.call(userList, {}, READ)
  }

  userDelete(name: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(userDelete, { name }, WRITE)
  }

  userChangePassword(name: string, password: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(userChangePassword, { name, password }, WRITE)
  }

  userGrantRole(user: string, role: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(userGrantRole, { user, role }, WRITE)
  }

  userRevokeRole(name: string, role: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(userRevokeRole, { name, role }, WRITE)
  }

  roleAdd(name: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(roleAdd, { name }, WRITE)
  }

  roleGet(role: string): Promise<Answer<RoleGetResponse>> {
    return this.#transport.call(roleGet, { role }, READ)
  }

  roleList(): Promise<Answer<RolesResponse>> {
    return this.#transport.call(roleList, {}, READ)
  }

  roleDelete(role: string): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(roleDelete, { role }, WRITE)
  }

  roleGrantPermission(name: string, perm: Permission): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(roleGrantPermission, { name, perm }, WRITE)
  }

  roleRevokePermission(role: string, key: Uint8Array, rangeEnd: Uint8Array): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(roleRevokePermission, { role, key, rangeEnd }, WRITE)
  }
}
