/**
 * The bounded FIFO of messages waiting for one peer's link, limited in messages and in bytes
 * (sizes are {@link maxEncodedSize} upper bounds). When it is full the newest message is refused,
 * as etcd does: Raft retries what was lost, and a slow peer never makes its sender hold more.
 *
 * @module
 */
import type { Message } from '../raft/types.ts'

/** As etcd's stream buffer: enough for a full in-flight window plus heartbeats. */
export const DEFAULT_MAX_QUEUE_MESSAGES = 4096

/** Bytes a peer's queue may hold (a single larger message, such as a snapshot, still fits alone). */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024

export interface QueueLimits {
  readonly maxMessages: number
  readonly maxBytes: number
}

export class PeerQueue {
  readonly #limits: QueueLimits
  #messages: Message[] = []
  #sizes: number[] = []
  /** Invariant: the sum of #sizes. */
  #bytes = 0

  constructor(limits: QueueLimits) {
    this.#limits = limits
  }

  get length(): number {
    return this.#messages.length
  }

  /** Appends `m` (of encoded size at most `size`) and returns true, or returns false when full. */
  push(m: Message, size: number): boolean {
    if (this.#messages.length >= this.#limits.maxMessages) return false
    // An empty queue takes any one message, so a message the byte limit alone cannot hold still passes.
    if (this.#messages.length > 0 && this.#bytes + size > this.#limits.maxBytes) return false
    this.#messages.push(m)
    this.#sizes.push(size)
    this.#bytes += size
    return true
  }

  /**
   * Removes and returns the longest prefix whose sizes add up to at most `maxBytes`, but at least
   * one message when the queue is not empty. The caller owns the returned array.
   */
  take(maxBytes: number): Message[] {
    let n = 0
    let bytes = 0
    while (n < this.#sizes.length && (n === 0 || bytes + (this.#sizes[n] as number) <= maxBytes)) {
      bytes += this.#sizes[n] as number
      n++
    }
    this.#bytes -= bytes
    this.#sizes.splice(0, n)
    return this.#messages.splice(0, n)
  }

  /** Removes and returns everything queued. */
  clear(): Message[] {
    const all = this.#messages
    this.#messages = []
    this.#sizes = []
    this.#bytes = 0
    return all
  }
}
