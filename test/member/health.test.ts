/**
 * `/health` as etcd 3.4.23 answers it (observed): 200 and `{"health":"true"}` as text; with an
 * alarm raised, 503 and `{"health":"false"}` and a newline (Go's http.Error); `?exclude=NOSPACE`
 * (repeatable) leaves out the alarms it names.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startSingleMember } from '../auth/single-member.ts'

test('/health: alarms make it false unless excluded by name', { timeout: 30_000 }, async (t) => {
  const s = await startSingleMember()
  t.after(() => s.stop())
  const health = async (query = ''): Promise<[number, string, string | null]> => {
    const res = await s.app.fetch(new Request(`http://solo/health${query}`))
    return [res.status, await res.text(), res.headers.get('content-type')]
  }
  assert.deepEqual(await health(), [200, '{"health":"true"}', 'text/plain; charset=utf-8'])
  const memberId = (await s.call('/v3/maintenance/status', {})).json.header.member_id
  for (const alarm of ['NOSPACE', 'CORRUPT']) {
    const raised = await s.call('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: memberId, alarm })
    assert.equal(raised.status, 200, raised.text)
  }
  assert.deepEqual(await health(), [503, '{"health":"false"}\n', 'text/plain; charset=utf-8'])
  assert.equal((await health('?exclude=NOSPACE'))[0], 503, 'CORRUPT is still raised')
  assert.deepEqual((await health('?exclude=NOSPACE&exclude=CORRUPT')).slice(0, 2), [200, '{"health":"true"}'])
  assert.equal((await health('?exclude=nospace&exclude=CORRUPT'))[0], 503, 'names are exact, as etcd compares them')
})
