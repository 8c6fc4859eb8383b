/**
 * A lossless string form of a key, one UTF-16 unit per byte, for use as a Map key: distinct keys
 * give distinct strings, and '\u0100' and above never occur in one.
 *
 * @module
 */
export function keyString(key: Uint8Array): string {
  const CHUNK = 4096
  let s = ''
  for (let i = 0; i < key.length; i += CHUNK) s += String.fromCharCode(...key.subarray(i, i + CHUNK))
  return s
}
