/**
 * The call channel's frames (src/api/call-frames.ts): batches of calls and of answers come back
 * as they were sent, and a message that is not such a batch is refused with ChannelFrameError
 * (the receiver closes the channel) rather than taken in part or thrown as something else.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode } from '@msgpack/msgpack'
import { ChannelFrameError, decodeAnswers, decodeCalls, encodeAnswers, encodeCalls } from '../../src/api/index.ts'

const headerName = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/).filter((k) => k !== '__proto__')
const headers = fc.dictionary(headerName, fc.string().filter((v) => !/[\r\n\0]/.test(v))).map((d) => ({ ...d }))
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

test('batches of calls come back as they were sent', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ id, path: fc.string(), headers, body: fc.uint8Array() }).map((r) => ({ ...r }))), (calls) => {
      assert.deepEqual(decodeCalls(encodeCalls(calls)), calls)
    }),
  )
})

test('batches of answers come back as they were sent', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ id, status: fc.integer({ min: 100, max: 599 }), headers, body: fc.uint8Array() }).map((r) => ({ ...r }))), (answers) => {
      assert.deepEqual(decodeAnswers(encodeAnswers(answers)), answers)
    }),
  )
})

test('a message that is not a batch is refused as a frame error', () => {
  const body = new Uint8Array([1])
  const notBatches: Array<[string, Uint8Array]> = [
    ['not msgpack', new Uint8Array([0xc1])],
    ['truncated', encodeCalls([{ id: 1, path: '/v3/kv/put', headers: {}, body }]).slice(0, 5)],
    ['not an array', encode({ id: 1 })],
    ['an entry of three', encode([[1, '/v3/kv/put', {}]])],
    ['an entry that is not an array', encode([7])],
    ['an id that is not an integer', encode([[1.5, '/p', {}, body]])],
    ['an id past 2^53', encode([[2n ** 60n, '/p', {}, body]], { useBigInt64: true })],
    ['a path that is not text', encode([[1, 5, {}, body]])],
    ['headers that are a list', encode([[1, '/p', ['a', 'b'], body]])],
    ['a header that is not text', encode([[1, '/p', { a: 1 }, body]])],
    ['a header name in capitals', encode([[1, '/p', { 'Grpc-Timeout': 'bad' }, body]])],
    ['a header name that is not a token', encode([[1, '/p', { 'a b': 'x' }, body]])],
    ['a header value of two lines', encode([[1, '/p', { a: 'x\r\ny: z' }, body]])],
    ['a body that is text', encode([[1, '/p', {}, 'text']])],
  ]
  for (const [what, bytes] of notBatches) assert.throws(() => decodeCalls(bytes), ChannelFrameError, what)
  assert.throws(() => decodeAnswers(encode([[1, '200', {}, body]])), ChannelFrameError, 'a status that is text')
  assert.throws(() => decodeAnswers(encode([[1, 1000, {}, body]])), ChannelFrameError, 'a status that is not HTTP')
  assert.throws(() => decodeAnswers(encode([[1, 200, null, body]])), ChannelFrameError, 'no headers')
})
