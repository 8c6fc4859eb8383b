import { test } from 'node:test'
import assert from 'node:assert/strict'
import { keyString } from '../../src/mvcc/key-string.ts'

const codes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0))

test('keyString maps each byte to one code unit below 0x100, for short and chunked keys', () => {
  const every = Uint8Array.from({ length: 256 }, (_, i) => i)
  assert.deepEqual(codes(keyString(every)), [...every])
  const long = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256)
  assert.deepEqual(codes(keyString(long)), [...long])
  assert.equal(keyString(new Uint8Array(0)), '')
  const view = long.subarray(4095, 4099)
  assert.deepEqual(codes(keyString(view)), [...view])
})

test('distinct keys give distinct strings', () => {
  const keys = [[], [0], [0, 0], [1], [0, 1], [255], [255, 0]].map((k) => Uint8Array.from(k))
  assert.equal(new Set(keys.map(keyString)).size, keys.length)
})
