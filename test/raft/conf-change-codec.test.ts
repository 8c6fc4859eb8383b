/** Unit tests for conf-change-codec.ts and membership.ts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeConfChange, encodeConfChange, type ConfChange } from '../../src/raft/index.ts'
import { applyToConfState, checkConfChange } from '../../src/raft/membership.ts'

test('conf changes round-trip through the codec, including large IDs and context', () => {
  const cases: ConfChange[] = [
    { type: 'add-voter', nodeId: 1, context: new Uint8Array(0) },
    { type: 'add-learner', nodeId: 2 ** 40 + 7, context: new TextEncoder().encode('{"name":"m4"}') },
    { type: 'remove', nodeId: Number.MAX_SAFE_INTEGER, context: new Uint8Array([0, 255]) },
  ]
  for (const cc of cases) assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc)
})

test('the encoding is the documented fixed layout', () => {
  const b = encodeConfChange({ type: 'remove', nodeId: 258, context: new Uint8Array([7]) })
  assert.deepEqual([...b], [1, 3, 0, 0, 0, 0, 0, 0, 1, 2, 7])
})

test('decoding rejects malformed input; encoding rejects bad IDs', () => {
  assert.throws(() => decodeConfChange(new Uint8Array([1, 1, 0])), /too short/)
  assert.throws(() => decodeConfChange(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0, 1])), /version/)
  assert.throws(() => decodeConfChange(new Uint8Array([1, 9, 0, 0, 0, 0, 0, 0, 0, 1])), /type/)
  assert.throws(() => decodeConfChange(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])), /node ID/)
  const huge = new Uint8Array([1, 1, 255, 255, 255, 255, 255, 255, 255, 255])
  assert.throws(() => decodeConfChange(huge), /node ID/)
  assert.throws(() => encodeConfChange({ type: 'remove', nodeId: 0, context: new Uint8Array(0) }))
  assert.throws(() => encodeConfChange({ type: 'remove', nodeId: 1.5, context: new Uint8Array(0) }))
})

test('decoding works on a view into a larger buffer', () => {
  const inner = encodeConfChange({ type: 'add-voter', nodeId: 9, context: new Uint8Array([1]) })
  const big = new Uint8Array(inner.length + 4)
  big.set(inner, 4)
  assert.deepEqual(decodeConfChange(big.subarray(4)).nodeId, 9)
})

const cs = { voters: [1, 2, 3], learners: [4] }
const none = new Uint8Array(0)

test('membership checks: table', () => {
  const match = (m: Record<number, number>) => (id: number) => m[id] ?? 0
  const cases: [ConfChange['type'], number, Record<number, number>, number, string | null][] = [
    ['add-voter', 5, {}, 10, null],
    ['add-voter', 2, {}, 10, 'invalid-conf-change'],
    ['add-voter', 4, { 4: 8 }, 10, 'learner-not-caught-up'],
    ['add-voter', 4, { 4: 9 }, 10, null],
    ['add-voter', 4, { 4: 0 }, 0, 'learner-not-caught-up'],
    ['add-learner', 5, {}, 10, null],
    ['add-learner', 4, {}, 10, 'invalid-conf-change'],
    ['add-learner', 1, {}, 10, 'invalid-conf-change'],
    ['remove', 3, {}, 10, null],
    ['remove', 4, {}, 10, null],
    ['remove', 9, {}, 10, 'invalid-conf-change'],
  ]
  for (const [type, nodeId, m, last, want] of cases) {
    assert.equal(checkConfChange(cs, { type, nodeId, context: none }, match(m), last), want, `${type} ${nodeId}`)
  }
  const lastVoter = { type: 'remove', nodeId: 1, context: none } as const
  assert.equal(checkConfChange({ voters: [1], learners: [] }, lastVoter, () => 0, 5), 'invalid-conf-change')
})

test('applying a change is total and idempotent', () => {
  const promote = applyToConfState(cs, { type: 'add-voter', nodeId: 4, context: none })
  assert.deepEqual(promote, { voters: [1, 2, 3, 4], learners: [] })
  assert.deepEqual(applyToConfState(promote, { type: 'add-voter', nodeId: 4, context: none }), promote)
  const removed = applyToConfState(cs, { type: 'remove', nodeId: 2, context: none })
  assert.deepEqual(removed, { voters: [1, 3], learners: [4] })
  assert.deepEqual(applyToConfState(cs, { type: 'remove', nodeId: 9, context: none }), cs)
  assert.deepEqual(applyToConfState(cs, { type: 'add-learner', nodeId: 1, context: none }), cs)
  assert.deepEqual(applyToConfState(cs, { type: 'add-learner', nodeId: 10, context: none }).learners, [4, 10])
})
