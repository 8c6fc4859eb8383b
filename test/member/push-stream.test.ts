/**
 * PushStream (src/member/push-stream.ts), the streamed response of watch and election observe:
 * items are taken only as the HTTP stream has room (at most 16 lines the reader has not read),
 * in push order; the answer is 499 when the client goes before the stream is opened, the 200
 * stream on open() or on the first line, or the answer given to fail(); closing runs onClose once;
 * a reader that keeps up gets a bounded number of lines per turn of the event loop.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LINES_PER_TURN, PushStream, type PushStreamHooks } from '../../src/member/push-stream.ts'

interface Recorder {
  readonly taken: number[]
  closes: number
}

function hooks(r: Recorder, openOnFirstLine: boolean): PushStreamHooks<number> {
  return {
    line: (n) => (n < 0 ? null : `{"n":${n}}\n`),
    taken: (n) => r.taken.push(n),
    onClose: () => r.closes++,
    openOnFirstLine,
  }
}

/** Reads `count` lines from a response body. */
async function readLines(response: Response, count: number): Promise<string[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (text.split('\n').length - 1 < count) {
    const { done, value } = await reader.read()
    assert.equal(done, false, `the stream ended after ${JSON.stringify(text)}`)
    text += decoder.decode(value)
  }
  reader.releaseLock()
  return text.split('\n').slice(0, count)
}

test('a slow reader holds items back: 16 lines buffered, the rest taken as it reads', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, false))
  push.push(...Array.from({ length: 40 }, (_, i) => i))
  assert.deepEqual(r.taken, Array.from({ length: 16 }, (_, i) => i))
  push.open()
  const response = await push.response
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type')?.startsWith('application/json'), true)
  const lines = await readLines(response, 20)
  assert.deepEqual(lines, Array.from({ length: 20 }, (_, i) => `{"n":${i}}`))
  await new Promise((res) => setImmediate(res))
  assert.deepEqual(r.taken, Array.from({ length: 20 + 16 }, (_, i) => i), 'read 20, 16 buffered again')
})

test('items without a line are taken in order and do not open the stream', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, true))
  push.push(-1, -2)
  assert.deepEqual(r.taken, [-1, -2])
  let settled = false
  void push.response.then(() => (settled = true))
  await new Promise((res) => setImmediate(res))
  assert.equal(settled, false)
  push.push(7)
  const response = await push.response
  assert.equal(response.status, 200)
  assert.deepEqual(await readLines(response, 1), ['{"n":7}'])
})

test('a client abort before the stream opens answers 499, closes once and takes nothing more', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const abort = new AbortController()
  const push = new PushStream(abort.signal, hooks(r, false))
  abort.abort()
  assert.equal(push.closed, true)
  assert.equal(r.closes, 1)
  assert.equal((await push.response).status, 499)
  push.push(1)
  push.open()
  assert.deepEqual(r.taken, [])
})

test('fail answers with its response instead of the stream and closes', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, false))
  push.fail(new Response('bad', { status: 400 }))
  const response = await push.response
  assert.equal(response.status, 400)
  assert.equal(await response.text(), 'bad')
  assert.equal(r.closes, 1)
})

test('the reader cancelling the body closes the stream', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, true))
  push.push(1)
  const response = await push.response
  await (response.body as ReadableStream<Uint8Array>).cancel()
  assert.equal(r.closes, 1)
  assert.equal(push.closed, true)
})

test('room() holds a producer back while more than 16 items wait, and lets it go as the reader reads or the stream closes', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, false))
  let empty = false
  void push.room().then(() => (empty = true))
  await new Promise((res) => setImmediate(res))
  assert.equal(empty, true, 'room at once while nothing waits')
  push.push(...Array.from({ length: 16 + 17 }, (_, i) => i))
  let roomy = false
  void push.room().then(() => (roomy = true))
  await new Promise((res) => setImmediate(res))
  assert.equal(roomy, false, '17 items wait in the queue')
  push.open()
  await readLines(await push.response, 1)
  await new Promise((res) => setImmediate(res))
  assert.equal(roomy, true, 'one line read: 16 wait')
  push.push(...Array.from({ length: 20 }, (_, i) => 100 + i))
  let released = false
  void push.room().then(() => (released = true))
  push.close()
  await new Promise((res) => setImmediate(res))
  assert.equal(released, true, 'closing releases the producer')
})

test('a reader that keeps up gets at most LINES_PER_TURN lines per turn of the event loop, in order, all of them in the end', async () => {
  const r: Recorder = { taken: [], closes: 0 }
  const push = new PushStream(new AbortController().signal, hooks(r, true))
  const ITEMS = 5 * LINES_PER_TURN
  push.push(...Array.from({ length: ITEMS }, (_, i) => i))
  const reader = ((await push.response).body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  let takenWhenQueuedRan: number | null = null
  void new Promise((res) => setImmediate(res)).then(() => (takenWhenQueuedRan = r.taken.length))
  while (text.split('\n').length - 1 < ITEMS) text += decoder.decode((await reader.read()).value)
  assert.deepEqual(text.split('\n').slice(0, ITEMS), Array.from({ length: ITEMS }, (_, i) => `{"n":${i}}`))
  assert.ok(takenWhenQueuedRan !== null && takenWhenQueuedRan <= LINES_PER_TURN, `${takenWhenQueuedRan} lines in the first turn`)
})
