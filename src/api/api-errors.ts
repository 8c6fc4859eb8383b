/**
 * Errors raised by the API layer itself, in etcd's exact wording. The state machine's errors
 * live in mvcc/errors.ts; these are the gateway's (JSON decoding, gRPC's receive limit) and the
 * v3lock/v3election services' (always gRPC code 2, Unknown, because etcd's concurrency servers
 * return plain errors).
 *
 * @module
 */

import { EtcdError, GrpcCode } from '../mvcc/errors.ts'

const C = GrpcCode

export const ApiErrors = {
  /** A request body the gateway could not decode (Go's encoding/json or jsonpb message). */
  badJson: (message: string) => new EtcdError(C.InvalidArgument, message),
  /** Above the gRPC receive limit (max-request-bytes + 512 KiB). */
  messageTooLarge: (size: number, limit: number) =>
    new EtcdError(C.ResourceExhausted, `grpc: received message larger than max (${size} vs. ${limit})`),
  leaderNotProvided: () => new EtcdError(C.Unknown, '"leader" field must be provided'),
  electionNoLeader: () => new EtcdError(C.Unknown, 'election: no leader'),
  electionNotLeader: () => new EtcdError(C.Unknown, 'election: not leader'),
  /** A call past its deadline (its Grpc-Timeout, or a body that took too long to arrive): 504 / 4. */
  deadlineExceeded: () => new EtcdError(C.DeadlineExceeded, 'context deadline exceeded'),
  /** A stream past its deadline: the gateway's stream error says Unknown (500 / 2). */
  streamDeadlineExceeded: () => new EtcdError(C.Unknown, 'context deadline exceeded'),
} as const

/**
 * How v3lock and v3election report any error, including KV's (`etcdserver: key is not provided`,
 * `etcdserver: requested lease not found`): same message, code 2, HTTP 500.
 */
export function concurrencyError(err: EtcdError): EtcdError {
  return new EtcdError(C.Unknown, err.message)
}

/**
 * A gRPC request whose protobuf bytes do not decode: grpc-go answers Internal, with what etcd's
 * decoder (gogoproto) says of them (`detail`) after its own words, which depend on the call.
 */
export class ProtoDecodeError extends EtcdError {
  readonly detail: string

  constructor(detail: string) {
    super(C.Internal, `grpc: error unmarshalling request: ${detail}`)
    this.detail = detail
  }

  /** The message for a request message of a client stream (a watch, a keepalive): grpc-go's other wording. */
  get inStream(): string {
    return `grpc: failed to unmarshal the received message ${this.detail}`
  }
}
