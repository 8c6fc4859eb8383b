/**
 * etcd 3.4's `PUT /config/local/log`, answered as etcd 3.4.23 answers it (observed): capnslog's
 * level names in any case set the member's level (204); a body that is no such JSON object, or a
 * level it does not know, is a 400 with etcd's message; any other method is 405 with Allow: PUT.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startSingleMember } from '../auth/single-member.ts'
import type { RuntimeLogLevel } from '../../src/member/log-level-http.ts'

test('PUT /config/local/log sets the log level as etcd 3.4 reads it', { timeout: 30_000 }, async (t) => {
  const set: RuntimeLogLevel[] = []
  const s = await startSingleMember({ setLogLevel: (level) => set.push(level) })
  t.after(() => s.stop())
  const put = async (body: string, method = 'PUT'): Promise<[number, string, string | null]> => {
    const res = await s.app.request('/config/local/log', method === 'GET' ? { method } : { method, body })
    return [res.status, await res.text(), res.headers.get('allow')]
  }
  const ok: Array<[string, RuntimeLogLevel]> = [
    ['{"Level":"DEBUG"}', 'debug'],
    ['{"Level":"debug"}', 'debug'],
    ['{"level":"C"}', 'fatal'],
    ['{"Level":"5","x":1}', 'trace'],
    ['{"Level":"warning"} trailing', 'warn'],
    ['{"Level":"NOTICE"}', 'info'],
    ['{"Level":"0"}', 'error'],
  ]
  for (const [body, level] of ok) {
    assert.deepEqual(await put(body), [204, '', null], body)
    assert.equal(set.at(-1), level, body)
  }
  const bad: Array<[string, string]> = [
    ['{"Level":"bogus"}', '{"message":"Invalid log level bogus"}'],
    ['{}', '{"message":"Invalid log level "}'],
    ['null', '{"message":"Invalid log level "}'],
    ['xx', '{"message":"Invalid json body"}'],
    ['', '{"message":"Invalid json body"}'],
    ['{"Level":4}', '{"message":"Invalid json body"}'],
    ['["DEBUG"]', '{"message":"Invalid json body"}'],
  ]
  for (const [body, message] of bad) assert.deepEqual(await put(body), [400, message, null], body)
  assert.equal(set.length, ok.length, 'no bad request set a level')
  assert.deepEqual(await put('', 'GET'), [405, 'Method Not Allowed\n', 'PUT'])
  assert.deepEqual(await put('{"Level":"DEBUG"}', 'POST'), [405, 'Method Not Allowed\n', 'PUT'])
})
