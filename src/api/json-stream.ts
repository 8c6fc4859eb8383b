/**
 * Request bodies read the way grpc-gateway reads them, with Go's json.Decoder: a body is a
 * stream of JSON values, back to back, with or without whitespace between them.
 *
 * - A unary call decodes only the first value; whatever follows it is never looked at, and an
 *   empty (or all-whitespace) body is `{}` (the gateway ignores io.EOF).
 * - A streaming call (watch, lease keepalive) decodes values until the body ends or one fails.
 *   A value cut off by the end of the body is `unexpected EOF`.
 *
 * ```
 *   push(chunk) ──► values completed by this chunk, or the first syntax error
 *   end()       ──► a top-level number still open completes; any other partial value → unexpected EOF
 * ```
 *
 * @module
 */

import type { EtcdError } from '../mvcc/errors.ts'
import { ApiErrors } from './api-errors.ts'
import { GoScanner, Scan } from './go-scanner.ts'
import { buildValue, skipPlainString, toBytes, type JsonValue } from './go-json.ts'

export interface StreamBatch {
  readonly values: readonly JsonValue[]
  /** The first error; after it the splitter ignores all further input. */
  readonly error: EtcdError | null
}

const NO_BYTES = new Uint8Array(0)

/** Splits a byte stream of concatenated JSON values, chunk by chunk. */
export class JsonStreamSplitter {
  readonly #scanner = new GoScanner()
  /** Bytes of the value in progress that arrived in earlier chunks. Invariant: empty unless #inValue. */
  #parts: Uint8Array[] = []
  #inValue = false
  #done = false

  push(chunk: Uint8Array | string): StreamBatch {
    const b = toBytes(chunk)
    const values: JsonValue[] = []
    if (this.#done) return { values, error: null }
    const scanner = this.#scanner
    let valueStart = 0
    for (let i = 0; i < b.length; i++) {
      if (scanner.inString) {
        i = skipPlainString(b, i)
        if (i === b.length) break
      }
      const op = scanner.step(b[i] as number)
      if (!this.#inValue) {
        if (op === Scan.SkipSpace) continue
        this.#inValue = true
        valueStart = i
      }
      if (op === Scan.Error) {
        this.#done = true
        return { values, error: ApiErrors.badJson(scanner.error as string) }
      }
      if (op === Scan.End) {
        // A literal ended before byte i; byte i starts the next value.
        values.push(this.#finish(b.subarray(valueStart, i)))
        i--
      } else if ((op === Scan.EndObject || op === Scan.EndArray) && scanner.atTop) {
        values.push(this.#finish(b.subarray(valueStart, i + 1)))
      }
    }
    if (this.#inValue) this.#parts.push(b.slice(valueStart))
    return { values, error: null }
  }

  end(): StreamBatch {
    if (this.#done || !this.#inValue) return { values: [], error: null }
    this.#done = true
    if (this.#scanner.step(0x20) === Scan.End) return { values: [this.#finish(NO_BYTES)], error: null }
    return { values: [], error: ApiErrors.badJson('unexpected EOF') }
  }

  #finish(tail: Uint8Array): JsonValue {
    let bytes = tail
    if (this.#parts.length > 0) {
      this.#parts.push(tail)
      bytes = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of this.#parts) {
        bytes.set(p, at)
        at += p.length
      }
    }
    this.#parts = []
    this.#inValue = false
    this.#scanner.reset()
    return buildValue(bytes, 0)
  }
}

const EMPTY_OBJECT: JsonValue = { kind: 'object', entries: new Map() }

/** A unary request body: its first JSON value; an empty body is `{}`. Throws EtcdError (400). */
export function parseRequestBody(body: Uint8Array | string): JsonValue {
  const splitter = new JsonStreamSplitter()
  const batch = splitter.push(body)
  const first = batch.values[0]
  if (first !== undefined) return first
  if (batch.error !== null) throw batch.error
  const last = splitter.end()
  if (last.error !== null) throw last.error
  return last.values[0] ?? EMPTY_OBJECT
}
