/**
 * The JSON API over WebSocket, as etcd serves it (its gateway behind grpc-websocket-proxy), on a
 * follower, the leader and the gateway: a unary call is one message each way, then the socket
 * closes; a watch or a keepalive is a stream of messages both ways; errors are etcd's error
 * bodies as messages; a token comes as `Sec-WebSocket-Protocol: Bearer, <token>` or a `token`
 * cookie; closing the socket ends the watch on the member.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { b64, call, eventually, unb64, useCluster } from './cluster-harness.ts'
import { WsClient, wsUrl } from './ws-client.ts'

/** One unary call over a WebSocket: the messages sent, the one answer, and the socket closed after it. */
async function unary(base: string, path: string, messages: readonly string[], options?: { protocols?: string[]; cookie?: string }): Promise<string> {
  const client = await WsClient.open(wsUrl(base, path), options)
  for (const m of messages) client.send(m)
  const answer = await client.nth(0)
  assert.equal(await client.closed, 1000, 'the socket closes once the answer is sent')
  assert.equal(client.messages.length, 1)
  return answer
}

function withoutHeader(text: string): unknown {
  const { header: _header, ...rest } = JSON.parse(text)
  return rest
}

describe('the JSON API over WebSocket', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true })

  test('a unary call is one message each way, the same answer as over HTTP; errors are etcd bodies', async () => {
    await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('ws/a'), value: b64('1') })
    for (const [where, url] of await cluster.clientEndpoints()) {
      const overHttp = await call(url, '/v3/kv/range', { key: b64('ws/a'), serializable: false })
      const answer = await unary(url, '/v3/kv/range', [JSON.stringify({ key: b64('ws/a') })])
      assert.deepEqual(withoutHeader(answer), withoutHeader(JSON.stringify(overHttp)), where)
      // A value split over two messages is read on (each message is followed by a newline).
      const split = await unary(url, '/v3beta/kv/range', ['{"key":', `"${b64('ws/a')}"}`])
      assert.equal(unb64(JSON.parse(split).kvs[0].value), '1', where)
      const bad = await unary(url, '/v3/kv/range', ['garbage'])
      const message = "invalid character 'g' looking for beginning of value"
      assert.equal(bad, JSON.stringify({ error: message, message, code: 3 }), where)
      const missing = await unary(url, '/v3/lease/revoke', ['{"ID":"5"}'])
      assert.equal(JSON.parse(missing).error, 'etcdserver: requested lease not found', where)
      // Answered as the socket opens, before any message, as etcd.
      const unknown = await WsClient.open(wsUrl(url, '/v3/kv/nonexistent'))
      assert.equal(await unknown.nth(0), 'Not Found', where)
      assert.equal(await unknown.closed, 1000, where)
      const other = await WsClient.open(wsUrl(url, '/v3/kv/range'), { protocols: ['chat'] }).then(
        () => 'opened',
        (err: Error) => err.message,
      )
      assert.match(other, /no subprotocol/, `${where}: only Bearer is chosen back, as etcd`)
    }
  })

  test('a watch streams both ways; closing the socket ends it on the member', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const watchers = async (): Promise<number> => {
      const text = await (await fetch(`${cluster.url(follower)}/metrics`)).text()
      return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1])
    }
    const before = await watchers()
    for (const [where, url] of [[`follower ${follower}`, cluster.url(follower)], ['gateway', cluster.gatewayUrl]] as const) {
      const client = await WsClient.open(wsUrl(url, '/v3/watch'))
      client.send({ create_request: { key: b64('ws/w'), range_end: b64('ws/x') } })
      assert.equal(JSON.parse(await client.nth(0)).result.created, true, where)
      client.send({ create_request: { key: b64('ws/other') } })
      const second = JSON.parse(await client.nth(1)).result
      assert.equal(second.created, true, where)
      assert.equal(second.watch_id, '1', where)
      const put = await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('ws/w1'), value: b64(where) })
      const event = JSON.parse(await client.nth(2)).result
      assert.equal(event.header.revision, put.header.revision, where)
      assert.equal(unb64(event.events[0].kv.value), where)
      client.send({ cancel_request: { watch_id: '1' } })
      assert.equal(JSON.parse(await client.nth(3)).result.canceled, true, where)
      if (where !== 'gateway') assert.equal(await watchers(), before + 1, 'one watcher left on the member')
      client.close()
      assert.equal(await client.closed, 1005, where)
    }
    await eventually('the closed watches are gone from the member', async () => {
      assert.equal(await watchers(), before)
    })
  })

  test('a lease keepalive streams one answer per message', async () => {
    const lease = await call(cluster.gatewayUrl, '/v3/lease/grant', { TTL: 30 })
    for (const [where, url] of await cluster.clientEndpoints()) {
      const client = await WsClient.open(wsUrl(url, '/v3/lease/keepalive'))
      client.send({ ID: lease.ID })
      client.send({ ID: lease.ID })
      for (const n of [0, 1]) {
        const answer = JSON.parse(await client.nth(n)).result
        assert.equal(answer.ID, lease.ID, where)
        assert.equal(answer.TTL, '30', where)
      }
      client.close()
      await client.closed
    }
  })

  test('with auth on, the token comes as a Bearer subprotocol or a token cookie', async () => {
    const gw = cluster.gatewayUrl
    await call(gw, '/v3/auth/user/add', { name: 'root', password: 'pw' })
    await call(gw, '/v3/auth/user/grant', { user: 'root', role: 'root' })
    await call(gw, '/v3/auth/enable', {})
    const { token } = await call(gw, '/v3/auth/authenticate', { name: 'root', password: 'pw' })
    try {
      const range = JSON.stringify({ key: b64('ws/a') })
      for (const [where, url] of await cluster.clientEndpoints()) {
        const refused = JSON.parse(await unary(url, '/v3/kv/range', [range]))
        assert.equal(refused.error, 'etcdserver: user name is empty', where)
        const client = await WsClient.open(wsUrl(url, '/v3/kv/range'), { protocols: ['Bearer', token] })
        assert.equal(client.ws.protocol, 'Bearer', `${where}: the server answers with the Bearer subprotocol`)
        client.send(range)
        assert.equal(JSON.parse(await client.nth(0)).count, '1', where)
        const byCookie = JSON.parse(await unary(url, '/v3/kv/range', [range], { cookie: `token=${token}` }))
        assert.equal(byCookie.count, '1', where)
        const badToken = JSON.parse(await unary(url, '/v3/kv/range', [range], { cookie: 'token=nope' }))
        assert.equal(badToken.error, 'etcdserver: invalid auth token', where)
      }
    } finally {
      await fetch(`${gw}/v3/auth/disable`, { method: 'POST', body: '{}', headers: { authorization: token } })
    }
  })
})
