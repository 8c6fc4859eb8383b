/**
 * Request limits, as etcd applies them: gRPC's receive limit (max-request-bytes + 512 KiB, on
 * the request's protobuf size, checked when the request arrives) and max-request-bytes itself
 * (on the proposal that wraps it, checked before proposing), plus max-txn-ops.
 *
 * @module
 */

import { Errors, type EtcdError } from '../mvcc/errors.ts'
import { ApiErrors } from './api-errors.ts'
import { utf8Length } from './go-strings.ts'
import { varintSize } from './proto-size.ts'

export interface Limits {
  /** --max-txn-ops: entries allowed in each of a txn's compare/success/failure lists. */
  readonly maxTxnOps: number
  /** --max-request-bytes. */
  readonly maxRequestBytes: number
}

export const DEFAULT_MAX_REQUEST_BYTES = 1572864
export const DEFAULT_LIMITS: Limits = { maxTxnOps: 128, maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES }

/**
 * The most a front (the gateway's HTTP/1.1 unary path, the gRPC front) holds of one request before
 * passing it on whole: members refuse far less (--max-request-bytes, with etcd's errors), so this
 * only stops one client from filling a process's memory.
 */
export const MAX_HELD_REQUEST_BYTES = 64 * 1024 * 1024

/**
 * The most bytes of request line and headers an HTTP/1.1 server reads, as Go's (etcd's) does:
 * its default 1 MiB plus the 4 KiB it reads past that. Node's default, 16 KiB, refused requests
 * etcd serves (large cookies or headers added by proxies) with 431.
 */
export const MAX_HEADER_BYTES = (1 << 20) + 4096

/** etcd's grpcOverheadBytes: the gRPC receive limit is max-request-bytes plus this. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024

/** `grpc: received message larger than max (N vs. L)` (429 / 8) when `size` exceeds gRPC's limit. */
export function receiveLimitError(size: number, maxRequestBytes: number = DEFAULT_MAX_REQUEST_BYTES): EtcdError | null {
  const limit = maxRequestBytes + GRPC_OVERHEAD_BYTES
  return size > limit ? ApiErrors.messageTooLarge(size, limit) : null
}

/**
 * The field of etcd's InternalRaftRequest (raft_internal.proto) that carries each call proposed
 * through Raft; its tag takes one byte below 16, two from there (every auth call is 1000 or more).
 */
const PROPOSAL_FIELDS: Readonly<Record<string, number>> = {
  'kv.put': 4, 'kv.deleterange': 5, 'kv.txn': 6, 'kv.compaction': 7, 'lease.grant': 8, 'lease.revoke': 9, 'maintenance.alarm': 10,
}

/** The InternalRaftRequest field of call `name` when etcd proposes it, else null (a txn: only one that writes). */
export function proposalField(name: string): number | null {
  return PROPOSAL_FIELDS[name] ?? (name.startsWith('auth.') ? 1000 : null)
}

/** The InternalRaftRequest field of a txn (etcd's v3lock and v3election propose txns too). */
export const TXN_PROPOSAL_FIELD = 6

/**
 * Size of the raft proposal (InternalRaftRequest) that carries a request of `size` bytes in
 * `field`: a header (field 100: a 64-bit request ID, the user name and auth revision when
 * authenticated) and the request's own tag and length.
 */
export function proposalSize(size: number, field: number, username = ''): number {
  const name = utf8Length(username)
  const user = name === 0 ? 0 : 1 + varintSize(name) + name + 1 + 5
  const header = 2 + 1 + 1 + 10 + user
  return header + varintSize(field << 3) + varintSize(size) + size
}

/**
 * The size check for a request of protobuf size `size` that is to be proposed in `field`:
 * `grpc: received message larger than max (size vs. max+512KiB)` (429 / 8) above the gRPC
 * limit, `etcdserver: request is too large` (400 / 3) when its proposal exceeds max-request-bytes.
 */
export function requestSizeError(
  size: number,
  field: number,
  maxRequestBytes: number = DEFAULT_MAX_REQUEST_BYTES,
  username = '',
): EtcdError | null {
  const received = receiveLimitError(size, maxRequestBytes)
  if (received !== null) return received
  return proposalSize(size, field, username) > maxRequestBytes ? Errors.requestTooLarge() : null
}
