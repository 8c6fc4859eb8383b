/**
 * A call's deadline (src/client/deadline.ts): no attempt begins inside the margin, and a pause
 * between rounds never runs into it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Deadline, MIN_ATTEMPT_MS } from '../../src/client/deadline.ts'

test('a long deadline: open, and a pause is the backoff asked for', () => {
  const d = new Deadline(10_000)
  assert.equal(d.open(), true)
  assert.ok(d.left() > 9_000 && d.left() <= 10_000)
  assert.equal(d.pause(100), 100)
})

test('a pause that would reach the deadline is cut short by the margin', () => {
  const d = new Deadline(10_000)
  const pause = d.pause(1_000_000)
  assert.ok(pause <= 10_000 - MIN_ATTEMPT_MS, `${pause}`)
  assert.ok(pause > 9_000, `${pause}`)
})

test('a timeout under twice the margin keeps half of it for the attempt', () => {
  const d = new Deadline(30)
  assert.equal(d.open(), true)
  assert.ok(d.pause(1_000) <= 15, `${d.pause(1_000)}`)
})

test('inside the margin: closed, and no pause', async () => {
  const d = new Deadline(MIN_ATTEMPT_MS * 2)
  await new Promise((r) => setTimeout(r, MIN_ATTEMPT_MS + 5))
  assert.equal(d.open(), false)
  assert.equal(d.pause(100), 0)
  const none = new Deadline(0)
  assert.equal(none.open(), false)
  assert.equal(none.pause(100), 0)
  const past = new Deadline(-5)
  assert.equal(past.open(), false)
  assert.equal(past.pause(100), 0)
})
