/**
 * The auth store's errors, in etcd's words and with etcd's gRPC codes (§10 of the API
 * reference). Shared by the replicated store (apply) and the HTTP layer (tokens, checks).
 *
 * @module
 */
import { EtcdError, GrpcCode as C } from '../mvcc/index.ts'

export const AuthErrors = {
  userEmpty: () => new EtcdError(C.InvalidArgument, 'etcdserver: user name is empty'),
  roleEmpty: () => new EtcdError(C.InvalidArgument, 'etcdserver: role name is empty'),
  authFailed: () => new EtcdError(C.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'),
  /** etcd gives it as a plain error (gRPC Unknown), not one of its typed ones. */
  noPasswordUser: () => new EtcdError(C.Unknown, 'auth: authentication failed, password was given for no password user'),
  invalidAuthMgmt: () => new EtcdError(C.InvalidArgument, 'etcdserver: invalid auth management'),
  invalidToken: () => new EtcdError(C.Unauthenticated, 'etcdserver: invalid auth token'),
  permissionDenied: () => new EtcdError(C.PermissionDenied, 'etcdserver: permission denied'),
  tooManyRequests: () => new EtcdError(C.ResourceExhausted, 'etcdserver: too many requests'),
  notEnabled: () => new EtcdError(C.FailedPrecondition, 'etcdserver: authentication is not enabled'),
  rootUserNotExist: () => new EtcdError(C.FailedPrecondition, 'etcdserver: root user does not exist'),
  rootRoleNotExist: () => new EtcdError(C.FailedPrecondition, 'etcdserver: root user does not have root role'),
  userExists: () => new EtcdError(C.FailedPrecondition, 'etcdserver: user name already exists'),
  userNotFound: () => new EtcdError(C.FailedPrecondition, 'etcdserver: user name not found'),
  roleExists: () => new EtcdError(C.FailedPrecondition, 'etcdserver: role name already exists'),
  roleNotFound: () => new EtcdError(C.FailedPrecondition, 'etcdserver: role name not found'),
  permissionNotGranted: () => new EtcdError(C.FailedPrecondition, 'etcdserver: permission is not granted to the role'),
  roleNotGranted: () => new EtcdError(C.FailedPrecondition, 'etcdserver: role is not granted to the user'),
} as const
