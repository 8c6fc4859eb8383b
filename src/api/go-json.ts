/**
 * JSON trees as etcd's gateway sees them. Validation is Go's scanner (go-scanner.ts), so syntax
 * errors carry Go's messages; trees are then built from the validated bytes. Numbers keep their
 * source text (int64 precision, `1.5` vs `1`), and strings keep their raw source too, because Go
 * reads int64-in-a-string and enum names from the raw text between the quotes.
 *
 * `parseJson` is json.Unmarshal (one value, nothing after it). A request body is read like
 * json.Decoder instead: see json-stream.ts.
 *
 * @module
 */

import { ApiErrors } from './api-errors.ts'
import { GoScanner, Scan } from './go-scanner.ts'

export type JsonValue =
  | { readonly kind: 'object'; readonly entries: ReadonlyMap<string, JsonValue> }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[] }
  /** `raw` is the source between the quotes, escapes not applied. */
  | { readonly kind: 'string'; readonly value: string; readonly raw: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' }

const utf8 = new TextDecoder()
const encoder = new TextEncoder()

export function toBytes(input: Uint8Array | string): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input
}

/** Index of the first byte at or after `i` that a scanner inside a string must look at. */
export function skipPlainString(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const c = b[i] as number
    if (c < 0x20 || c === 0x22 || c === 0x5c) return i
    i++
  }
  return i
}

/** json.Unmarshal's view: exactly one value, surrounded by whitespace only. */
export function parseJson(input: Uint8Array | string): JsonValue {
  const b = toBytes(input)
  const scanner = new GoScanner()
  for (let i = 0; i < b.length; i++) {
    if (scanner.inString) {
      i = skipPlainString(b, i)
      if (i === b.length) break
    }
    if (scanner.step(b[i] as number) === Scan.Error) throw ApiErrors.badJson(scanner.error as string)
  }
  if (scanner.eof() === Scan.Error) throw ApiErrors.badJson(scanner.error as string)
  return buildValue(b, 0)
}

interface Frame {
  readonly entries: Map<string, JsonValue> | null
  readonly items: JsonValue[] | null
  key: string
}

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

function skipWs(b: Uint8Array, i: number): number {
  while (isWs(b[i])) i++
  return i
}

/**
 * Builds the tree of the value starting at `start` (after optional whitespace).
 * Precondition: the bytes hold a complete value that GoScanner accepted. Iterative, so the
 * nesting depth the scanner allows (10000) cannot overflow the stack.
 */
export function buildValue(b: Uint8Array, start: number): JsonValue {
  const stack: Frame[] = []
  let pos = start
  for (;;) {
    pos = skipWs(b, pos)
    const c = b[pos]
    let v: JsonValue
    if (c === 0x7b || c === 0x5b) {
      const isObject = c === 0x7b
      pos = skipWs(b, pos + 1)
      if (b[pos] === (isObject ? 0x7d : 0x5d)) {
        pos++
        v = isObject ? { kind: 'object', entries: new Map() } : { kind: 'array', items: [] }
      } else {
        const frame: Frame = isObject
          ? { entries: new Map(), items: null, key: '' }
          : { entries: null, items: [], key: '' }
        if (isObject) pos = readKey(b, pos, frame)
        stack.push(frame)
        continue
      }
    } else if (c === 0x22) {
      const end = stringEnd(b, pos)
      v = { kind: 'string', ...unquote(b, pos + 1, end) }
      pos = end + 1
    } else if (c === 0x74) {
      v = { kind: 'bool', value: true }
      pos += 4
    } else if (c === 0x66) {
      v = { kind: 'bool', value: false }
      pos += 5
    } else if (c === 0x6e) {
      v = { kind: 'null' }
      pos += 4
    } else {
      let end = pos + 1
      while (isNumberByte(b[end])) end++
      v = { kind: 'number', text: utf8.decode(b.subarray(pos, end)) }
      pos = end
    }
    // Attach v to its parent; close every container that ends right after it.
    for (;;) {
      const top = stack[stack.length - 1]
      if (top === undefined) return v
      if (top.entries !== null) top.entries.set(top.key, v)
      else (top.items as JsonValue[]).push(v)
      pos = skipWs(b, pos)
      const d = b[pos++]
      if (d === 0x2c) {
        if (top.entries !== null) pos = readKey(b, skipWs(b, pos), top)
        break
      }
      stack.pop()
      v = top.entries !== null
        ? { kind: 'object', entries: top.entries }
        : { kind: 'array', items: top.items as JsonValue[] }
    }
  }
}

const isNumberByte = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45)

/** Reads `"key" :` at pos into the frame; returns the position of the value. */
function readKey(b: Uint8Array, pos: number, frame: Frame): number {
  const end = stringEnd(b, pos)
  frame.key = unquote(b, pos + 1, end).value
  return skipWs(b, end + 1) + 1
}

/** Index of the closing quote of the string whose opening quote is at `pos`. */
function stringEnd(b: Uint8Array, pos: number): number {
  let i = pos + 1
  for (;;) {
    const c = b[i]
    if (c === 0x22) return i
    i += c === 0x5c ? 2 : 1
  }
}

function hex4(b: Uint8Array, i: number): number {
  return parseInt(utf8.decode(b.subarray(i, i + 4)), 16)
}

const isSurrogate = (r: number): boolean => r >= 0xd800 && r <= 0xdfff

const ESCAPES: Record<number, string> = {
  0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t', 0x5c: '\\', 0x2f: '/', 0x22: '"',
}

/**
 * The string between `from` and `to` (exclusive), unescaped like Go's unquote: invalid UTF-8
 * and unpaired surrogate escapes become U+FFFD.
 */
function unquote(b: Uint8Array, from: number, to: number): { value: string; raw: string } {
  const raw = utf8.decode(b.subarray(from, to))
  if (b.subarray(from, to).indexOf(0x5c) === -1) return { value: raw, raw }
  let value = ''
  let seg = from
  let i = from
  while (i < to) {
    if (b[i] !== 0x5c) {
      i++
      continue
    }
    value += utf8.decode(b.subarray(seg, i))
    const e = b[i + 1] as number
    if (e !== 0x75) {
      value += ESCAPES[e]
      i += 2
    } else {
      const r = hex4(b, i + 2)
      i += 6
      if (!isSurrogate(r)) {
        value += String.fromCharCode(r)
      } else if (r <= 0xdbff && b[i] === 0x5c && b[i + 1] === 0x75 && i + 6 <= to) {
        const r2 = hex4(b, i + 2)
        if (r2 >= 0xdc00 && r2 <= 0xdfff) {
          value += String.fromCharCode(r, r2)
          i += 6
        } else {
          value += '\ufffd'
        }
      } else {
        value += '\ufffd'
      }
    }
    seg = i
  }
  value += utf8.decode(b.subarray(seg, to))
  return { value, raw }
}
