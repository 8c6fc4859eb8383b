/**
 * The gateway as a Worker, for real: wrangler.toml's `workers/gateway.ts` under `wrangler dev`
 * (local workerd from the npm package, offline; wrangler-harness.ts), one wrangler per gateway.
 *
 * 1. The gateway suite (gateway.suite.ts) against three fake members, minus the tests listed
 *    below, each with the reason it cannot hold under workerd.
 * 2. In front of a real cluster (three `workers/member.ts` processes, test/e2e/cluster-harness.ts):
 *    put and range, a watch whose events arrive one by one, the API over WebSocket, and a leader
 *    killed with SIGKILL.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, call, eventually, LineStream, post, useCluster } from '../e2e/cluster-harness.ts'
import { WsClient, wsUrl } from '../e2e/ws-client.ts'
import { runGatewaySuite } from './gateway.suite.ts'
import { startWorkersGateway, type WorkersGateway } from './wrangler-harness.ts'

/** workerd's fetch fails a refused connection and a reset alike (`Network connection lost.`). */
const UNPROVABLE =
  'workerd reports a refused connection like a reset, so a write to a dead member is never proven unsent: ' +
  'the gateway answers "connection lost" (unknown outcome) instead of retrying it elsewhere'

runGatewaySuite('workers', startWorkersGateway, {
  timeoutMs: 90_000,
  notApplicable: {
    'the auth headers reach the member; other request headers do not':
      'spies on the gateway\'s fetch function, which cannot be handed to a Worker in another process',
    'the leader is killed: the gateway finds the new one and keeps serving': UNPROVABLE,
    'no member reachable: 503 etcdserver: unhealthy cluster (code 14), and /health says false': UNPROVABLE,
    'autoSync: a gateway told of one member learns the others from member/list and survives its loss':
      UNPROVABLE,
    'a member dying mid-watch: the answer ends with an etcd stream-error line, not a torn one':
      'under wrangler dev the error line arrives, but the answer ends only once the caller ends its body',
    "watch: a learner's refusal moves on to the next member at once, without a probe or a back-off":
      "under wrangler dev a member's answer to a request whose streamed body is still open (the learner's " +
      'immediate 503) does not reach the Worker until that body ends, so the gateway cannot read it and move on',
  },
})

describe('Worker gateway in front of a real cluster', { timeout: 90_000 }, () => {
  const cluster = useCluster({ size: 3 })
  let gw: WorkersGateway

  before(async () => {
    const endpoints = cluster.memberNames.map((n) => cluster.url(n))
    gw = await startWorkersGateway({ endpoints, requestTimeoutMs: 5000 })
  })
  after(async () => {
    await gw?.close()
  })

  test('put and range through the Worker', async () => {
    const put = await call(gw.url, '/v3/kv/put', { key: b64('wk/a'), value: b64('1') })
    assert.ok(Number(put.header.revision) > 1)
    const range = await call(gw.url, '/v3/kv/range', { key: b64('wk/a') })
    assert.equal(range.kvs[0].value, b64('1'))
    const serializable = await call(gw.url, '/v3/kv/range', { key: b64('wk/a'), serializable: true })
    assert.equal(serializable.count, '1')
  })

  test('a watch through the Worker: events arrive one by one while the stream stays open', async () => {
    const create = { create_request: { key: b64('ww/'), range_end: b64('ww0') } }
    const watch = await LineStream.open(gw.url, '/v3/watch', create)
    try {
      assert.equal(watch.status, 200)
      assert.equal((await watch.next()).result.created, true)
      for (const value of ['1', '2', '3']) {
        await call(gw.url, '/v3/kv/put', { key: b64('ww/k'), value: b64(value) })
        const message = await watch.next()
        assert.equal(message.result.events.length, 1)
        assert.equal(message.result.events[0].kv.value, b64(value))
      }
      await watch.expectQuiet(300)
    } finally {
      watch.close()
    }
  })

  test('the API over WebSocket through the Worker: a range, then a watch', async () => {
    await call(gw.url, '/v3/kv/put', { key: b64('wk/ws'), value: b64('1') })
    // A browser offers the token as a subprotocol and needs `Bearer` chosen back, or it fails the handshake.
    // The token reaches the member, which refuses it as etcd does while auth is off.
    const withToken = await WsClient.open(wsUrl(gw.url, '/v3/kv/range'), { protocols: ['Bearer', 'some-token'] })
    assert.equal(withToken.ws.protocol, 'Bearer')
    withToken.send({ key: b64('wk/ws') })
    assert.equal(JSON.parse(await withToken.nth(0)).message, 'etcdserver: invalid auth token')
    assert.equal(await withToken.closed, 1000)
    const range = await WsClient.open(wsUrl(gw.url, '/v3/kv/range'))
    range.send({ key: b64('wk/ws') })
    assert.equal(JSON.parse(await range.nth(0)).kvs[0].value, b64('1'))
    assert.equal(await range.closed, 1000)
    const watch = await WsClient.open(wsUrl(gw.url, '/v3/watch'))
    try {
      watch.send({ create_request: { key: b64('wk/ws') } })
      assert.equal(JSON.parse(await watch.nth(0)).result.created, true)
      await call(gw.url, '/v3/kv/put', { key: b64('wk/ws'), value: b64('2') })
      assert.equal(JSON.parse(await watch.nth(1)).result.events[0].kv.value, b64('2'))
    } finally {
      watch.close()
    }
  })

  test('the leader is killed: the Worker finds the new one and keeps serving', async (t) => {
    const leader = await cluster.leader()
    await call(gw.url, '/v3/kv/put', { key: b64('wl/before'), value: b64('x') })
    await cluster.kill(leader.name)
    // A write sent to the dead leader cannot be proven unsent under workerd: it may be answered
    // 503 "connection lost" (etcd's unknown outcome), and "no leader" until the election is over.
    const unknown: string[] = []
    await eventually('a write through the Worker succeeds after the kill', async () => {
      const answer = await post(gw.url, '/v3/kv/put', { key: b64('wl/after'), value: b64('y') })
      if (answer.status === 200) return
      assert.equal(answer.status, 503, answer.text)
      assert.equal(answer.json.code, 14, answer.text)
      unknown.push(answer.json.message)
      throw new Error(answer.text)
    }, { timeoutMs: 15_000, intervalMs: 100 })
    t.diagnostic(`answers before the first success: ${unknown.length === 0 ? 'none' : unknown.join('; ')}`)
    const lost = unknown.filter((m) => m.includes('connection lost'))
    assert.ok(lost.length <= 1, `answers: ${unknown.join('; ')}`)
    const next = await cluster.leader()
    assert.notEqual(next.name, leader.name)
    for (let i = 0; i < 5; i++) await call(gw.url, '/v3/kv/put', { key: b64(`wl/${i}`), value: b64('z') })
    const range = await call(gw.url, '/v3/kv/range', { key: b64('wl/'), range_end: b64('wl0') })
    assert.equal(range.count, '7')
    const health = await fetch(`${gw.url}/health`)
    assert.equal(await health.text(), '{"health":"true"}')
  })
})
