import { test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, startSingleMember, type SingleMember } from '../auth/single-member.ts'
import { parsePrometheus } from '../../src/gateway/ui-metrics.ts'
import { MemberMetrics } from '../../src/member/index.ts'

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

test("etcd's gRPC server counters: each call as its gRPC method and code; a stream handled when it ends", async () => {
  let solo: SingleMember | null = null
  const metrics = new MemberMetrics(() => solo?.member ?? null, { server: '3.4.23', cluster: '3.4.0' })
  solo = await startSingleMember({ onRequest: metrics.observeRequest, onStreamEnd: metrics.streamEnded })
  try {
    await solo.call('/v3/kv/put', { key: b64('a'), value: b64('1') })
    await solo.call('/v3/kv/put', { key: b64('b'), value: b64('2') })
    await solo.call('/v3/kv/range', {})
    await solo.call('/v3/lease/revoke', { ID: '99' })
    assert.equal((await solo.app.request('/v3/kv/range')).status, 405)
    const watch = await solo.app.request('/v3/watch', { method: 'POST', body: JSON.stringify({ create_request: { key: b64('a') } }) })
    const reader = (watch.body as ReadableStream<Uint8Array>).getReader()
    assert.match(new TextDecoder().decode((await reader.read()).value), /"created":true/)
    const counted = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {}
      for (const s of parsePrometheus((await metrics.render()).body)) {
        if (!s.name.startsWith('grpc_server_') || s.value === 0) continue
        const l = s.labels
        out[`${s.name.slice(12)} ${l.grpc_type} ${l.grpc_service}/${l.grpc_method}${l.grpc_code === undefined ? '' : ` ${l.grpc_code}`}`] = s.value
      }
      return out
    }
    const open = {
      'started_total unary etcdserverpb.KV/Put': 2,
      'started_total unary etcdserverpb.KV/Range': 1,
      'started_total unary etcdserverpb.Lease/LeaseRevoke': 1,
      'started_total bidi_stream etcdserverpb.Watch/Watch': 1,
      'handled_total unary etcdserverpb.KV/Put OK': 2,
      'handled_total unary etcdserverpb.KV/Range InvalidArgument': 1,
      'handled_total unary etcdserverpb.Lease/LeaseRevoke NotFound': 1,
    }
    assert.deepEqual(await counted(), open)
    await reader.cancel()
    assert.deepEqual(await counted(), { ...open, 'handled_total bidi_stream etcdserverpb.Watch/Watch Canceled': 1 })
  } finally {
    await solo.stop()
  }
})

test('the request latency histogram counts each call under its path and status, each bucket cumulative', async () => {
  const metrics = new MemberMetrics(() => null, { server: '3.4.23', cluster: '3.4.0' })
  metrics.observeRequest('/v3/kv/put', 200, 0.4, 0)
  metrics.observeRequest('/v3/kv/put', 200, 30, 0)
  metrics.observeRequest('/v3/kv/put', 400, 1, 3)
  metrics.observeRequest('unknown', 404, 1, null)
  const samples = parsePrometheus((await metrics.render()).body).filter((s) => s.name.startsWith('edgecd_http_request_duration_seconds'))
  const of = (name: string, labels: Record<string, string>): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
  assert.equal(of('edgecd_http_request_duration_seconds_count', { path: '/v3/kv/put', code: '200' }), 2)
  assert.equal(of('edgecd_http_request_duration_seconds_count', { path: '/v3/kv/put', code: '400' }), 1)
  assert.equal(of('edgecd_http_request_duration_seconds_count', { path: 'unknown', code: '404' }), 1)
  assert.equal(of('edgecd_http_request_duration_seconds_bucket', { path: '/v3/kv/put', code: '200', le: '0.0005' }), 1)
  assert.equal(of('edgecd_http_request_duration_seconds_bucket', { path: '/v3/kv/put', code: '200', le: '0.025' }), 1)
  assert.equal(of('edgecd_http_request_duration_seconds_bucket', { path: '/v3/kv/put', code: '200', le: '0.05' }), 2)
  assert.ok(Math.abs((of('edgecd_http_request_duration_seconds_sum', { path: '/v3/kv/put', code: '200' }) ?? 0) - 0.0304) < 1e-9)
})

test("etcd's gRPC server counters list each method of etcd's services at 0 from the start, with every code", async () => {
  const metrics = new MemberMetrics(() => null, { server: '3.4.23', cluster: '3.4.0' })
  const samples = parsePrometheus((await metrics.render()).body)
  const started = samples.filter((s) => s.name === 'grpc_server_started_total')
  assert.ok(started.every((s) => s.value === 0))
  // The methods a real etcd 3.4 lists on a fresh start (its health service aside), and AuthStatus (etcd 3.5's).
  assert.deepEqual(
    started.map((s) => `${s.labels.grpc_type} ${s.labels.grpc_service}/${s.labels.grpc_method}`).sort(),
    [
      ...['Compact', 'DeleteRange', 'Put', 'Range', 'Txn'].map((m) => `unary etcdserverpb.KV/${m}`),
      'bidi_stream etcdserverpb.Watch/Watch',
      ...['LeaseGrant', 'LeaseLeases', 'LeaseRevoke', 'LeaseTimeToLive'].map((m) => `unary etcdserverpb.Lease/${m}`),
      'bidi_stream etcdserverpb.Lease/LeaseKeepAlive',
      ...['MemberAdd', 'MemberList', 'MemberPromote', 'MemberRemove', 'MemberUpdate'].map((m) => `unary etcdserverpb.Cluster/${m}`),
      ...['Alarm', 'Defragment', 'Hash', 'HashKV', 'MoveLeader', 'Status'].map((m) => `unary etcdserverpb.Maintenance/${m}`),
      'server_stream etcdserverpb.Maintenance/Snapshot',
      ...['AuthDisable', 'AuthEnable', 'AuthStatus', 'Authenticate', 'RoleAdd', 'RoleDelete', 'RoleGet', 'RoleGrantPermission', 'RoleList',
        'RoleRevokePermission', 'UserAdd', 'UserChangePassword', 'UserDelete', 'UserGet', 'UserGrantRole', 'UserList',
        'UserRevokeRole'].map((m) => `unary etcdserverpb.Auth/${m}`),
    ].sort(),
  )
  const handled = samples.filter((s) => s.name === 'grpc_server_handled_total')
  assert.equal(handled.length, started.length * 17)
  assert.ok(handled.every((s) => s.value === 0))
  assert.equal(handled.filter((s) => s.labels.grpc_method === 'Put').map((s) => s.labels.grpc_code).sort().join(' '),
    'Aborted AlreadyExists Canceled DataLoss DeadlineExceeded FailedPrecondition Internal InvalidArgument NotFound OK OutOfRange PermissionDenied ResourceExhausted Unauthenticated Unavailable Unimplemented Unknown')
})

test("etcd's backend commit histogram: one observation per store batch a committed put is applied in", async () => {
  let solo: SingleMember | null = null
  const metrics = new MemberMetrics(() => solo?.member ?? null, { server: '3.4.23', cluster: '3.4.0' })
  const commits = async (): Promise<number> => {
    const count = parsePrometheus((await metrics.render()).body).find((s) => s.name === 'etcd_disk_backend_commit_duration_seconds_count')
    return count?.value ?? 0
  }
  solo = await startSingleMember({ events: metrics.events() })
  try {
    const before = await commits()
    for (const k of ['a', 'b', 'c']) await solo.call('/v3/kv/put', { key: b64(k), value: b64('1') })
    // Each put waits for its apply, so each went in a batch of its own (other entries, such as
    // the member's own, may come in batches of their own too).
    const batches = (await commits()) - before
    assert.ok(batches >= 3, `${batches} store batches for 3 puts`)
    const body = (await metrics.render()).body
    assert.match(body, /etcd_disk_backend_commit_duration_seconds_bucket\{le="0\.001"\}/)
    assert.match(body, /etcd_disk_backend_commit_duration_seconds_bucket\{le="8\.192"\}/)
  } finally {
    await solo.stop()
  }
})
