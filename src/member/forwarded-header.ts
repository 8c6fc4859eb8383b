/**
 * A forwarded call's answer told as this member's own: etcd fills every response header with the
 * ID of the member the client asked (its gRPC header filler), so a client of a follower never sees
 * the leader's ID there, even for the calls the follower hands to the leader (lease time-to-live
 * and keepalives, membership changes, lock, campaign). The leader's answer, one JSON value or
 * newline-delimited stream lines, has each `"member_id":"<leader>"` replaced by this member's ID.
 * That text occurs only in response headers (member lists name their IDs `ID`, a status names the
 * leader `leader`).
 *
 * Invariant: only the bytes after the last newline are held back (the pattern holds no newline),
 * so each whole stream line goes on as soon as it arrives; a unary answer goes on at its end.
 *
 * @module
 */
import { concatBytes } from '../storage/index.ts'

const NEWLINE = 0x0a

/** A transform replacing the header member ID `leader` with `self` in a JSON answer's bytes. */
export function answeredBy(leader: number, self: number): TransformStream<Uint8Array, Uint8Array> {
  const from = `"member_id":"${leader}"`
  const to = `"member_id":"${self}"`
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  const rewrite = (bytes: Uint8Array): Uint8Array => {
    const text = decoder.decode(bytes)
    return text.includes(from) ? encoder.encode(text.replaceAll(from, to)) : bytes
  }
  let held = new Uint8Array(0)
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller): void {
      const joined = held.length === 0 ? chunk : concatBytes([held, chunk])
      const end = joined.lastIndexOf(NEWLINE) + 1
      // Whole lines split at a newline, which never falls inside a UTF-8 sequence.
      if (end > 0) controller.enqueue(rewrite(joined.subarray(0, end)))
      held = joined.slice(end)
    },
    flush(controller): void {
      if (held.length > 0) controller.enqueue(rewrite(held))
    },
  })
}
