/**
 * The PRNG: reproducible streams, independent named forks, integer-only odds.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Prng, formatSeed, parseSeed } from './prng.ts'

test('the same seed gives the same stream; different seeds differ', () => {
  const a = new Prng(0x1234)
  const b = new Prng(0x1234)
  const c = new Prng(0x1235)
  const draw = (p: Prng): number[] => Array.from({ length: 20 }, () => p.u32())
  const da = draw(a)
  assert.deepEqual(da, draw(b))
  assert.notDeepEqual(da, draw(c))
})

test('forks depend only on (seed, name), not on draws made before', () => {
  const a = new Prng(7)
  const b = new Prng(7)
  for (let i = 0; i < 100; i++) b.u32()
  assert.equal(a.fork('network').u32(), b.fork('network').u32())
  assert.notEqual(a.fork('network').seed, a.fork('disk').seed)
  assert.notEqual(a.fork('network').seed, new Prng(8).fork('network').seed)
})

test('int, range and pick stay in bounds and reach every value', () => {
  const p = new Prng(42)
  const seen = new Set<number>()
  for (let i = 0; i < 2000; i++) {
    const x = p.range(3, 7)
    assert.ok(x >= 3 && x <= 7 && Number.isInteger(x))
    seen.add(x)
    assert.ok(p.int(1) === 0)
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7])
  assert.ok(['a', 'b'].includes(p.pick(['a', 'b'])))
  assert.throws(() => p.int(0))
  assert.throws(() => p.pick([]))
})

test('chance takes integer odds: 0/n never, n/n always, 1/4 about a quarter', () => {
  const p = new Prng(1)
  let hits = 0
  for (let i = 0; i < 4000; i++) {
    assert.equal(p.chance(0, 5), false)
    assert.equal(p.chance(5, 5), true)
    if (p.chance(1, 4)) hits++
  }
  assert.ok(hits > 850 && hits < 1150, `1/4 odds hit ${hits} of 4000`)
  assert.throws(() => p.chance(0.5, 1))
  assert.throws(() => p.chance(2, 1))
})

test('shuffle permutes in place', () => {
  const p = new Prng(9)
  const xs = [1, 2, 3, 4, 5, 6, 7, 8]
  const out = p.shuffle(xs)
  assert.equal(out, xs)
  assert.deepEqual([...xs].sort(), [1, 2, 3, 4, 5, 6, 7, 8])
})

test('seeds print as hex and parse back', () => {
  assert.equal(formatSeed(0x1234), '0x1234')
  assert.equal(parseSeed('0x1234'), 0x1234)
  assert.equal(parseSeed('4660'), 0x1234)
  assert.throws(() => parseSeed('0x1ffffffff'))
  assert.throws(() => parseSeed('nope'))
})
