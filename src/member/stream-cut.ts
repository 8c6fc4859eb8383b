/**
 * A stream's 200 answer that something outside it may end early (the member lost its leader, the
 * call's deadline passed): the error's stream-error line goes out between two lines, never inside
 * one (a forwarded stream's chunks need not end with lines), then the stream ends, and what
 * produced it is cancelled (the watch, the keepalive, the forward to the leader). A body that fails
 * (a forward's connection to the leader broke) may end the same way, on an error given for it.
 *
 * @module
 */
import { streamErrorLine } from '../api/index.ts'
import type { EtcdError } from '../mvcc/index.ts'

/**
 * Arms the reason to end a stream: `end` is to be called at most once, with the error the stream
 * ends on; the returned function disarms it (the stream ended on its own, or was cancelled).
 */
export type StreamEnder = (end: (err: EtcdError) => void) => () => void

const NEWLINE = 0x0a

/**
 * `response` (a stream's 200 answer; any other is returned as is) ended when `arm`'s reason comes
 * (none when null), and, when `broken` is given, ended on it if reading the body fails between two
 * lines (a line cut in two cannot be mended: the stream fails).
 */
export function cuttable(response: Response, arm: StreamEnder | null, broken?: EtcdError): Response {
  if (response.body === null || response.status !== 200) return response
  const reader = response.body.getReader()
  /** The bytes passed on so far end with a whole line. */
  let atLineEnd = true
  /** The error the stream ends on, once its reason came: it goes out at the next line end. */
  let ending: EtcdError | null = null
  let closed = false
  let disarm: () => void = () => undefined
  const finish = (c: ReadableStreamDefaultController<Uint8Array>, err: EtcdError): void => {
    if (closed) return
    closed = true
    c.enqueue(new TextEncoder().encode(streamErrorLine(err)))
    c.close()
    reader.cancel().catch(() => undefined)
  }
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      if (arm === null) return
      disarm = arm((err) => {
        ending = err
        if (atLineEnd) finish(c, err)
      })
    },
    pull: async (c) => {
      let read: ReadableStreamReadResult<Uint8Array>
      try {
        read = await reader.read()
      } catch (err) {
        if (closed) return
        if (broken === undefined || !atLineEnd) throw err
        disarm()
        return finish(c, broken)
      }
      const { done, value } = read
      if (closed) return
      if (done) {
        closed = true
        disarm()
        c.close()
        return
      }
      c.enqueue(value)
      if (value.length > 0) atLineEnd = value[value.length - 1] === NEWLINE
      if (ending !== null && atLineEnd) finish(c, ending)
    },
    cancel: async (reason) => {
      closed = true
      disarm()
      await reader.cancel(reason)
    },
  })
  return new Response(body, { status: response.status, headers: response.headers })
}
