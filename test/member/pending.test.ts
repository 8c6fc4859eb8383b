import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Clock } from '../../src/member/clock.ts'
import { Pending } from '../../src/member/pending.ts'

/** Virtual time: `advance` runs the timers that come due, in deadline order. */
class ManualClock implements Clock {
  #now = 0
  #timers: { at: number; fn: () => void; live: boolean }[] = []
  now(): number {
    return this.#now
  }
  after(ms: number, fn: () => void): () => void {
    const t = { at: this.#now + ms, fn, live: true }
    this.#timers.push(t)
    return () => {
      t.live = false
    }
  }
  defer(fn: () => void): void {
    void this.after(0, fn)
  }
  get armed(): number {
    return this.#timers.filter((t) => t.live).length
  }
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.#now = due.at
      due.live = false
      due.fn()
    }
    this.#now = end
  }
}

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    (v) => `resolved ${String(v)}`,
    (e: Error) => `rejected ${e.message}`,
  )
}

test('each waiter times out at its own deadline, not before; settled ones never do', async () => {
  const clock = new ManualClock()
  const pending = new Pending<number>(clock, 100)
  const settled = new Map<string, string>()
  const track = (key: string): void => {
    void outcome(pending.wait(key, () => new Error(`timeout ${key}`))).then((o) => settled.set(key, o))
  }
  track('a')
  clock.advance(30)
  track('b')
  clock.advance(30)
  track('c')
  assert.equal(pending.resolve('a', 1), true)
  clock.advance(39) // t=99: nothing is due yet
  await new Promise((r) => setImmediate(r))
  assert.deepEqual([...settled], [['a', 'resolved 1']])
  clock.advance(31) // t=130: b is due (deadline 130), c is not (160)
  await new Promise((r) => setImmediate(r))
  assert.equal(settled.get('b'), 'rejected timeout b')
  assert.equal(settled.has('c'), false)
  assert.equal(pending.has('c'), true)
  clock.advance(30)
  await new Promise((r) => setImmediate(r))
  assert.equal(settled.get('c'), 'rejected timeout c')
  assert.equal(pending.size, 0)
  assert.equal(pending.resolve('b', 2), false, 'a timed-out waiter stays settled')
})

test('one timer at a time, and none once nothing waits', async () => {
  const clock = new ManualClock()
  const pending = new Pending<number>(clock, 100)
  const waits = Array.from({ length: 50 }, (_, i) => pending.wait(`k${i}`, () => new Error('timeout')))
  assert.equal(clock.armed, 1)
  for (let i = 0; i < 50; i++) pending.resolve(`k${i}`, i)
  assert.deepEqual(await Promise.all(waits), Array.from({ length: 50 }, (_, i) => i))
  assert.equal(clock.armed, 0)
  const late = outcome(pending.wait('x', () => new Error('timeout x')))
  pending.rejectAll(new Error('stopped'))
  assert.equal(await late, 'rejected stopped')
  assert.equal(clock.armed, 0)
})
