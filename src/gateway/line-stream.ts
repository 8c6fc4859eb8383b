/**
 * Passes a member's streamed answer (newline-delimited `{"result":…}` messages) on to the caller
 * in whole lines, so that a member dying mid-stream never leaves half a message behind, and one
 * line per chunk, as etcd's gateway writes them: clients such as etcd3gw parse each HTTP chunk
 * as one JSON message (several messages the member sent together used to reach the caller in
 * one chunk, which such a client cannot parse). When the
 * member's stream breaks while the caller is still there, the stream ends with one etcd
 * stream-error line (gRPC Unavailable, `transport is closing`) and closes cleanly; the caller's
 * client reconnects on it as on any broken stream. When the caller leaves, the member's stream is
 * cancelled, which closes the connection to the member.
 *
 *   member chunks ──▶ [ held: bytes after the last \n ] ──▶ whole lines ──▶ caller
 *                                   break ──▶ {"error":{…}}\n, close
 *   (each line is enqueued on its own: one HTTP chunk per message)
 *
 * @module
 */
import { streamErrorLine } from '../api/index.ts'
import { GatewayErrors } from './answers.ts'

const NEWLINE = 0x0a

export function wholeLines(member: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = member.getReader()
  let held = new Uint8Array(0)
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
          chunk = await reader.read()
        } catch {
          // Invariant: after a cancel (the caller left) the controller refuses both; nothing to tell.
          try {
            controller.enqueue(new TextEncoder().encode(streamErrorLine(GatewayErrors.streamBroken())))
            controller.close()
          } catch {}
          return
        }
        if (chunk.done) {
          if (held.length > 0) controller.enqueue(held)
          return controller.close()
        }
        const joined = concat(held, chunk.value)
        let start = 0
        for (let nl = joined.indexOf(NEWLINE); nl >= 0; nl = joined.indexOf(NEWLINE, start)) {
          controller.enqueue(joined.subarray(start, nl + 1))
          start = nl + 1
        }
        held = joined.slice(start)
        if (start > 0) return
      }
    },
    cancel(reason): Promise<void> {
      return reader.cancel(reason)
    },
  })
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
