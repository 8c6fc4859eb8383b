/**
 * Outbox: writes pushed during one turn are made together once the turn's callbacks have run,
 * in the order pushed; one flush is scheduled at a time; a write pushed during a flush waits for
 * the next one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Outbox } from '../../src/api/outbox.ts'

test('answers pushed in one turn are held until the deferred flush, then written in order', () => {
  const deferred: Array<() => void> = []
  const outbox = new Outbox((fn) => deferred.push(fn))
  const written: string[] = []
  outbox.push(() => written.push('a'))
  outbox.push(() => written.push('b'))
  outbox.push(() => written.push('c'))
  assert.deepEqual(written, [], 'nothing written while the turn goes on')
  assert.equal(deferred.length, 1, 'one flush scheduled for the three')
  deferred.shift()?.()
  assert.deepEqual(written, ['a', 'b', 'c'])
})

test('an answer pushed while a flush runs goes out with the next flush', () => {
  const deferred: Array<() => void> = []
  const outbox = new Outbox((fn) => deferred.push(fn))
  const written: string[] = []
  outbox.push(() => {
    written.push('first')
    outbox.push(() => written.push('during'))
  })
  deferred.shift()?.()
  assert.deepEqual(written, ['first'])
  assert.equal(deferred.length, 1, 'a new flush was scheduled for it')
  deferred.shift()?.()
  assert.deepEqual(written, ['first', 'during'])
})

test('with the default scheduler, answers go out after the I/O callbacks of the turn', async () => {
  const outbox = new Outbox()
  const written: string[] = []
  outbox.push(() => written.push('answer'))
  await Promise.resolve()
  assert.deepEqual(written, [], 'not on the microtask queue')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(written, ['answer'])
})
