/**
 * `Grpc-Timeout` as etcd's gateway reads it: a signed 64-bit integer and one unit; zero or none
 * is no deadline, a negative one has passed; anything else is 400 / 3 `invalid grpc-timeout: …`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { grpcTimeoutMs } from '../../src/api/index.ts'

test('each unit, in milliseconds (a fraction rounds up)', () => {
  assert.deepEqual(
    ['2H', '3M', '4S', '250m', '1500u', '1n', '+7S', '00012m'].map(grpcTimeoutMs),
    [7_200_000, 180_000, 4000, 250, 2, 1, 7000, 12],
  )
})

test('no deadline: no header, an empty one, zero, or one too far off for a timer', () => {
  assert.deepEqual([null, '', '0S', '-0m', '99999999H', '9223372036854775807S'].map(grpcTimeoutMs), [null, null, null, null, null, null])
})

test('a negative timeout has passed already', () => {
  assert.deepEqual(['-1S', '-9223372036854775808n'].map(grpcTimeoutMs), [0, 0])
})

test("what etcd's gateway refuses: 400 / 3 with the value", () => {
  for (const bad of ['abc', '1x', 'S', '5', '1.5S', ' 1S', '1 S', '0x10S', '--1S', '9223372036854775808S', '1s', '1h']) {
    assert.throws(() => grpcTimeoutMs(bad), { code: 3, message: `invalid grpc-timeout: ${bad}` }, bad)
  }
})
