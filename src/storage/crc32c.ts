/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of journal records and
 * checkpoint files. Table-driven, eight bytes per step ("slicing-by-8"); `crc32c('123456789')` is
 * 0xE3069283. Pass a previous result as `seed` to continue a checksum over more bytes.
 *
 * @module
 */

const POLY = 0x82f63b78

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes. */
const TABLES: readonly Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256))
  for (let b = 0; b < 256; b++) {
    let c = b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[0][b] = c >>> 0
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < 8; k++) t[k][b] = (t[0][t[k - 1][b] & 0xff] ^ (t[k - 1][b] >>> 8)) >>> 0
  }
  return t
})()

export function crc32c(data: Uint8Array, seed = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES
  let crc = ~seed >>> 0
  let i = 0
  const n = data.length
  for (; i + 8 <= n; i += 8) {
    const lo = (crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0
    crc =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]]
  }
  for (; i < n; i++) crc = t0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8)
  return ~crc >>> 0
}
