/**
 * Go's encoding/json scanner (scanner.go), byte for byte: the same states, the same "delayed by
 * one byte" end of a top-level literal, the same nesting limit, and the same error messages
 * (`invalid character 'a' looking for beginning of value`, `… after object key`, …). etcd's
 * gateway reports these messages verbatim, so they are ported, not re-invented.
 *
 * The scanner only validates and finds value boundaries; go-json.ts builds trees from bytes that
 * passed it.
 *
 * @module
 */

import { quoteChar } from './go-strings.ts'

/** What one byte did, as Go's scan* constants. */
export const Scan = {
  Continue: 0,
  BeginLiteral: 1,
  BeginObject: 2,
  ObjectKey: 3,
  ObjectValue: 4,
  EndObject: 5,
  BeginArray: 6,
  ArrayValue: 7,
  EndArray: 8,
  SkipSpace: 9,
  /** The top-level value ended *before* this byte (a literal needs one byte of lookahead). */
  End: 10,
  Error: 11,
} as const

const PARSE_OBJECT_KEY = 0
const PARSE_OBJECT_VALUE = 1
const PARSE_ARRAY_VALUE = 2

/** Go's maxNestingDepth. */
const MAX_NESTING_DEPTH = 10000

const St = {
  BeginValue: 0,
  BeginValueOrEmpty: 1,
  BeginStringOrEmpty: 2,
  BeginString: 3,
  EndValue: 4,
  EndTop: 5,
  InString: 6,
  InStringEsc: 7,
  EscU: 8,
  EscU1: 9,
  EscU12: 10,
  EscU123: 11,
  Neg: 12,
  One: 13,
  Zero: 14,
  Dot: 15,
  Dot0: 16,
  E: 17,
  ESign: 18,
  E0: 19,
  T: 20,
  Tr: 21,
  Tru: 22,
  F: 23,
  Fa: 24,
  Fal: 25,
  Fals: 26,
  N: 27,
  Nu: 28,
  Nul: 29,
  Error: 30,
} as const
type State = (typeof St)[keyof typeof St]

/** b f n r t \ / " */
const SIMPLE_ESCAPES = new Set([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22])

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)

/** One scan over one JSON text. `reset()` before reusing it. */
export class GoScanner {
  #state: State = St.BeginValue
  #parseState: number[] = []
  /** Set once the top-level value is complete. */
  endTop = false
  /** Go's SyntaxError message, once a byte was rejected. */
  error: string | null = null

  reset(): void {
    this.#state = St.BeginValue
    this.#parseState = []
    this.endTop = false
    this.error = null
  }

  /** True inside a string literal: callers may skip plain bytes (≥ 0x20, not `"` or `\`) fast. */
  get inString(): boolean {
    return this.#state === St.InString
  }

  /** The parse stack is empty: a value that just ended was the top-level one. */
  get atTop(): boolean {
    return this.#parseState.length === 0
  }

  step(c: number): number {
    switch (this.#state) {
      case St.BeginValue: return this.#beginValue(c)
      case St.BeginValueOrEmpty:
        if (isSpace(c)) return Scan.SkipSpace
        if (c === 0x5d) return this.#endValue(c)
        return this.#beginValue(c)
      case St.BeginStringOrEmpty:
        if (isSpace(c)) return Scan.SkipSpace
        if (c === 0x7d) {
          this.#parseState[this.#parseState.length - 1] = PARSE_OBJECT_VALUE
          return this.#endValue(c)
        }
        return this.#beginString(c)
      case St.BeginString: return this.#beginString(c)
      case St.EndValue: return this.#endValue(c)
      case St.EndTop: return this.#endTop(c)
      case St.InString:
        if (c === 0x22) {
          this.#state = St.EndValue
          return Scan.Continue
        }
        if (c === 0x5c) {
          this.#state = St.InStringEsc
          return Scan.Continue
        }
        if (c < 0x20) return this.#fail(c, 'in string literal')
        return Scan.Continue
      case St.InStringEsc:
        if (SIMPLE_ESCAPES.has(c)) {
          this.#state = St.InString
          return Scan.Continue
        }
        if (c === 0x75) {
          this.#state = St.EscU
          return Scan.Continue
        }
        return this.#fail(c, 'in string escape code')
      case St.EscU: return this.#hex(c, St.EscU1)
      case St.EscU1: return this.#hex(c, St.EscU12)
      case St.EscU12: return this.#hex(c, St.EscU123)
      case St.EscU123: return this.#hex(c, St.InString)
      case St.Neg:
        if (c === 0x30) return this.#to(St.Zero)
        if (c >= 0x31 && c <= 0x39) return this.#to(St.One)
        return this.#fail(c, 'in numeric literal')
      case St.One:
        if (isDigit(c)) return Scan.Continue
        return this.#zero(c)
      case St.Zero: return this.#zero(c)
      case St.Dot:
        if (isDigit(c)) return this.#to(St.Dot0)
        return this.#fail(c, 'after decimal point in numeric literal')
      case St.Dot0:
        if (isDigit(c)) return Scan.Continue
        if (c === 0x65 || c === 0x45) return this.#to(St.E)
        return this.#endValue(c)
      case St.E:
        if (c === 0x2b || c === 0x2d) return this.#to(St.ESign)
        return this.#eSign(c)
      case St.ESign: return this.#eSign(c)
      case St.E0:
        if (isDigit(c)) return Scan.Continue
        return this.#endValue(c)
      case St.T: return this.#literal(c, 0x72, St.Tr, "in literal true (expecting 'r')")
      case St.Tr: return this.#literal(c, 0x75, St.Tru, "in literal true (expecting 'u')")
      case St.Tru: return this.#literal(c, 0x65, St.EndValue, "in literal true (expecting 'e')")
      case St.F: return this.#literal(c, 0x61, St.Fa, "in literal false (expecting 'a')")
      case St.Fa: return this.#literal(c, 0x6c, St.Fal, "in literal false (expecting 'l')")
      case St.Fal: return this.#literal(c, 0x73, St.Fals, "in literal false (expecting 's')")
      case St.Fals: return this.#literal(c, 0x65, St.EndValue, "in literal false (expecting 'e')")
      case St.N: return this.#literal(c, 0x75, St.Nu, "in literal null (expecting 'u')")
      case St.Nu: return this.#literal(c, 0x6c, St.Nul, "in literal null (expecting 'l')")
      case St.Nul: return this.#literal(c, 0x6c, St.EndValue, "in literal null (expecting 'l')")
      case St.Error: return Scan.Error
    }
  }

  /** End of input, as Go's scanner.eof(): Scan.End, or Scan.Error with `error` set. */
  eof(): number {
    if (this.error !== null) return Scan.Error
    if (this.endTop) return Scan.End
    this.step(0x20)
    if (this.endTop) return Scan.End
    if (this.error === null) this.error = 'unexpected end of JSON input'
    return Scan.Error
  }

  #to(state: State): number {
    this.#state = state
    return Scan.Continue
  }

  #fail(c: number, context: string): number {
    this.#state = St.Error
    this.error = `invalid character ${quoteChar(c)} ${context}`
    return Scan.Error
  }

  #push(c: number, parseState: number, op: number): number {
    this.#parseState.push(parseState)
    if (this.#parseState.length <= MAX_NESTING_DEPTH) return op
    return this.#fail(c, 'exceeded max depth')
  }

  #beginValue(c: number): number {
    if (isSpace(c)) return Scan.SkipSpace
    switch (c) {
      case 0x7b:
        this.#state = St.BeginStringOrEmpty
        return this.#push(c, PARSE_OBJECT_KEY, Scan.BeginObject)
      case 0x5b:
        this.#state = St.BeginValueOrEmpty
        return this.#push(c, PARSE_ARRAY_VALUE, Scan.BeginArray)
      case 0x22: this.#state = St.InString; return Scan.BeginLiteral
      case 0x2d: this.#state = St.Neg; return Scan.BeginLiteral
      case 0x30: this.#state = St.Zero; return Scan.BeginLiteral
      case 0x74: this.#state = St.T; return Scan.BeginLiteral
      case 0x66: this.#state = St.F; return Scan.BeginLiteral
      case 0x6e: this.#state = St.N; return Scan.BeginLiteral
    }
    if (c >= 0x31 && c <= 0x39) {
      this.#state = St.One
      return Scan.BeginLiteral
    }
    return this.#fail(c, 'looking for beginning of value')
  }

  #beginString(c: number): number {
    if (isSpace(c)) return Scan.SkipSpace
    if (c === 0x22) {
      this.#state = St.InString
      return Scan.BeginLiteral
    }
    return this.#fail(c, 'looking for beginning of object key string')
  }

  #endValue(c: number): number {
    const n = this.#parseState.length
    if (n === 0) {
      this.#state = St.EndTop
      this.endTop = true
      return this.#endTop(c)
    }
    if (isSpace(c)) {
      this.#state = St.EndValue
      return Scan.SkipSpace
    }
    switch (this.#parseState[n - 1]) {
      case PARSE_OBJECT_KEY:
        if (c === 0x3a) {
          this.#parseState[n - 1] = PARSE_OBJECT_VALUE
          this.#state = St.BeginValue
          return Scan.ObjectKey
        }
        return this.#fail(c, 'after object key')
      case PARSE_OBJECT_VALUE:
        if (c === 0x2c) {
          this.#parseState[n - 1] = PARSE_OBJECT_KEY
          this.#state = St.BeginString
          return Scan.ObjectValue
        }
        if (c === 0x7d) return this.#pop(Scan.EndObject)
        return this.#fail(c, 'after object key:value pair')
      default:
        if (c === 0x2c) {
          this.#state = St.BeginValue
          return Scan.ArrayValue
        }
        if (c === 0x5d) return this.#pop(Scan.EndArray)
        return this.#fail(c, 'after array element')
    }
  }

  #pop(op: number): number {
    this.#parseState.pop()
    if (this.#parseState.length === 0) {
      this.#state = St.EndTop
      this.endTop = true
    } else {
      this.#state = St.EndValue
    }
    return op
  }

  /** Like Go, a byte after the top-level value records an error but still answers End. */
  #endTop(c: number): number {
    if (!isSpace(c)) this.#fail(c, 'after top-level value')
    return Scan.End
  }

  #hex(c: number, next: State): number {
    if (isHex(c)) return this.#to(next)
    return this.#fail(c, 'in \\u hexadecimal character escape')
  }

  #zero(c: number): number {
    if (c === 0x2e) return this.#to(St.Dot)
    if (c === 0x65 || c === 0x45) return this.#to(St.E)
    return this.#endValue(c)
  }

  #eSign(c: number): number {
    if (isDigit(c)) return this.#to(St.E0)
    return this.#fail(c, 'in exponent of numeric literal')
  }

  #literal(c: number, expect: number, next: State, context: string): number {
    if (c === expect) return this.#to(next)
    return this.#fail(c, context)
  }
}
