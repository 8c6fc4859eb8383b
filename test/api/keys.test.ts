/**
 * keys: etcd's prefix → range_end rule.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fromKeyRangeEnd, prefixRangeEnd } from '../../src/api/index.ts'
import { utf8 } from './helpers.ts'

const CASES: readonly [string, Uint8Array, Uint8Array][] = [
  ['the last byte is incremented', utf8('r/'), utf8('r0')],
  ['a trailing 0xff is dropped first', Uint8Array.of(0x61, 0xff), Uint8Array.of(0x62)],
  ['several trailing 0xff are dropped', Uint8Array.of(0x61, 0x7f, 0xff, 0xff), Uint8Array.of(0x61, 0x80)],
  ['all 0xff: every key ≥ the prefix', Uint8Array.of(0xff, 0xff), Uint8Array.of(0)],
  ['empty prefix: every key', new Uint8Array(0), Uint8Array.of(0)],
]

for (const [name, prefix, end] of CASES) {
  test(`prefixRangeEnd: ${name}`, () => {
    const copy = prefix.slice()
    assert.deepEqual(prefixRangeEnd(prefix), end)
    assert.deepEqual(prefix, copy, 'the prefix is not modified')
  })
}

test('fromKeyRangeEnd is "\\0", fresh each time', () => {
  const a = fromKeyRangeEnd()
  a[0] = 1
  assert.deepEqual(fromKeyRangeEnd(), Uint8Array.of(0))
})
