/**
 * Long walks over the history give the event loop back between pages, so a leader replaying a
 * watcher's history or hashing a large store keeps up its heartbeats: a watch catching up gets
 * one batch per macrotask, and HashKV hashes a page of rows per macrotask (and starts again when
 * a compaction lands between two pages, so its hash is of one state).
 */
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate } from 'node:timers/promises'
import { b64, putKeys, useSingleMember, type SingleMember } from '../auth/single-member.ts'
import { hashKv, hashKvInPages } from '../../src/member/maintenance-service.ts'

describe('history walks yield to the event loop', () => {
  let s: SingleMember
  const EVENTS = 6000
  const member = useSingleMember()

  before(async () => {
    s = member()
    await putKeys(s, EVENTS, (i) => `k/${i}`)
  })

  test('a watch replaying history gets at most about two batches before a macrotask queued at the first runs', async () => {
    const res = await s.app.request('/v3/watch', {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('k/'), range_end: b64('k0'), start_revision: 1 } }),
    })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    let events = 0
    let seenWhenQueuedRan: number | null = null
    while (events < EVENTS) {
      const chunk = await reader.read()
      assert.ok(!chunk.done, 'the stream ended early')
      text += decoder.decode(chunk.value, { stream: true })
      const lines = text.split('\n')
      text = lines.pop() as string
      for (const line of lines.filter((l) => l.trim() !== ''))
        events += (JSON.parse(line).result.events ?? []).length
      if (events > 0 && seenWhenQueuedRan === null) {
        seenWhenQueuedRan = -1
        void setImmediate().then(() => void (seenWhenQueuedRan = events))
      }
    }
    await reader.cancel()
    assert.equal(events, EVENTS)
    assert.ok(seenWhenQueuedRan !== null && seenWhenQueuedRan > 0, 'the queued macrotask ran during the replay')
    assert.ok(seenWhenQueuedRan <= 2000, `${seenWhenQueuedRan} events were sent before it ran`)
  })

  test('HashKV over pages equals HashKV in one go, and a compaction between pages starts it again', async () => {
    const { actor } = s.member
    const whole = await hashKv(s.context, { revision: 0 })
    assert.equal(whole.hash, actor.store.hashKv(0).hash)
    const compactAt = actor.store.currentRevision() - 5
    const compacting = s.call('/v3/kv/compaction', { revision: compactAt })
    // A row per page: thousands of yields, the compaction lands during them.
    const answer = await hashKvInPages(s.context, { revision: 0 }, 1)
    const compacted = await compacting
    assert.equal(compacted.status, 200, compacted.text)
    assert.equal(answer.compactRevision, compactAt, 'the hash is of the state after the compaction')
    assert.equal(answer.hash, actor.store.hashKv(0).hash)
  })
})
