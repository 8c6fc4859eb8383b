/**
 * A call's deadline (its `Grpc-Timeout`, api/grpc-timeout.ts) kept as etcd keeps it:
 *
 * - a unary call past its deadline is answered 504 / 4 `context deadline exceeded`, whatever it
 *   does afterwards, and its signal aborts, so a call that waits (lock, campaign) stops waiting.
 *   A write proposed before the deadline may still apply, as on etcd, whose client gave up on it;
 * - a stream that began ends at its deadline with the stream-error line `context deadline
 *   exceeded` (500 / 2, as etcd's gateway words it);
 * - a deadline that has passed already (a negative timeout) is 504 / 4 before the call runs.
 *
 * @module
 */
import { ApiErrors } from '../api/index.ts'
import { cuttable } from './stream-cut.ts'

/**
 * `call`'s result, or etcd's deadline error once `ms` have passed; `call`'s signal aborts then,
 * or when `clientGone` does.
 */
export async function withinDeadline<T>(ms: number, clientGone: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (ms <= 0) throw ApiErrors.deadlineExceeded()
  const controller = new AbortController()
  const onGone = (): void => controller.abort()
  clientGone.addEventListener('abort', onGone)
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(ApiErrors.deadlineExceeded())
      controller.abort()
    }, ms)
  })
  try {
    return await Promise.race([call(controller.signal), expired])
  } finally {
    clearTimeout(timer)
    clientGone.removeEventListener('abort', onGone)
  }
}

/** `response` (a stream's 200 answer) ended with the deadline's error line once `ms` have passed. */
export function deadlineBound(response: Response, ms: number): Response {
  return cuttable(response, (end) => {
    const timer = setTimeout(() => end(ApiErrors.streamDeadlineExceeded()), ms)
    return () => clearTimeout(timer)
  })
}
