/**
 * Go's ways of printing strings, where etcd's answers depend on them: `strconv.Quote` (the `%q`
 * in `unknown value "X" for enum …`), encoding/json's `quoteChar` (the `'a'` in syntax errors),
 * and `json.Marshal`'s string escaping (HTML-safe, as grpc-gateway's jsonpb prints strings).
 *
 * @module
 */

const HEX = '0123456789abcdef'
const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f
  return PRINTABLE.test(String.fromCodePoint(cp))
}

function hex(n: number, width: number): string {
  let s = ''
  for (let i = width - 1; i >= 0; i--) s += HEX[(n >> (4 * i)) & 0xf]
  return s
}

const SHORT_ESCAPES: Record<number, string> = {
  0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v',
}

function quoteRune(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return '\\' + String.fromCharCode(cp)
  if (isPrint(cp)) return String.fromCodePoint(cp)
  const short = SHORT_ESCAPES[cp]
  if (short !== undefined) return short
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex(cp, 2)
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'
  if (cp < 0x10000) return '\\u' + hex(cp, 4)
  return '\\U' + hex(cp, 8)
}

/** Go's strconv.Quote. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) out += quoteRune(ch.codePointAt(0) as number, 0x22)
  return out + '"'
}

/** encoding/json's quoteChar: how a syntax error names the offending byte (`'a'`, `'\n'`, `'ï'`). */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''"
  if (c === 0x22) return `'"'`
  return "'" + quoteRune(c, 0x22) + "'"
}

/**
 * A JSON string literal as Go's json.Marshal writes it: `<`, `>`, `&`, U+2028 and U+2029 as
 * `\u` escapes, `\n` `\r` `\t` short, other control characters as `\u00XX`, and lone surrogates
 * (invalid UTF-8 in Go) as `\ufffd`.
 */
export function jsonString(s: string): string {
  let out = '"'
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let esc: string | null = null
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      esc = c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t'
        : '\\u00' + hex(c, 2)
    } else if (c === 0x2028 || c === 0x2029) {
      esc = '\\u' + hex(c, 4)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1)
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++
        continue
      }
      esc = '\\ufffd'
    }
    if (esc === null) continue
    out += s.slice(from, i) + esc
    from = i + 1
  }
  return out + s.slice(from) + '"'
}

/** Bytes of `s` in UTF-8 (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4
        i++
      } else {
        n += 3
      }
    } else n += 3
  }
  return n
}
