/**
 * CRC-32C (Castagnoli), table-driven and incremental; the checksum behind the KV hashes. Written
 * here because the pure core may not use a platform digest.
 *
 * @module
 */

const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export class Crc32c {
  #crc = 0xffffffff
  readonly #scratch = new DataView(new ArrayBuffer(8))

  bytes(data: Uint8Array): this {
    let c = this.#crc
    for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)
    this.#crc = c
    return this
  }

  /** A signed 64-bit integer, big-endian. */
  int64(value: number | bigint): this {
    this.#scratch.setBigInt64(0, BigInt(value))
    return this.bytes(new Uint8Array(this.#scratch.buffer))
  }

  /** A length-prefixed byte string, so that adjacent fields cannot run into each other. */
  field(data: Uint8Array): this {
    return this.int64(data.length).bytes(data)
  }

  /** The checksum so far, as a uint32. */
  value(): number {
    return (this.#crc ^ 0xffffffff) >>> 0
  }
}
