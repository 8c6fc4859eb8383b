/** Unit tests for read-only.ts (ReadIndex rounds). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReadOnly, decodeRoundId, encodeRoundId } from '../../src/raft/read-only.ts'

const read = (ctx: string, index: number, from = 1) => ({ ctx: new TextEncoder().encode(ctx), from, index })
const ctxs = (reads: readonly { ctx: Uint8Array }[]): string[] => reads.map((r) => new TextDecoder().decode(r.ctx))
const voters = [1, 2, 3]

test('round IDs encode as decimal digits; anything else decodes to 0', () => {
  assert.equal(decodeRoundId(encodeRoundId(12345)), 12345)
  assert.equal(decodeRoundId(new Uint8Array(0)), 0)
  assert.equal(decodeRoundId(new TextEncoder().encode('x1')), 0)
})

test('a read is released only by a majority acking its own round', () => {
  const ro = new ReadOnly()
  assert.equal(ro.add(read('a', 5), 1), true)
  const round = decodeRoundId(ro.context())
  assert.ok(round > 0)
  assert.deepEqual(ro.ack(round + 1, 2, voters, 1).released, [], 'a different round does not count')
  const done = ro.ack(round, 2, voters, 1)
  assert.deepEqual(ctxs(done.released), ['a'])
  assert.equal(done.released[0]?.index, 5)
  assert.equal(ro.context().length, 0)
})

test('reads arriving during a round join the next round, which starts when the first completes', () => {
  const ro = new ReadOnly()
  ro.add(read('a', 5), 1)
  const r1 = decodeRoundId(ro.context())
  assert.equal(ro.add(read('b', 6), 1), false)
  assert.equal(ro.add(read('c', 6), 1), false)
  const first = ro.ack(r1, 3, voters, 1)
  assert.deepEqual(ctxs(first.released), ['a'])
  assert.equal(first.startedNext, true)
  const r2 = decodeRoundId(ro.context())
  assert.ok(r2 > r1)
  assert.deepEqual(ro.ack(r1, 2, voters, 1).released, [], 'a late ack of the old round releases nothing')
  assert.deepEqual(ctxs(ro.ack(r2, 2, voters, 1).released), ['b', 'c'])
})

test('non-voter acks do not count; reset drops everything but IDs keep increasing', () => {
  const ro = new ReadOnly()
  ro.add(read('a', 1), 1)
  const r1 = decodeRoundId(ro.context())
  assert.deepEqual(ro.ack(r1, 9, voters, 1).released, [])
  ro.reset()
  assert.equal(ro.context().length, 0)
  ro.add(read('b', 1), 1)
  assert.ok(decodeRoundId(ro.context()) > r1)
  assert.deepEqual(ro.ack(r1, 2, voters, 1).released, [])
})
