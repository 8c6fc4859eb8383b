/**
 * A lossless string form of a key, one UTF-16 unit per byte, for use as a Map key: distinct keys
 * give distinct strings, and '\u0100' and above never occur in one.
 *
 * `fromCharCode.apply` reads the bytes as an array-like (spreading them would step an iterator
 * per byte, ~6× slower for a short key), at most CHUNK arguments per call.
 *
 * @module
 */
const CHUNK = 4096

function fromBytes(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[])
}

export function keyString(key: Uint8Array): string {
  if (key.length <= CHUNK) return fromBytes(key)
  let s = ''
  for (let i = 0; i < key.length; i += CHUNK) s += fromBytes(key.subarray(i, i + CHUNK))
  return s
}
