import { test } from 'node:test'
import assert from 'node:assert/strict'
import { admit, REMOVED_STATUS } from '../../src/mesh/peer-auth.ts'

const peers = new Set([2, 3])
const removed = new Set([4])
const check = (token: string | undefined, id: string | undefined): ReturnType<typeof admit> =>
  admit('secret', token, id, (x) => peers.has(x), (x) => removed.has(x))

test('peer handshake: a current peer with the token is admitted', () => {
  assert.deepEqual(check('secret', '2'), { ok: true, from: 2 })
})

test('peer handshake: a missing or wrong token is 401, a garbled ID 400, a stranger 403', () => {
  const statuses = [check(undefined, '2'), check('nope', '2'), check('secret', 'x'), check('secret', '9')].map((a) =>
    a.ok ? 200 : a.status,
  )
  assert.deepEqual(statuses, [401, 401, 400, 403])
})

test('peer handshake: a member removed from the cluster is told so with 410, not refused as a stranger', () => {
  const a = check('secret', '4')
  assert.equal(a.ok, false)
  assert.equal(a.ok ? 0 : a.status, REMOVED_STATUS)
  assert.match(a.ok ? '' : a.reason, /was removed from the cluster/)
})
