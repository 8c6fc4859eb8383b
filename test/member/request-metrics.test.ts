import { test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember } from '../auth/single-member.ts'

test('every API request is reported by endpoint and status; unknown paths share one label', async () => {
  const seen: Array<[string, number]> = []
  const solo = await startSingleMember({ onRequest: (path, status, ms) => {
    assert.ok(ms >= 0)
    seen.push([path, status])
  } })
  try {
    await solo.call('/v3/kv/put', { key: b64('a'), value: b64('1') })
    await solo.call('/v3beta/kv/range', { key: b64('a') })
    await solo.call('/v3/kv/range', {})
    await solo.call('/v3/no/such/path/123', {})
    assert.deepEqual(seen, [
      ['/v3/kv/put', 200],
      ['/v3/kv/range', 200],
      ['/v3/kv/range', 400],
      ['unknown', 404],
    ])
  } finally {
    await solo.stop()
  }
})
