/**
 * The protobuf records etcd keeps in its backend's buckets besides mvccpb.KeyValue (kv-schemas.ts)
 * and etcdserverpb.AlarmMember (maintenance.ts): leasepb.Lease in `lease`, authpb.User in
 * `authUsers`, authpb.Role in `authRoles`. A user's password is its stored hash.
 *
 * @module
 */
import { PermissionSchema, UserAddOptionsSchema, type Permission } from './auth.ts'
import { field, K, message, messageOf, repeated } from './schema.ts'

export interface BackendLease {
  readonly id: bigint
  /** Granted TTL, seconds. */
  readonly ttl: number
  /** Seconds left at the last checkpoint; 0 when none. */
  readonly remainingTtl: number
}

export const BackendLeaseSchema = message<BackendLease>('leasepb.Lease', [
  field(1, 'ID', K.int64n, 'id'),
  field(2, 'TTL', K.int64, 'ttl'),
  field(3, 'RemainingTTL', K.int64, 'remainingTtl'),
])

export interface BackendUser {
  readonly name: string
  /** The password's stored hash (etcd's bcrypt, or edgecd's scrypt); empty without a password. */
  readonly password: string
  readonly roles: readonly string[]
  readonly options: { readonly noPassword: boolean } | null
}

export const BackendUserSchema = message<BackendUser>('authpb.User', [
  field(1, 'name', K.string),
  field(2, 'password', K.string),
  field(3, 'roles', repeated(K.string)),
  field(4, 'options', messageOf(() => UserAddOptionsSchema)),
])

export interface BackendRole {
  readonly name: string
  readonly keyPermission: readonly Permission[]
}

export const BackendRoleSchema = message<BackendRole>('authpb.Role', [
  field(1, 'name', K.string),
  field(2, 'keyPermission', repeated(messageOf(() => PermissionSchema))),
])
