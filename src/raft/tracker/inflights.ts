/**
 * The bounded window of MsgApp in flight to one follower in replicate state: the last index of
 * each message sent and not yet acknowledged, oldest first. The leader stops sending when the
 * window is full and frees slots as acknowledgements arrive.
 *
 * @module
 */

export class Inflights {
  readonly #capacity: number
  /** Last entry index of each in-flight MsgApp. Invariant: strictly increasing, length <= capacity. */
  #indexes: number[] = []

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`raft: bad inflight capacity ${capacity}`)
    this.#capacity = capacity
  }

  get count(): number {
    return this.#indexes.length
  }

  full(): boolean {
    return this.#indexes.length >= this.#capacity
  }

  /** Records a MsgApp whose last entry is `index`. */
  add(index: number): void {
    if (this.full()) throw new Error('raft: inflights overflow')
    const last = this.#indexes[this.#indexes.length - 1]
    if (last !== undefined && index <= last) throw new Error(`raft: inflight ${index} not above ${last}`)
    this.#indexes.push(index)
  }

  /** Frees every message whose last index is <= `index` (they are acknowledged). */
  freeLE(index: number): void {
    let n = 0
    while (n < this.#indexes.length && (this.#indexes[n] as number) <= index) n++
    if (n > 0) this.#indexes = this.#indexes.slice(n)
  }

  /** Frees the oldest message (used when a heartbeat shows the follower is alive but acks were lost). */
  freeFirstOne(): void {
    this.#indexes = this.#indexes.slice(1)
  }

  reset(): void {
    this.#indexes = []
  }
}
