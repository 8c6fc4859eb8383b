/**
 * The replicated state machine of the simulation: a hash chain over every applied entry (index,
 * term, type, data). Two nodes that applied the same prefix have the same `hash`, so comparing
 * hashes at an index compares whole applied histories, and a snapshot (whose data is the encoded
 * machine) can be checked against what other nodes applied up to its index.
 *
 * Invariant: entries are applied in index order without gaps (`apply` throws otherwise).
 *
 * @module
 */
import type { Entry } from '../../src/raft/types.ts'
import { hashBytes, mix } from './hash.ts'

const ENCODED_BYTES = 12

export class StateMachine {
  #index: number
  #hash: number

  constructor(index = 0, hash = 0) {
    this.#index = index
    this.#hash = hash
  }

  /**
   * Restores a machine from snapshot data written by {@link StateMachine.encode}. Empty data (a
   * bootstrap snapshot) is the empty machine positioned at the snapshot's `index`.
   */
  static decode(data: Uint8Array, index: number): StateMachine {
    if (data.length === 0) return new StateMachine(index)
    if (data.length !== ENCODED_BYTES) throw new Error(`state machine image of ${data.length} bytes`)
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    const at = view.getUint32(0) * 0x100000000 + view.getUint32(4)
    if (at !== index) throw new Error(`snapshot at ${index} holds a state machine at ${at}`)
    return new StateMachine(at, view.getUint32(8))
  }

  /** Index of the last applied entry. */
  get index(): number {
    return this.#index
  }

  /** Digest of everything applied up to {@link index}. */
  get hash(): number {
    return this.#hash
  }

  apply(e: Entry): void {
    if (e.index !== this.#index + 1) throw new Error(`apply of entry ${e.index} after ${this.#index}`)
    const h = mix(mix(mix(this.#hash, e.index), e.term), e.type === 'normal' ? 0 : 1)
    this.#hash = mix(h, hashBytes(e.data))
    this.#index = e.index
  }

  encode(): Uint8Array {
    const out = new Uint8Array(ENCODED_BYTES)
    const view = new DataView(out.buffer)
    view.setUint32(0, Math.floor(this.#index / 0x100000000))
    view.setUint32(4, this.#index >>> 0)
    view.setUint32(8, this.#hash)
    return out
  }
}
