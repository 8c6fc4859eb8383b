/**
 * The disk model: fsync latency, crash losses, torn prefixes, checkpoints.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry } from '../../src/raft/types.ts'
import { Prng } from './prng.ts'
import { Scheduler } from './scheduler.ts'
import { SimDisk, emptyImage, foundingImage, newDiskCounts, type DiskOptions } from './sim-disk.ts'

const e = (index: number, term: number): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array([index]),
})
const NEVER_TORN: DiskOptions = { fsyncMin: 2, fsyncMax: 5, torn: { num: 0, den: 1 } }

function disk(options = NEVER_TORN, seed = 1): { s: Scheduler; d: SimDisk } {
  const s = new Scheduler()
  return { s, d: new SimDisk(new Prng(seed), options, s, newDiskCounts(), emptyImage()) }
}

test('writes are visible to the node at once but durable only after fsync completes', () => {
  const { s, d } = disk()
  d.write({ kind: 'entries', entries: [e(1, 1), e(2, 1)] })
  d.write({ kind: 'hard-state', hardState: { term: 1, vote: 1, commit: 0 } })
  assert.equal(d.storage.lastIndex(), 2)
  assert.equal(d.image.entries.length, 0)
  let synced = false
  d.fsync(() => (synced = true))
  assert.equal(synced, false)
  while (s.step() !== null);
  assert.ok(synced && s.now >= 2 && s.now <= 5)
  assert.equal(d.image.entries.length, 2)
  assert.equal(d.image.hardState.vote, 1)
})

test('a crash loses unsynced writes and the pending fsync never completes', () => {
  const { s, d } = disk()
  d.write({ kind: 'entries', entries: [e(1, 1)] })
  d.fsync(() => {})
  while (s.step() !== null);
  d.write({ kind: 'entries', entries: [e(2, 1)] })
  let synced = false
  d.fsync(() => (synced = true))
  d.crash()
  while (s.step() !== null);
  assert.equal(synced, false)
  assert.equal(d.storage.lastIndex(), 1)
  assert.deepEqual(d.image.entries.map((x) => x.index), [1])
})

test('a torn crash keeps a prefix of the unsynced writes, in order', () => {
  for (let seed = 1; seed < 40; seed++) {
    const { d } = disk({ ...NEVER_TORN, torn: { num: 1, den: 1 } }, seed)
    d.write({ kind: 'entries', entries: [e(1, 1)] })
    d.write({ kind: 'entries', entries: [e(2, 1)] })
    d.write({ kind: 'entries', entries: [e(3, 1)] })
    d.crash()
    const kept = d.image.entries.map((x) => x.index)
    assert.deepEqual(kept, [1, 2, 3].slice(0, kept.length))
  }
})

test('entries replace a conflicting tail; a checkpoint compacts the durable log too', () => {
  const { s, d } = disk()
  d.write({ kind: 'entries', entries: [e(1, 1), e(2, 1), e(3, 1)] })
  d.write({ kind: 'entries', entries: [e(2, 2)] })
  d.checkpoint(2, { voters: [1], learners: [] }, new Uint8Array([7]))
  d.fsync(() => {})
  while (s.step() !== null);
  assert.deepEqual(d.image.entries, [])
  assert.equal(d.image.snapshot.metadata.index, 2)
  assert.equal(d.image.snapshot.metadata.term, 2)
  d.crash()
  assert.equal(d.storage.firstIndex(), 3)
  assert.equal(d.storage.lastIndex(), 2)
})

test('a founding image starts at the bootstrap snapshot', () => {
  const s = new Scheduler()
  const image = foundingImage({ voters: [1, 2, 3], learners: [] }, new Uint8Array(0))
  const d = new SimDisk(new Prng(1), NEVER_TORN, s, newDiskCounts(), image)
  assert.deepEqual(d.storage.initialState().confState.voters, [1, 2, 3])
  assert.equal(d.storage.lastIndex(), 1)
})
