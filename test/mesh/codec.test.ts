/**
 * The frame codec: round trips (fixed cases and generated messages), and a fuzz over random
 * and mutated bytes showing that decode either returns a valid frame or throws FrameError.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode } from '@msgpack/msgpack'
import { FRAME_VERSION, FrameCodec, FrameError, MAX_SNAPSHOT_BYTES, SNAPSHOT_IN_PARTS, maxEncodedSize, type Frame } from '../../src/mesh/codec.ts'
import { appendMessage, message, messageArb } from './arbitraries.ts'

/** Byte arrays compare equal to Buffers/views in deepStrictEqual only when both are plain Uint8Arrays. */
function normalize(frame: Frame): unknown {
  return JSON.parse(JSON.stringify(frame, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)))
}

test('round trip: a MsgApp with entries and a MsgSnap with a snapshot', () => {
  const codec = new FrameCodec()
  const snap = message({
    type: 'MsgSnap',
    from: 1,
    to: 2,
    snapshot: {
      metadata: { index: 90, term: 4, confState: { voters: [1, 2, 3], learners: [7] } },
      data: new Uint8Array([9, 8, 7]),
    },
  })
  const messages = [appendMessage(1, 2, 5, 3, 10), snap]
  const frame: Frame = { version: FRAME_VERSION, from: 1, clusterId: 'c-1', messages }
  const decoded = codec.decode(codec.encode(frame))
  assert.deepEqual(normalize(decoded), normalize(frame))
  assert.ok(decoded.messages[0]?.entries[0]?.data instanceof Uint8Array)
})

test('round trip: a snapshot part, and a MsgSnap whose data came in parts', () => {
  const codec = new FrameCodec()
  const part: Frame = { version: FRAME_VERSION, from: 1, clusterId: 'c-1', messages: [], part: { total: 10, offset: 4, bytes: new Uint8Array([1, 2, 3]) } }
  assert.deepEqual(normalize(codec.decode(codec.encode(part))), normalize(part))
  const snap = message({
    type: 'MsgSnap',
    from: 1,
    to: 2,
    snapshot: { metadata: { index: 90, term: 4, confState: { voters: [1, 2, 3], learners: [] } }, data: SNAPSHOT_IN_PARTS },
  })
  const decoded = codec.decode(codec.encode({ version: FRAME_VERSION, from: 1, clusterId: 'c-1', messages: [snap] }))
  assert.equal(decoded.messages[0]?.snapshot?.data, SNAPSHOT_IN_PARTS, 'nil data decodes to the marker')
  assert.equal(decoded.part, undefined)
})

test('round trip: generated frames; maxEncodedSize bounds the size', () => {
  const codec = new FrameCodec()
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 5 }), fc.option(fc.string({ maxLength: 20 }), { nil: null }), (
      messages,
      clusterId,
    ) => {
      const frame: Frame = { version: FRAME_VERSION, from: 3, clusterId, messages }
      const bytes = codec.encode(frame)
      assert.deepEqual(normalize(codec.decode(bytes)), normalize(frame))
      let estimate = 0
      for (const m of messages) estimate += maxEncodedSize(m)
      assert.ok(bytes.byteLength <= estimate + 300, 'maxEncodedSize is an upper bound')
    }),
    { numRuns: 500 },
  )
})

/** decode must return a frame or throw FrameError: nothing else escapes. */
function decodeOrFrameError(codec: FrameCodec, bytes: Uint8Array): void {
  try {
    codec.decode(bytes)
  } catch (err) {
    if (!(err instanceof FrameError)) throw err
  }
}

test('fuzz: random bytes only ever decode or throw FrameError', () => {
  const codec = new FrameCodec()
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodeOrFrameError(codec, bytes)), {
    numRuns: 5000,
  })
})

test('fuzz: valid frames with bytes flipped, cut or extended', () => {
  const codec = new FrameCodec()
  const mutation = fc.record({
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: null }),
    tail: fc.uint8Array({ maxLength: 3 }),
  })
  fc.assert(
    fc.property(fc.array(messageArb, { minLength: 1, maxLength: 3 }), mutation, (messages, { flips, cut, tail }) => {
      const valid = codec.encode({ version: FRAME_VERSION, from: 2, clusterId: null, messages })
      let bytes = new Uint8Array([...valid, ...tail])
      for (const [at, xor] of flips) bytes[at % bytes.length] ^= xor
      if (cut !== null) bytes = bytes.subarray(0, cut % bytes.length)
      decodeOrFrameError(codec, bytes)
    }),
    { numRuns: 3000 },
  )
  // The codec is still usable after all those errors.
  const frame: Frame = { version: FRAME_VERSION, from: 1, clusterId: null, messages: [message({ from: 1, to: 2 })] }
  assert.deepEqual(normalize(codec.decode(codec.encode(frame))), normalize(frame))
})

test('well-formed msgpack that is not a frame is rejected with a reason', () => {
  const codec = new FrameCodec()
  const cases: [unknown, RegExp][] = [
    [{ a: 1 }, /Max length exceeded|not an array/],
    [[2, 1, null, []], /unsupported version 2/],
    [[1, -1, null, []], /from is not a count/],
    [[1, 1, 5, []], /clusterId/],
    [[1, 1, null, [[99, 1, 2, 0, 0, 0, 0, [], false, 0, null, new Uint8Array()]]], /unknown message type/],
    [[1, 1, null, [[0, 1, 2, 0, 0, 0, 0, [], 0, 0, null, new Uint8Array()]]], /reject is not a boolean/],
    [[1, 1, null, [[0, 1, 2, 0.5, 0, 0, 0, [], false, 0, null, new Uint8Array()]]], /term is not a count/],
    [[1, 1, null, [[0, 1, 2, 0, 0, 0, 0, [[1, 1, 0, 'x']], false, 0, null, new Uint8Array()]]], /entry data/],
    [[1, 1, null, [[0, 1, 2, 0, 0, 0, 0, [], false, 0, [1, 1, [], []], new Uint8Array()]]], /snapshot has 4/],
    [[1, 1, null, [[0, 1, 2, 2 ** 60, 0, 0, 0, [], false, 0, null, new Uint8Array()]]], /term is not a count/],
    [[1, 1, null, [], [10, 0, new Uint8Array(4)], 'x'], /frame has 6 fields/],
    [[1, 1, null, [[0, 1, 2, 0, 0, 0, 0, [], false, 0, null, new Uint8Array()]], [10, 0, new Uint8Array(4)]], /carries messages/],
    [[1, 1, null, [], [10, 8, new Uint8Array(4)]], /part outside its snapshot/],
    [[1, 1, null, [], [10, 0, new Uint8Array(0)]], /part outside its snapshot/],
    [[1, 1, null, [], [MAX_SNAPSHOT_BYTES + 1, 0, new Uint8Array(4)]], /more than/],
    [[1, 1, null, [], [10, 0]], /part has 2 fields/],
  ]
  for (const [value, reason] of cases) {
    const matches = (err: unknown): boolean => err instanceof FrameError && reason.test(err.message)
    assert.throws(() => codec.decode(encode(value)), matches)
  }
})
