/**
 * The hash-chain state machine and its snapshot image.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry } from '../../src/raft/types.ts'
import { StateMachine } from './state-machine.ts'

const enc = new TextEncoder()
const e = (index: number, term: number, data: string): Entry => ({
  index,
  term,
  type: 'normal',
  data: enc.encode(data),
})

test('the same entries give the same digest; any difference changes it', () => {
  const a = new StateMachine()
  const b = new StateMachine()
  const c = new StateMachine()
  for (const sm of [a, b, c]) sm.apply(e(1, 1, 'x'))
  a.apply(e(2, 1, 'y'))
  b.apply(e(2, 1, 'y'))
  c.apply(e(2, 2, 'y'))
  assert.equal(a.hash, b.hash)
  assert.notEqual(a.hash, c.hash)
  assert.equal(a.index, 2)
})

test('entries apply in order without gaps', () => {
  const sm = new StateMachine()
  assert.throws(() => sm.apply(e(2, 1, 'x')))
})

test('a snapshot image round-trips, and must be decoded at its own index', () => {
  const sm = new StateMachine(1)
  sm.apply(e(2, 1, 'x'))
  const back = StateMachine.decode(sm.encode(), 2)
  assert.equal(back.index, 2)
  assert.equal(back.hash, sm.hash)
  assert.throws(() => StateMachine.decode(sm.encode(), 3))
  const boot = StateMachine.decode(new Uint8Array(0), 1)
  assert.equal(boot.index, 1)
})
