/**
 * etcd's errors: a gRPC status code plus etcd's exact message. The API layer turns an
 * {@link EtcdError} into etcd's JSON error body and HTTP status; everything below it throws these.
 *
 * @module
 */

/** The gRPC status codes etcd uses (a JSON number in error bodies). */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const

export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode]

export class EtcdError extends Error {
  readonly code: GrpcCode
  constructor(code: GrpcCode, message: string) {
    super(message)
    this.name = 'EtcdError'
    this.code = code
  }
}

const C = GrpcCode

/** Every error the state machine and the server can raise, by etcd's wording. */
export const Errors = {
  keyNotProvided: () => new EtcdError(C.InvalidArgument, 'etcdserver: key is not provided'),
  valueProvided: () => new EtcdError(C.InvalidArgument, 'etcdserver: value is provided'),
  leaseProvided: () => new EtcdError(C.InvalidArgument, 'etcdserver: lease is provided'),
  keyNotFound: () => new EtcdError(C.InvalidArgument, 'etcdserver: key not found'),
  tooManyOps: () => new EtcdError(C.InvalidArgument, 'etcdserver: too many operations in txn request'),
  duplicateKey: () => new EtcdError(C.InvalidArgument, 'etcdserver: duplicate key given in txn request'),
  requestTooLarge: () => new EtcdError(C.InvalidArgument, 'etcdserver: request is too large'),
  compacted: () => new EtcdError(C.OutOfRange, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: () => new EtcdError(C.OutOfRange, 'etcdserver: mvcc: required revision is a future revision'),
  leaseNotFound: () => new EtcdError(C.NotFound, 'etcdserver: requested lease not found'),
  leaseExists: () => new EtcdError(C.FailedPrecondition, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: () => new EtcdError(C.OutOfRange, 'etcdserver: too large lease TTL'),
  corrupt: () => new EtcdError(C.DataLoss, 'etcdserver: corrupt cluster'),
  noSpace: () => new EtcdError(C.ResourceExhausted, 'etcdserver: mvcc: database space exceeded'),
  timeout: () => new EtcdError(C.Unavailable, 'etcdserver: request timed out'),
  noLeader: () => new EtcdError(C.Unavailable, 'etcdserver: no leader'),
  notCapable: () => new EtcdError(C.Unavailable, 'etcdserver: not capable'),
  stopped: () => new EtcdError(C.Unavailable, 'etcdserver: server stopped'),
  unhealthy: () => new EtcdError(C.Unavailable, 'etcdserver: unhealthy cluster'),
  leaderChanged: () =>
    new EtcdError(C.Unavailable, 'etcdserver: leader changed'),
  memberNotFound: () => new EtcdError(C.NotFound, 'etcdserver: member not found'),
  invalidMemberUrls: () => new EtcdError(C.InvalidArgument, 'etcdserver: given member URLs are invalid'),
  tooManyLearners: () => new EtcdError(C.FailedPrecondition, 'etcdserver: too many learner members in cluster'),
  peerUrlExists: () => new EtcdError(C.FailedPrecondition, 'etcdserver: Peer URLs already exists'),
  memberNotLearner: () => new EtcdError(C.FailedPrecondition, 'etcdserver: can only promote a learner member'),
  learnerNotReady: () =>
    new EtcdError(C.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader'),
  notEnoughStartedMembers: () =>
    new EtcdError(C.Unknown, 'etcdserver: re-configuration failed due to not enough started members'),
  notSupportedForLearner: () => new EtcdError(C.Unavailable, 'etcdserver: rpc not supported for learner'),
  badLeaderTransferee: () => new EtcdError(C.FailedPrecondition, 'etcdserver: bad leader transferee'),
} as const
