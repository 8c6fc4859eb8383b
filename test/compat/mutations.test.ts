/** The differential check's mutated requests: only KV paths, lease references kept, each a real change. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Rng } from '../chaos/prng.ts'
import { MUTABLE_PATHS, mutateRequest } from './mutations.ts'
import type { GeneratedRequest } from './requests.ts'

const put: GeneratedRequest = { path: '/v3/kv/put', body: { key: 'YQ==', value: 'dg==', lease: { $lease: 1 }, prev_kv: true } }
const txn: GeneratedRequest = {
  path: '/v3/kv/txn',
  body: { compare: [{ key: 'YQ==', target: 'VERSION', result: 'EQUAL', version: 1 }], success: [{ request_range: { key: 'YQ==' } }] },
}

test('a KV request comes back changed: a field, or its text; lease references survive field mutations', () => {
  const rng = new Rng(7)
  let fields = 0
  let texts = 0
  for (let i = 0; i < 300; i++) {
    for (const request of [put, txn]) {
      const mutated = mutateRequest(rng, request)
      assert.equal(mutated.path, request.path)
      if (mutated.raw !== undefined) {
        texts++
        assert.notEqual(mutated.raw, JSON.stringify(request.body))
        assert.ok(!mutated.raw.includes('$lease'), 'a body with lease references is never sent as text')
      } else {
        fields++
        assert.notDeepEqual(mutated.body, request.body)
        if (request === put) assert.deepEqual((mutated.body as { lease?: unknown }).lease ?? { $lease: 1 }, { $lease: 1 })
      }
    }
  }
  assert.ok(fields > 100 && texts > 50, `both kinds drawn (${fields} field, ${texts} text)`)
  assert.deepEqual(put.body, { key: 'YQ==', value: 'dg==', lease: { $lease: 1 }, prev_kv: true }, 'the original is not touched')
})

test('other paths, and raw requests, are left as they are', () => {
  const rng = new Rng(8)
  for (const path of ['/v3/lease/grant', '/v3/auth/role/grant', '/v3/lock/lock', '/v3/election/campaign']) {
    assert.equal(MUTABLE_PATHS.has(path), false)
    const request: GeneratedRequest = { path, body: { name: 'YQ==', TTL: 60 } }
    assert.equal(mutateRequest(rng, request), request)
  }
  const raw: GeneratedRequest = { path: '/v3/kv/put', body: null, raw: '{"key":' }
  assert.equal(mutateRequest(rng, raw), raw)
})
