/**
 * The Auth service: `/v3/auth/{enable,disable,status,authenticate}`, `/v3/auth/user/*` and
 * `/v3/auth/role/*`. Field names follow the protos, inconsistencies included: user/grant takes
 * `user`, user/revoke `name`, role/get, role/delete and role/revoke take `role`. etcd checks
 * nothing here (empty names and such are refused by the auth store, after its permission check).
 *
 * @module
 */

import type { ResponseHeader } from '../mvcc/kv.ts'
import { endpoint, type Endpoint } from './endpoint.ts'
import { headerField, headerOnly, type HeaderResponse } from './header.ts'
import {
  emptyMessage, enumOf, field, K, message, messageOf, repeated, type EmptyRequest, type FieldDef,
  type MessageSchema,
} from './schema.ts'

export type PermissionType = 'READ' | 'WRITE' | 'READWRITE'

/** A READ permission prints without `permType` (it is the zero value). */
export interface Permission {
  readonly permType: PermissionType
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
}

export interface AuthenticateRequest {
  readonly name: string
  readonly password: string
}

export interface AuthenticateResponse {
  readonly header: ResponseHeader
  readonly token: string
}

export interface AuthStatusResponse {
  readonly header: ResponseHeader
  readonly enabled: boolean
  readonly authRevision: number
}

export interface UserAddRequest {
  readonly name: string
  readonly password: string
  readonly options: { readonly noPassword: boolean } | null
}

export interface NameRequest {
  readonly name: string
}

/** user/changepw. */
export interface NamePasswordRequest {
  readonly name: string
  readonly password: string
}

export interface UserGrantRoleRequest {
  readonly user: string
  readonly role: string
}

export interface UserRevokeRoleRequest {
  readonly name: string
  readonly role: string
}

export interface RoleRequest {
  readonly role: string
}

export interface RoleGrantPermissionRequest {
  readonly name: string
  readonly perm: Permission | null
}

export interface RoleRevokePermissionRequest {
  readonly role: string
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array
}

/** user/get: `roles`; role/list: `roles`. */
export interface RolesResponse {
  readonly header: ResponseHeader
  readonly roles: readonly string[]
}

export interface UsersResponse {
  readonly header: ResponseHeader
  readonly users: readonly string[]
}

export interface RoleGetResponse {
  readonly header: ResponseHeader
  readonly perm: readonly Permission[]
}

export const PermissionSchema = message<Permission>('authpb.Permission', [
  field(1, 'permType', enumOf({ goName: 'authpb.Permission_Type', names: ['READ', 'WRITE', 'READWRITE'] })),
  field(2, 'key', K.bytes),
  field(3, 'range_end', K.bytes),
])

export const UserAddOptionsSchema = message<{ readonly noPassword: boolean }>('authpb.UserAddOptions', [
  field(1, 'no_password', K.bool),
])

const name = field(1, 'name', K.string)
const role = (num: number): FieldDef => field(num, 'role', K.string)
const password = field(2, 'password', K.string)

function adminCall<Req>(
  path: string,
  request: MessageSchema<Req>,
  response: string,
): Endpoint<Req, HeaderResponse> {
  return endpoint({
    name: 'auth.' + path.replaceAll('/', '.'),
    path: '/v3/auth/' + path,
    request,
    response: headerOnly(response),
  })
}

export const authEnable: Endpoint<EmptyRequest, HeaderResponse> =
  adminCall('enable', emptyMessage('etcdserverpb.AuthEnableRequest'), 'etcdserverpb.AuthEnableResponse')

export const authDisable: Endpoint<EmptyRequest, HeaderResponse> =
  adminCall('disable', emptyMessage('etcdserverpb.AuthDisableRequest'), 'etcdserverpb.AuthDisableResponse')

/** [3.5] */
export const authStatus: Endpoint<EmptyRequest, AuthStatusResponse> = endpoint({
  name: 'auth.status',
  path: '/v3/auth/status',
  request: emptyMessage('etcdserverpb.AuthStatusRequest'),
  response: message<AuthStatusResponse>('etcdserverpb.AuthStatusResponse', [
    headerField,
    field(2, 'enabled', K.bool),
    field(3, 'authRevision', K.uint64),
  ]),
})

export const authAuthenticate: Endpoint<AuthenticateRequest, AuthenticateResponse> = endpoint({
  name: 'auth.authenticate',
  path: '/v3/auth/authenticate',
  request: message<AuthenticateRequest>('etcdserverpb.AuthenticateRequest', [name, password]),
  response: message<AuthenticateResponse>('etcdserverpb.AuthenticateResponse', [
    headerField,
    field(2, 'token', K.string),
  ]),
})

export const userAdd: Endpoint<UserAddRequest, HeaderResponse> = adminCall(
  'user/add',
  message<UserAddRequest>('etcdserverpb.AuthUserAddRequest', [
    name,
    password,
    field(3, 'options', messageOf(() => UserAddOptionsSchema)),
  ]),
  'etcdserverpb.AuthUserAddResponse',
)

export const userGet: Endpoint<NameRequest, RolesResponse> = endpoint({
  name: 'auth.user.get',
  path: '/v3/auth/user/get',
  request: message<NameRequest>('etcdserverpb.AuthUserGetRequest', [name]),
  response: message<RolesResponse>('etcdserverpb.AuthUserGetResponse', [
    headerField,
    field(2, 'roles', repeated(K.string)),
  ]),
})

export const userList: Endpoint<EmptyRequest, UsersResponse> = endpoint({
  name: 'auth.user.list',
  path: '/v3/auth/user/list',
  request: emptyMessage('etcdserverpb.AuthUserListRequest'),
  response: message<UsersResponse>('etcdserverpb.AuthUserListResponse', [
    headerField,
    field(2, 'users', repeated(K.string)),
  ]),
})

export const userDelete: Endpoint<NameRequest, HeaderResponse> = adminCall(
  'user/delete',
  message<NameRequest>('etcdserverpb.AuthUserDeleteRequest', [name]),
  'etcdserverpb.AuthUserDeleteResponse',
)

export const userChangePassword: Endpoint<NamePasswordRequest, HeaderResponse> = adminCall(
  'user/changepw',
  message<NamePasswordRequest>('etcdserverpb.AuthUserChangePasswordRequest', [name, password]),
  'etcdserverpb.AuthUserChangePasswordResponse',
)

export const userGrantRole: Endpoint<UserGrantRoleRequest, HeaderResponse> = adminCall(
  'user/grant',
  message<UserGrantRoleRequest>('etcdserverpb.AuthUserGrantRoleRequest', [field(1, 'user', K.string), role(2)]),
  'etcdserverpb.AuthUserGrantRoleResponse',
)

export const userRevokeRole: Endpoint<UserRevokeRoleRequest, HeaderResponse> = adminCall(
  'user/revoke',
  message<UserRevokeRoleRequest>('etcdserverpb.AuthUserRevokeRoleRequest', [name, role(2)]),
  'etcdserverpb.AuthUserRevokeRoleResponse',
)

export const roleAdd: Endpoint<NameRequest, HeaderResponse> = adminCall(
  'role/add',
  message<NameRequest>('etcdserverpb.AuthRoleAddRequest', [name]),
  'etcdserverpb.AuthRoleAddResponse',
)

export const roleGet: Endpoint<RoleRequest, RoleGetResponse> = endpoint({
  name: 'auth.role.get',
  path: '/v3/auth/role/get',
  request: message<RoleRequest>('etcdserverpb.AuthRoleGetRequest', [role(1)]),
  response: message<RoleGetResponse>('etcdserverpb.AuthRoleGetResponse', [
    headerField,
    field(2, 'perm', repeated(messageOf(() => PermissionSchema))),
  ]),
})

export const roleList: Endpoint<EmptyRequest, RolesResponse> = endpoint({
  name: 'auth.role.list',
  path: '/v3/auth/role/list',
  request: emptyMessage('etcdserverpb.AuthRoleListRequest'),
  response: message<RolesResponse>('etcdserverpb.AuthRoleListResponse', [
    headerField,
    field(2, 'roles', repeated(K.string)),
  ]),
})

export const roleDelete: Endpoint<RoleRequest, HeaderResponse> = adminCall(
  'role/delete',
  message<RoleRequest>('etcdserverpb.AuthRoleDeleteRequest', [role(1)]),
  'etcdserverpb.AuthRoleDeleteResponse',
)

export const roleGrantPermission: Endpoint<RoleGrantPermissionRequest, HeaderResponse> = adminCall(
  'role/grant',
  message<RoleGrantPermissionRequest>('etcdserverpb.AuthRoleGrantPermissionRequest', [
    name,
    field(2, 'perm', messageOf(() => PermissionSchema)),
  ]),
  'etcdserverpb.AuthRoleGrantPermissionResponse',
)

export const roleRevokePermission: Endpoint<RoleRevokePermissionRequest, HeaderResponse> = adminCall(
  'role/revoke',
  message<RoleRevokePermissionRequest>('etcdserverpb.AuthRoleRevokePermissionRequest', [
    role(1),
    field(2, 'key', K.bytes),
    field(3, 'range_end', K.bytes),
  ]),
  'etcdserverpb.AuthRoleRevokePermissionResponse',
)
