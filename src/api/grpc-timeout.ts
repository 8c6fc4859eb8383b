/**
 * A call's deadline from its `Grpc-Timeout` header, read as etcd's gateway (grpc-gateway v1)
 * reads it: a signed decimal integer (Go's ParseInt, 64 bits) followed by one unit, `H` hours,
 * `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds. Anything else is
 * refused before the request is read: 400 / 3 `invalid grpc-timeout: <value>`. An absent or empty
 * header, and a zero timeout, set no deadline; a negative one has passed already.
 *
 * @module
 */
import { EtcdError, GrpcCode } from '../mvcc/errors.ts'

export const GRPC_TIMEOUT_HEADER = 'grpc-timeout'

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  H: 3_600_000_000_000n,
  M: 60_000_000_000n,
  S: 1_000_000_000n,
  m: 1_000_000n,
  u: 1_000n,
  n: 1n,
}

const INT64_MAX = (1n << 63n) - 1n

/** Beyond this many milliseconds a timer cannot be set (about 24.8 days): no deadline in practice. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The milliseconds `value` allows (≤ 0: already passed; a fraction rounds up), or null for no
 * deadline. Throws etcd's 400 / 3 for a value its gateway refuses.
 */
export function grpcTimeoutMs(value: string | null): number | null {
  if (value === null || value === '') return null
  const unit = UNIT_NANOS[value.slice(-1)]
  const digits = value.slice(0, -1)
  if (unit === undefined || !/^[+-]?\d+$/.test(digits)) throw invalid(value)
  const count = BigInt(digits)
  if (count > INT64_MAX || count < -INT64_MAX - 1n) throw invalid(value)
  if (count === 0n) return null
  const nanos = count * unit
  if (nanos <= 0n) return 0
  const ms = nanos / 1_000_000n + (nanos % 1_000_000n === 0n ? 0n : 1n)
  return ms > BigInt(MAX_TIMER_MS) ? null : Number(ms)
}

function invalid(value: string): EtcdError {
  return new EtcdError(GrpcCode.InvalidArgument, `invalid grpc-timeout: ${value}`)
}
