/**
 * The automatic compactor decides as etcd 3.4's: periodic mode samples every retention/10 and
 * compacts once a retention has passed since its last success (its start for the first), to the
 * revision of about a retention ago; revision mode checks every 5 minutes. Every member keeps
 * its own clock and samples: a new leader goes on from them, it does not start over.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AutoCompactor } from '../../src/member/auto-compactor.ts'

/** Polls every 100 ms from `from` to `to` with the revision `rev(t)`; returns [time, target] of each compaction, marked done. */
function drive(c: AutoCompactor, from: number, to: number, rev: (t: number) => number, leads: (t: number) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let t = from; t <= to; t += 100) {
    const target = c.poll(t, rev(t), leads(t))
    if (target === null) continue
    out.push([t, target])
    c.done(t, target)
  }
  return out
}

test('periodic: the first compaction one retention after the start, to the start revision, then one every retention', () => {
  const c = new AutoCompactor('periodic', 5000)
  // One revision every 100 ms, from 1 at t = 0.
  const got = drive(c, 0, 16_000, (t) => 1 + t / 100, () => true)
  assert.deepEqual(got, [[5000, 1], [10_000, 46], [15_000, 96]])
})

test('periodic: a new leader compacts at its next sample when a retention has passed since its start, to the revision of about a retention ago', () => {
  const c = new AutoCompactor('periodic', 5000)
  // A follower until t = 12 s: it samples all along, and compacts at the first check it leads.
  const got = drive(c, 0, 13_000, (t) => 1 + t / 100, (t) => t >= 12_000)
  assert.deepEqual(got, [[12_000, 66]])
})

test('periodic: a retention of a day compacts every hour, sampling every 6 minutes', () => {
  const c = new AutoCompactor('periodic', 24 * 3_600_000)
  const minute = 60_000
  const got: Array<[number, number]> = []
  for (let t = 0; t <= 26 * 60 * minute; t += minute) {
    const target = c.poll(t, t / minute, true)
    if (target !== null) {
      got.push([t / minute, target])
      c.done(t, target)
    }
  }
  // The first after a day, to the start; the next an hour later, to the oldest of 241 samples
  // (24 h 6 min old: the newest is a sample interval old).
  assert.deepEqual(got, [[24 * 60, 0], [25 * 60, 54], [26 * 60, 114]])
})

test('revision: every 5 minutes from the start, to the revision minus the retention, not twice to the same', () => {
  const c = new AutoCompactor('revision', 10)
  const minute = 60_000
  const got: Array<[number, number]> = []
  for (let t = 0; t <= 26 * minute; t += 1000) {
    // 100 revisions a minute, none after minute 12; a follower between minutes 14 and 16.
    const target = c.poll(t, 1 + Math.floor(Math.min(t, 12 * minute) / 600), t < 14 * minute || t > 16 * minute)
    if (target !== null) {
      got.push([t / minute, target])
      c.done(t, target)
    }
  }
  assert.deepEqual(got, [[5, 491], [10, 991], [20, 1191]], 'at 15 it is not the leader, at 25 the target has not moved')
})

test('off with a retention of 0', () => {
  const c = new AutoCompactor('periodic', 0)
  assert.deepEqual(drive(c, 0, 10_000, (t) => t, () => true), [])
})
