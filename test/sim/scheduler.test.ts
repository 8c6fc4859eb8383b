/**
 * Virtual time: events in (time, seq) order, cancellation, limits.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Scheduler } from './scheduler.ts'

test('events run in (time, seq) order and advance virtual time', () => {
  const s = new Scheduler()
  const log: string[] = []
  s.at(10, 'b', () => log.push(`b@${s.now}`))
  s.at(5, 'a', () => log.push(`a@${s.now}`))
  s.at(10, 'c', () => log.push(`c@${s.now}`))
  s.after(0, 'z', () => log.push(`z@${s.now}`))
  while (s.step() !== null);
  assert.deepEqual(log, ['z@0', 'a@5', 'b@10', 'c@10'])
  assert.equal(s.now, 10)
  assert.equal(s.ran, 4)
})

test('events scheduled from inside an event at the same time run after it, in order', () => {
  const s = new Scheduler()
  const log: number[] = []
  s.at(1, 'x', () => {
    log.push(1)
    s.after(0, 'y', () => log.push(3))
    s.after(0, 'y', () => log.push(4))
  })
  s.at(1, 'x', () => log.push(2))
  while (s.step() !== null);
  assert.deepEqual(log, [1, 2, 3, 4])
})

test('cancelled events do not run; step stops at the limit; the past is refused', () => {
  const s = new Scheduler()
  let ran = 0
  const t = s.at(3, 'x', () => ran++)
  s.at(4, 'y', () => ran++)
  s.at(9, 'late', () => ran++)
  t.cancel()
  while (s.step(5) !== null);
  assert.equal(ran, 1)
  assert.equal(s.now, 4)
  assert.equal(s.peekTime(), 9)
  assert.throws(() => s.at(2, 'past', () => {}))
})

test('a large random schedule comes out sorted (heap property)', () => {
  const s = new Scheduler()
  const times: number[] = []
  let x = 12345
  for (let i = 0; i < 500; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    const t = x % 1000
    s.at(t, 'r', () => times.push(t))
  }
  while (s.step() !== null);
  assert.deepEqual(times, [...times].sort((a, b) => a - b))
})
