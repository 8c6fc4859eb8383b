/**
 * The simulated network: latency bounds, drawn faults and their counts, partitions and healing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Network, type NetworkOptions, type Packet } from './network.ts'
import { Prng } from './prng.ts'
import { Scheduler } from './scheduler.ts'

interface P extends Packet {
  readonly n: number
}

const CALM: NetworkOptions = {
  delayMin: 1,
  delayMean: 5,
  drop: { num: 0, den: 1 },
  delaySpike: { num: 0, den: 1 },
  duplicate: { num: 0, den: 1 },
  reorder: { num: 0, den: 1 },
}

function setup(options: NetworkOptions, seed = 1): { s: Scheduler; net: Network<P>; got: P[]; lost: P[] } {
  const s = new Scheduler()
  const got: P[] = []
  const lost: P[] = []
  const net = new Network<P>(new Prng(seed), options, s, (p) => got.push(p), (p) => lost.push(p))
  return { s, net, got, lost }
}

function drain(s: Scheduler): void {
  while (s.step() !== null);
}

test('a calm link delivers everything, in order, within the latency bounds', () => {
  const { s, net, got } = setup(CALM)
  for (let n = 0; n < 50; n++) net.send({ from: 1, to: 2, n })
  drain(s)
  assert.deepEqual(got.map((p) => p.n), Array.from({ length: 50 }, (_, i) => i))
  assert.ok(s.now >= 1 && s.now <= 9)
  assert.equal(net.counts.delivered, 50)
})

test('drop, duplicate and reorder fire at their odds and are counted', () => {
  const { s, net, got, lost } = setup({
    ...CALM,
    drop: { num: 1, den: 5 },
    duplicate: { num: 1, den: 5 },
    reorder: { num: 1, den: 2 },
  })
  for (let n = 0; n < 500; n++) net.send({ from: 1, to: 2, n })
  drain(s)
  const c = net.counts
  assert.ok(c.dropped > 50 && c.dropped < 150, `dropped ${c.dropped}`)
  assert.ok(c.duplicated > 40 && c.duplicated < 130, `duplicated ${c.duplicated}`)
  assert.ok(c.reordered > 0)
  assert.equal(lost.length, c.dropped)
  assert.equal(got.length, 500 - c.dropped + c.duplicated)
  const inversions = got.filter((p, i) => i > 0 && p.n < (got[i - 1] as P).n).length
  assert.ok(inversions > 0, 'reordering produced no inversion')
})

test('a symmetric partition isolating one node cuts both ways; heal restores it', () => {
  const { s, net, got, lost } = setup(CALM)
  const [a, b] = net.partition('isolate-leader', true, [1, 2, 3], 2)
  assert.deepEqual(a, [2])
  assert.deepEqual(b, [1, 3])
  net.send({ from: 2, to: 1, n: 0 })
  net.send({ from: 3, to: 2, n: 1 })
  net.send({ from: 1, to: 3, n: 2 })
  drain(s)
  assert.deepEqual(got.map((p) => p.n), [2])
  assert.equal(lost.length, 2)
  net.heal()
  net.send({ from: 2, to: 1, n: 3 })
  drain(s)
  assert.deepEqual(got.map((p) => p.n), [2, 3])
  assert.equal(net.counts.partitions['isolate-leader/sym'], 1)
  assert.equal(net.counts.heals, 1)
})

test('an asymmetric partition cuts only side A → side B; packets in flight die at a cut', () => {
  const { s, net, got } = setup(CALM)
  net.send({ from: 1, to: 2, n: 0 })
  const [a] = net.partition('isolate-single', false, [1, 2], null)
  const side = a[0] as number
  const other = side === 1 ? 2 : 1
  net.send({ from: side, to: other, n: 1 })
  net.send({ from: other, to: side, n: 2 })
  drain(s)
  assert.ok(!got.some((p) => p.n === 1))
  assert.ok(got.some((p) => p.n === 2))
  assert.equal(got.some((p) => p.n === 0), side !== 1)
})

test('uniform-size partitions split into two non-empty sides', () => {
  const { net } = setup(CALM, 5)
  for (let i = 0; i < 20; i++) {
    const [a, b] = net.partition('uniform-size', true, [1, 2, 3, 4, 5], null)
    assert.ok(a.length >= 1 && b.length >= 1 && a.length + b.length === 5)
  }
})

test('the same seed gives the same deliveries', () => {
  const run = (): string => {
    const { s, net, got } = setup({ ...CALM, drop: { num: 1, den: 4 }, reorder: { num: 1, den: 3 } }, 99)
    for (let n = 0; n < 100; n++) net.send({ from: 1 + (n % 3), to: 1 + ((n + 1) % 3), n })
    drain(s)
    return got.map((p) => p.n).join(',')
  }
  assert.equal(run(), run())
})
