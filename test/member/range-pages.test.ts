/**
 * A range of many keys is read a page at a time with the event loop given back between pages
 * (kv-service.ts), so it does not hold a member's loop, and a leader's heartbeats, for the whole
 * read; its answer is the one read at once, and its JSON (its protobuf), written (encoded) a
 * slice of kvs at a time (app.ts), is the JSON (protobuf) written at once. A compaction past the revision being read, landing
 * between pages, has the range read again at a newer revision, never answer with rows missing.
 */
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate } from 'node:timers/promises'
import { b64, putKeys, useSingleMember, type SingleMember } from '../auth/single-member.ts'
import { encodeResponse, withHeader, type AnyEndpoint } from '../../src/api/index.ts'
import { kvRange } from '../../src/api/kv-endpoints.ts'
import { encodeProto } from '../../src/api/proto-wire.ts'
import { KVS_PER_SLICE, serveDecoded } from '../../src/member/app.ts'
import { UNKNOWN_CONNECTION } from '../../src/member/auth-gate.ts'
import { range, RANGE_PAGE_ROWS, rangeInPages } from '../../src/member/kv-service.ts'
import { headerContext } from '../../src/member/member-context.ts'
import type { RangeRequest } from '../../src/mvcc/index.ts'

const KEYS = 3 * RANGE_PAGE_ROWS
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

function all(o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: bytes('k/'), rangeEnd: bytes('k0'), limit: 0, revision: 0, sortOrder: 'NONE', sortTarget: 'KEY', serializable: true,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0, ...o,
  }
}

describe('ranges of many keys are read in pages', () => {
  const member = useSingleMember()
  let s: SingleMember

  before(async () => {
    s = member()
    await putKeys(s, KEYS, (i) => `k/${String(i).padStart(6, '0')}`)
  })

  test('a range over three pages yields between them and answers as the store does at once', async () => {
    for (const sortOrder of ['ASCEND', 'DESCEND'] as const) {
      let answered = false
      const reading = range(s.context, all({ sortOrder })).then((r) => {
        answered = true
        return r
      })
      await setImmediate()
      assert.equal(answered, false, 'a macrotask ran before the answer')
      const r = await reading
      assert.equal(r.kvs.length, KEYS)
      assert.deepEqual(r, s.member.actor.store.range(all({ sortOrder })))
    }
  })

  test('the JSON of a range answer of many kvs, written a slice at a time, is the JSON written at once', async () => {
    assert.ok(KEYS > 2 * KVS_PER_SLICE, 'three slices at least')
    const res = await s.app.request('/v3/kv/range', { method: 'POST', body: JSON.stringify({ key: b64('k/'), range_end: b64('k0'), serializable: true }) })
    assert.equal(res.status, 200)
    assert.equal(await res.text(), encodeResponse(kvRange, s.member.actor.store.range(all()), headerContext(s.context)))
  })

  test('the protobuf of a range answer of many kvs, encoded a slice at a time, is the protobuf encoded at once', async () => {
    const answer = await serveDecoded(s.context, kvRange, all(), { get: () => null }, UNKNOWN_CONNECTION)
    const once = withHeader(kvRange as AnyEndpoint, s.member.actor.store.range(all()), headerContext(s.context))
    assert.deepEqual(encodeProto(kvRange.response, answer as typeof once), encodeProto(kvRange.response, once))
  })

  test('a compaction past the revision read, between pages, has the range read again', async () => {
    const first = s.member.actor.store.currentRevision()
    const reading = rangeInPages(s.context, all(), 10)
    const put = await s.call('/v3/kv/put', { key: b64('k/000001'), value: b64('new') })
    assert.equal(put.status, 200, put.text)
    const compacted = await s.call('/v3/kv/compaction', { revision: s.member.actor.store.currentRevision(), physical: true })
    assert.equal(compacted.status, 200, compacted.text)
    const r = await reading
    assert.ok(r.header.revision > first, `read again at ${r.header.revision}, after ${first}`)
    assert.equal(r.kvs.length, KEYS)
    assert.equal(new TextDecoder().decode(r.kvs[1]?.value), 'new')
  })
})
