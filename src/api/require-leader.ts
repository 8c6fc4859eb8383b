/**
 * etcd's "require leader" (Go's clientv3.WithRequireLeader: the gRPC metadata `hasleader: true`;
 * over JSON the header `Grpc-Metadata-Hasleader: true`, as grpc-gateway turns headers into
 * metadata). etcdctl's watch and Go's lease keepalives ask for it, so that a member cut off from
 * its cluster sends them elsewhere instead of keeping them quiet:
 *
 * - a call so marked, on a member that knows no leader, fails with `etcdserver: no leader`
 *   (503 / 14), after its request is decoded (a unary call) or before anything is read (a stream,
 *   whose refusal is the stream-error line);
 * - a stream so marked is ended with that error line once its member has known no leader at
 *   NO_LEADER_CHECKS checks in a row, one check per election timeout (etcd's monitorLeader).
 *
 * Only the exact value `true` counts (as etcd compares the first value).
 *
 * @module
 */
export const REQUIRE_LEADER_HEADER = 'grpc-metadata-hasleader'

/** The gRPC metadata key that asks for it. */
export const REQUIRE_LEADER_METADATA = 'hasleader'

/** Consecutive leaderless checks after which the marked streams end. */
export const NO_LEADER_CHECKS = 3

/** Whether a request whose REQUIRE_LEADER_HEADER is `value` asks for a leader. */
export function requiresLeader(value: string | null | undefined): boolean {
  return value === 'true'
}
