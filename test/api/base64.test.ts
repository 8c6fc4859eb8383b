/**
 * base64: Go's StdEncoding decoding, error offsets included, and the encoder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeBase64, encodeBase64 } from '../../src/api/index.ts'
import { throwsEtcd, utf8 } from './helpers.ts'

const OK: readonly [string, string][] = [
  ['', ''],
  ['Zm9v', 'foo'],
  ['Zm9vYg==', 'foob'],
  ['Zm9vYmE=', 'fooba'],
  ['Zm9v\nYmFy', 'foobar'],
  ['Zm9v\r\nYg=\n=\n', 'foob'],
  ['\n', ''],
  ['Zh==', 'f'],
]

for (const [input, output] of OK) {
  test(`decodes ${JSON.stringify(input)}`, () => {
    assert.deepEqual(decodeBase64(input), utf8(output))
  })
}

/** Offsets as Go's base64.StdEncoding reports them. */
const ERRORS: readonly [string, string, number][] = [
  ['non-alphabet characters', '!!!', 0],
  ['missing padding (two left over)', 'Zm9vYg', 4],
  ['missing padding (three left over)', 'Zm9vYmE', 4],
  ['a lone character', 'Zm9vY', 4],
  ['a single pad', 'Zg=', 3],
  ['padding too early', 'Z===', 1],
  ['a pad at the start', '=', 0],
  ['data after padding', 'Zg==Zm9v', 4],
  ['a wrong second pad (Go names the first pad)', 'Zg=x', 2],
  ['URL-safe minus', 'Zm9-', 3],
  ['URL-safe underscore', '_w==', 0],
  ['a space', 'Zm 9v', 2],
  ['a non-ASCII character', 'Zm9vé', 4],
]

for (const [name, input, offset] of ERRORS) {
  test(`rejects ${name} at input byte ${offset}`, () => {
    throwsEtcd(() => decodeBase64(input), 3, `illegal base64 data at input byte ${offset}`)
  })
}

test('encodes with padding, and decoding inverts it', () => {
  assert.equal(encodeBase64(utf8('foob')), 'Zm9vYg==')
  assert.equal(encodeBase64(Uint8Array.of(0xfb, 0xff)), '+/8=')
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (whole, offset) => {
      // A view into a larger buffer (as values read from the database are) encodes only its bytes.
      const bytes = whole.subarray(Math.min(offset, whole.length))
      const text = encodeBase64(bytes)
      assert.equal(text, Buffer.from(bytes).toString('base64'))
      assert.deepEqual(decodeBase64(text), bytes)
    }),
  )
})
