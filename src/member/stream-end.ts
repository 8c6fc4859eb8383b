/**
 * A response stream passed through unchanged, with one call when it is over: OK when it ended,
 * Canceled when the reader cancelled it (the client left), Unknown when it failed. Cancelling the
 * copy cancels the original, so the stream's own cleanup (a watch's watchers) still runs.
 *
 * @module
 */
import { GrpcCode } from '../mvcc/index.ts'

export function onEnd(body: ReadableStream<Uint8Array>, ended: (code: GrpcCode) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let over = false
  const end = (code: GrpcCode): void => {
    if (over) return
    over = true
    ended(code)
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>
        try {
          next = await reader.read()
        } catch (err) {
          end(GrpcCode.Unknown)
          controller.error(err)
          return
        }
        if (next.done) {
          end(GrpcCode.OK)
          controller.close()
        } else controller.enqueue(next.value)
      },
      cancel(reason) {
        end(GrpcCode.Canceled)
        return reader.cancel(reason)
      },
    },
    // Nothing read ahead: a chunk leaves the original only when the reader asks for it.
    { highWaterMark: 0 },
  )
}
