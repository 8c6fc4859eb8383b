/**
 * go-json, go-scanner and json-stream: Go's syntax-error messages, trees with number text kept,
 * json.Decoder's reading of request bodies and of concatenated request streams.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JsonStreamSplitter, parseJson, parseRequestBody, type JsonValue } from '../../src/api/index.ts'
import { throwsEtcd } from './helpers.ts'

/** A JSON tree back to plain JS, numbers as their text. */
function plain(v: JsonValue): unknown {
  switch (v.kind) {
    case 'object': return Object.fromEntries([...v.entries].map(([k, x]) => [k, plain(x)]))
    case 'array': return v.items.map(plain)
    case 'string': return v.value
    case 'number': return { n: v.text }
    case 'bool': return v.value
    case 'null': return null
  }
}

const SYNTAX_ERRORS: readonly [string, string, string][] = [
  ['a bare word', 'abc', "invalid character 'a' looking for beginning of value"],
  ['a key without colon', '{"key" 1}', "invalid character '1' after object key"],
  ['a brace right after a key', '{"key"}', "invalid character '}' after object key"],
  ['two values without a comma', '{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
  ['an unquoted key', '{key:1}', "invalid character 'k' looking for beginning of object key string"],
  ['a trailing comma in an object', '{"a":1,}', "invalid character '}' looking for beginning of object key string"],
  ['a trailing comma in an array', '[1,]', "invalid character ']' looking for beginning of value"],
  ['a missing comma in an array', '[1 2]', "invalid character '2' after array element"],
  ['a newline inside a string', '"a\nb"', "invalid character '\\n' in string literal"],
  ['a bad escape', '"\\x"', "invalid character 'x' in string escape code"],
  ['a bad unicode escape', '"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
  ['a dot without digits', '1.x', "invalid character 'x' after decimal point in numeric literal"],
  ['an exponent without digits', '1ex', "invalid character 'x' in exponent of numeric literal"],
  ['a lone minus', '-', "invalid character ' ' in numeric literal"],
  ['a leading plus', '+1', "invalid character '+' looking for beginning of value"],
  ['a broken true', 'trux', "invalid character 'x' in literal true (expecting 'e')"],
  ['a false cut short (Go steps a space at EOF)', 'fals', "invalid character ' ' in literal false (expecting 'e')"],
  ['a broken null', 'nul1', "invalid character '1' in literal null (expecting 'l')"],
  ['garbage after the value', '{}}', "invalid character '}' after top-level value"],
  ['a second value', '1 2', "invalid character '2' after top-level value"],
  ['a leading zero', '01', "invalid character '1' after top-level value"],
  ['nothing', '', 'unexpected end of JSON input'],
  ['only spaces', '   ', 'unexpected end of JSON input'],
  ['a single quote', "'a'", `invalid character '\\'' looking for beginning of value`],
  ['a double quote in the wrong place', '{"a":1"', `invalid character '"' after object key:value pair`],
  ['a byte above 0x7f', '\u00ef', "invalid character 'Ã' looking for beginning of value"],
  ['a control character', '\u0001', "invalid character '\\x01' looking for beginning of value"],
]

for (const [name, text, message] of SYNTAX_ERRORS) {
  test(`parseJson rejects ${name} with Go's message`, () => {
    throwsEtcd(() => parseJson(text), 3, message)
  })
}

test('a raw byte 0x80 is named as Go names it', () => {
  throwsEtcd(() => parseJson(Uint8Array.of(0x80)), 3, "invalid character '\\u0080' looking for beginning of value")
  throwsEtcd(() => parseJson(Uint8Array.of(0xa0)), 3, "invalid character '\\u00a0' looking for beginning of value")
  throwsEtcd(() => parseJson(Uint8Array.of(0xe9)), 3, "invalid character 'é' looking for beginning of value")
})

test('nesting beyond 10000 levels is refused like Go', () => {
  throwsEtcd(() => parseJson('['.repeat(10001)), 3, "invalid character '[' exceeded max depth")
  assert.equal(parseJson('['.repeat(10000) + ']'.repeat(10000)).kind, 'array')
})

test('numbers keep their source text', () => {
  assert.deepEqual(plain(parseJson('{"a":9223372036854775807,"b":1.5,"c":-0,"d":1e3}')), {
    a: { n: '9223372036854775807' }, b: { n: '1.5' }, c: { n: '-0' }, d: { n: '1e3' },
  })
})

test('strings are unescaped like Go, and keep their raw text', () => {
  const v = parseJson('["a\\u0041\\n\\"\\/", "\\ud83d\\ude00", "\\ud83d x", "\\ude00", "é"]')
  assert.deepEqual(plain(v), ['aA\n"/', '😀', '\ufffd x', '\ufffd', 'é'])
  assert.equal(v.kind === 'array' && v.items[0]?.kind === 'string' ? v.items[0].raw : '', 'a\\u0041\\n\\"\\/')
})

test('a duplicate key: the last one wins', () => {
  assert.deepEqual(plain(parseJson('{"a":1,"a":2}')), { a: { n: '2' } })
})

test('a request body: empty or blank is {}', () => {
  assert.deepEqual(plain(parseRequestBody('')), {})
  assert.deepEqual(plain(parseRequestBody(' \n\t')), {})
})

test('a request body: only the first value counts, anything after it is never read', () => {
  assert.deepEqual(plain(parseRequestBody('{"a":1}garbage{')), { a: { n: '1' } })
  assert.deepEqual(plain(parseRequestBody('{"a":1}{"a":2}')), { a: { n: '1' } })
})

test('a request body: a truncated value is unexpected EOF', () => {
  throwsEtcd(() => parseRequestBody('{"key":"Zm9v"'), 3, 'unexpected EOF')
  throwsEtcd(() => parseRequestBody('{"create_request":'), 3, 'unexpected EOF')
  throwsEtcd(() => parseRequestBody('"abc'), 3, 'unexpected EOF')
})

test('a request body: a syntax error before the first value ends is reported', () => {
  throwsEtcd(() => parseRequestBody('{"key" 1}'), 3, "invalid character '1' after object key")
  throwsEtcd(() => parseRequestBody('}'), 3, "invalid character '}' looking for beginning of value")
})

test('a request body: a top-level scalar ends at the next byte or at EOF', () => {
  assert.deepEqual(plain(parseRequestBody('5')), { n: '5' })
  assert.deepEqual(plain(parseRequestBody('5x')), { n: '5' })
  assert.deepEqual(plain(parseRequestBody('null')), null)
})

function split(chunks: readonly string[]): { values: unknown[]; error: string | null } {
  const s = new JsonStreamSplitter()
  const values: unknown[] = []
  for (const chunk of [...chunks, null]) {
    const batch = chunk === null ? s.end() : s.push(chunk)
    values.push(...batch.values.map(plain))
    if (batch.error !== null) return { values, error: batch.error.message }
  }
  return { values, error: null }
}

test('the stream splitter separates back-to-back objects, with or without whitespace', () => {
  assert.deepEqual(split(['{"a":1}{"b":2}\n{"c":3} [4] "s" 5 6']), {
    values: [{ a: { n: '1' } }, { b: { n: '2' } }, { c: { n: '3' } }, [{ n: '4' }], 's', { n: '5' }, { n: '6' }],
    error: null,
  })
})

test('the stream splitter joins a value split across chunks at any byte', () => {
  const text = '{"create_request":{"key":"dy9i","start_revision":"29"}}\n{"progress_request":{}}'
  const whole = split([text])
  for (let i = 0; i <= text.length; i++) assert.deepEqual(split([text.slice(0, i), text.slice(i)]), whole, `split at ${i}`)
  assert.deepEqual(split([...text]), whole)
  assert.equal(whole.values.length, 2)
})

test('the stream splitter: a trailing incomplete object is unexpected EOF, after the complete ones', () => {
  assert.deepEqual(split(['{"a":1} {"b"']), { values: [{ a: { n: '1' } }], error: 'unexpected EOF' })
  assert.deepEqual(split(['{"a":1}', '   ']), { values: [{ a: { n: '1' } }], error: null })
  assert.deepEqual(split(['12', '3']), { values: [{ n: '123' }], error: null })
  assert.deepEqual(split(['"a""b"5[1]true{}']), { values: ['a', 'b', { n: '5' }, [{ n: '1' }], true, {}], error: null })
})

test('the stream splitter stops at the first syntax error and ignores everything after', () => {
  const s = new JsonStreamSplitter()
  const first = s.push('{"a":1}x{"b":2}')
  assert.equal(first.values.length, 1)
  assert.equal(first.error?.message, "invalid character 'x' looking for beginning of value")
  assert.deepEqual(s.push('{"c":3}'), { values: [], error: null })
  assert.deepEqual(s.end(), { values: [], error: null })
})
