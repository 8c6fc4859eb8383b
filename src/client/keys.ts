/**
 * Keys and values as users give them (strings are UTF-8) and key ranges as options: exactly one
 * key, a prefix, every key from one on, or an explicit range end (src/api's range-end rules).
 *
 * @module
 */
import { fromKeyRangeEnd, prefixRangeEnd } from '../api/index.ts'

export type Bytes = string | Uint8Array

export interface RangeSelector {
  /** Every key starting with the key. */
  readonly prefix?: boolean
  /** Every key ≥ the key. */
  readonly fromKey?: boolean
  /** Keys in [key, rangeEnd). */
  readonly rangeEnd?: Bytes
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value
}

/** Bytes as UTF-8 text (keys and values written as strings). */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** The range end a selector stands for; empty: exactly the key. */
export function rangeEndOf(key: Uint8Array, selector: RangeSelector): Uint8Array {
  if (selector.rangeEnd !== undefined) return toBytes(selector.rangeEnd)
  if (selector.prefix === true) return prefixRangeEnd(key)
  if (selector.fromKey === true) return fromKeyRangeEnd()
  return new Uint8Array(0)
}
