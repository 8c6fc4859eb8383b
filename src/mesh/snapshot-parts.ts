/**
 * Receiving a snapshot sent in parts (codec.ts): one assembly per inbound connection, which
 * carries one sender's frames in order. Parts arrive front to back, without gaps, and then the
 * MsgSnap whose data they are; anything else is a protocol error that rejects the connection.
 * A new part at offset 0 starts over (the sender gave up on a previous one only by closing the
 * connection, so this does not happen on a healthy link; it is accepted rather than trusted).
 *
 * Memory: one buffer of the snapshot's size while it arrives, allocated at its first part.
 *
 * @module
 */
import type { Message } from '../raft/types.ts'
import { SNAPSHOT_IN_PARTS, type SnapshotPart } from './codec.ts'

export class SnapshotAssembly {
  /** The snapshot's bytes so far; null between snapshots. Invariant: #received ≤ its length. */
  #data: Uint8Array | null = null
  #received = 0

  /** Takes one part; returns why it is refused, or null. */
  add(part: SnapshotPart): string | null {
    if (part.offset === 0) {
      try {
        this.#data = new Uint8Array(part.total)
      } catch {
        this.#data = null
        return `no memory for a snapshot of ${part.total} bytes`
      }
      this.#received = 0
    }
    const data = this.#data
    if (data === null || part.total !== data.length || part.offset !== this.#received)
      return `snapshot part at ${part.offset} of ${part.total} out of order (${this.#received} of ${data?.length ?? 0} received)`
    data.set(part.bytes, part.offset)
    this.#received += part.bytes.length
    return null
  }

  /**
   * `messages` as raft takes them: a MsgSnap whose data came in parts gets the assembled bytes
   * (all of them must have arrived). The same array when none did (the common case: nothing is
   * copied). A string says why the frame is refused.
   */
  complete(messages: readonly Message[]): readonly Message[] | string {
    let out: Message[] | null = null
    for (const [i, m] of messages.entries()) {
      const s = m.snapshot
      if (s === null || s.data !== SNAPSHOT_IN_PARTS) continue
      const data = this.#data
      if (data === null || this.#received !== data.length)
        return `snapshot without its parts (${this.#received} of ${data?.length ?? 0} bytes received)`
      this.#data = null
      this.#received = 0
      out ??= [...messages]
      out[i] = { ...m, snapshot: { metadata: s.metadata, data } }
    }
    return out ?? messages
  }
}
