/**
 * A watch stream with thousands of watchers gives the event loop back while it answers them, so
 * a member (a leader: its heartbeats) keeps serving everyone else: the answers to a body of
 * creates, and an event fanned out to every watcher of the stream, go out a bounded number of
 * lines per macrotask (push-stream.ts). And a body whose first chunk holds many creates is
 * answered at all: the stream opens before its answers wait for a reader.
 */
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate } from 'node:timers/promises'
import { b64, useSingleMember, type SingleMember } from '../auth/single-member.ts'
import { LINES_PER_TURN } from '../../src/member/push-stream.ts'

/** A request body of `count` creates on `key`, as HTTP delivers a large one: in 64 KiB chunks. */
function creates(key: string, count: number): ReadableStream<Uint8Array> {
  const line = `${JSON.stringify({ create_request: { key: b64(key) } })}\n`
  const bytes = new TextEncoder().encode(line.repeat(count))
  let at = 0
  return new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (at >= bytes.length) return c.close()
      c.enqueue(bytes.subarray(at, at + 65536))
      at += 65536
    },
  })
}

/** Reads answer lines until `wanted` of them pass `count`; says how many had when a macrotask queued at the first ran. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  wanted: number,
  count: (line: string) => boolean,
): Promise<{ seen: number; seenWhenQueuedRan: number | null }> {
  const decoder = new TextDecoder()
  let text = ''
  let seen = 0
  let seenWhenQueuedRan: number | null = null
  let queued = false
  while (seen < wanted) {
    const chunk = await reader.read()
    assert.ok(!chunk.done, `the stream ended after ${seen} answers`)
    text += decoder.decode(chunk.value, { stream: true })
    const lines = text.split('\n')
    text = lines.pop() as string
    seen += lines.filter(count).length
    if (seen > 0 && !queued) {
      queued = true
      void setImmediate().then(() => void (seenWhenQueuedRan = seen))
    }
  }
  return { seen, seenWhenQueuedRan }
}

describe('watch streams with many watchers yield to the event loop', () => {
  const member = useSingleMember()
  let s: SingleMember

  before(() => {
    s = member()
  })

  test('a first chunk of 300 creates gets its 300 answers', async () => {
    const line = `${JSON.stringify({ create_request: { key: b64('one/k') } })}\n`
    const res = await Promise.race([
      s.app.request('/v3/watch', { method: 'POST', body: line.repeat(300) }),
      setImmediate().then(() => new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 5 s')), 5000))),
    ])
    assert.equal(res.status, 200)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const { seen } = await readUntil(reader, 300, (l) => l.includes('"created":true'))
    assert.equal(seen, 300)
    await reader.cancel()
  })

  test('2,000 creates and an event for each of the 2,000 watchers are answered over many macrotasks', async () => {
    const WATCHERS = 2000
    const res = await s.app.request('/v3/watch', { method: 'POST', body: creates('many/k', WATCHERS), duplex: 'half' } as RequestInit)
    assert.equal(res.status, 200)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const created = await readUntil(reader, WATCHERS, (l) => l.includes('"created":true'))
    assert.equal(created.seen, WATCHERS)
    assert.ok(created.seenWhenQueuedRan !== null, 'the queued macrotask ran')
    assert.ok(created.seenWhenQueuedRan <= 4 * LINES_PER_TURN, `${created.seenWhenQueuedRan} creates were answered before it ran`)

    const put = s.call('/v3/kv/put', { key: b64('many/k'), value: b64('v') })
    const events = await readUntil(reader, WATCHERS, (l) => l.includes('"events"'))
    assert.equal((await put).status, 200)
    assert.equal(events.seen, WATCHERS)
    assert.ok(events.seenWhenQueuedRan !== null, 'the queued macrotask ran')
    assert.ok(events.seenWhenQueuedRan <= 4 * LINES_PER_TURN, `${events.seenWhenQueuedRan} events went out before it ran`)
    await reader.cancel()
  })
})
