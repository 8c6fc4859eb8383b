/**
 * Keys and values are bytes on the wire (base64 in etcd's JSON). The page keeps them as
 * Uint8Array, shows them as text when they are valid UTF-8 and escapes what is not printable.
 *
 * @module
 */

const encoder = new TextEncoder()
const strict = new TextDecoder('utf-8', { fatal: true })

export const SLASH = 0x2f

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

export function fromBase64(text: string | undefined): Uint8Array {
  if (text === undefined || text === '') return new Uint8Array(0)
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** The UTF-8 text of `bytes`, or undefined when it is not valid UTF-8. */
export function asText(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes)
  } catch {
    return undefined
  }
}

/** Printable form: text with control characters escaped, or \xNN escapes for invalid UTF-8. */
export function display(bytes: Uint8Array): string {
  const text = asText(bytes)
  if (text !== undefined) {
    // eslint-disable-next-line no-control-regex
    return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  }
  let out = ''
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`
  return out
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** etcd's prefix rule: the range end that selects every key starting with `prefix`. */
export { prefixRangeEnd as prefixEnd } from '../../src/api/keys.ts'

/** The smallest key after `key`: key + "\0". */
export function successor(key: Uint8Array): Uint8Array {
  return concat(key, new Uint8Array([0]))
}
