/**
 * The gateway's call channels (src/gateway/channel-exchange.ts) against a scripted member: what
 * goes over HTTP instead, that a turn's calls leave in one message, and the outcome of a call in
 * every way it can end (answered, cancelled, the channel closing under it, no answer in time,
 * a message that is not a batch of answers), with client/attempt.ts's meanings.
 */
import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { CALL_CHANNEL_PATH, decodeCalls, encodeAnswers, PROTOBUF_CALL, type ChannelCall } from '../../src/api/index.ts'
import { BATCH_BYTES, channelExchange, PONG_GRACE_MS, RETRY_AFTER_MS, type ChannelExchange } from '../../src/gateway/channel-exchange.ts'
import { jsonBody, type Exchange, type UnaryOutcome, type UnaryRequest } from '../../src/gateway/exchange.ts'

/** A member that upgrades its channel and hands every batch of calls to the test's script. */
interface FakeMember {
  readonly endpoint: string
  /** Upgrade requests seen (channel openings tried). */
  upgrades: number
  /** Batches received, in order. */
  readonly batches: ChannelCall[][]
  /** What the member does with a batch (default: answers each call with 200 and its own body). */
  onBatch: (ws: WebSocket, calls: ChannelCall[]) => void
  /** Resolves when the member's end of the current channel closes. */
  closed: Promise<void>
  stop(): Promise<void>
}

const echo = (ws: WebSocket, calls: ChannelCall[]): void =>
  ws.send(encodeAnswers(calls.map((c) => ({ id: c.id, status: 200, headers: { 'content-type': 'application/json' }, body: c.body }))))

async function fakeMember(upgradable = true): Promise<FakeMember> {
  const wss = new WebSocketServer({ noServer: true })
  const server: Server = createServer((_req, res) => {
    res.writeHead(404).end('404 page not found\n')
  })
  const member: FakeMember = {
    endpoint: '',
    upgrades: 0,
    batches: [],
    onBatch: echo,
    closed: Promise.resolve(),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  server.on('upgrade', (req, socket, head) => {
    member.upgrades++
    if (!upgradable || req.url !== CALL_CHANNEL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      member.closed = new Promise((resolve) => ws.once('close', () => resolve()))
      ws.on('message', (data: Buffer) => {
        const calls = decodeCalls(data)
        member.batches.push(calls)
        member.onBatch(ws, calls)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(member, { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
}

/** The fallback's calls, answered 200 with `http` as the body. */
function recordingFallback(): { exchange: Exchange; calls: string[] } {
  const calls: string[] = []
  const exchange: Exchange = async (r) => {
    calls.push(r.path)
    return { kind: 'answered', answer: { status: 200, headers: {}, body: new TextEncoder().encode('http') } }
  }
  return { exchange, calls }
}

const request = (endpoint: string, over: Partial<UnaryRequest> = {}): UnaryRequest => ({
  method: 'POST',
  endpoint,
  path: '/v3/kv/put',
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode('{"key":"YQ=="}'),
  timeoutMs: 2_000,
  signal: new AbortController().signal,
  ...over,
})

const bodyOf = (o: UnaryOutcome): string => {
  assert.equal(o.kind, 'answered', JSON.stringify(o))
  return new TextDecoder().decode((o as Extract<UnaryOutcome, { kind: 'answered' }>).answer.body)
}

/** Calls until one goes over the channel (the first ones go over HTTP while it opens). */
async function untilOpen(channels: ChannelExchange, fallback: { calls: string[] }, endpoint: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const before = fallback.calls.length
    await channels.exchange(request(endpoint, { path: '/v3/kv/range' }))
    if (fallback.calls.length === before) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('the channel never opened')
}

describe('gateway call channels', { timeout: 30_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  const setUp = async (upgradable = true) => {
    const member = await fakeMember(upgradable)
    const fallback = recordingFallback()
    const channels = channelExchange(fallback.exchange)
    cleanups.push(() => member.stop(), () => channels.close())
    return { member, fallback, channels }
  }

  test('a turn of calls leaves in one message; each gets its own answer', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.batches.length = 0
    const bodies = Array.from({ length: 10 }, (_, i) => `{"key":"${i}"}`)
    const outcomes = await Promise.all(bodies.map((b) => channels.exchange(request(member.endpoint, { body: new TextEncoder().encode(b) }))))
    assert.deepEqual(outcomes.map(bodyOf), bodies)
    assert.equal(member.batches.length, 1)
    assert.equal(member.batches[0]?.length, 10)
    assert.deepEqual(member.batches[0]?.[0]?.headers, { 'content-type': 'application/json' })
  })

  test('a call given as protobuf travels as protobuf on the channel, its JSON never made; over HTTP as JSON', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.batches.length = 0
    fallback.calls.length = 0
    let jsonMade = 0
    const protobufCall = (message: Uint8Array) => ({ message, json: () => (jsonMade++, new TextEncoder().encode('{"key":"YQ=="}')) })
    const message = new Uint8Array([0x0a, 0x01, 0x61])
    const headers = { 'content-type': 'application/json', 'grpc-metadata-token': 't' }
    const over = { headers, body: undefined, protobuf: protobufCall(message) }
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint, over))), '\n\u0001a')
    const sent = member.batches[0]?.[0]
    assert.deepEqual(sent?.headers, { 'content-type': PROTOBUF_CALL, 'grpc-metadata-token': 't' })
    assert.deepEqual([...(sent?.body ?? [])], [...message])
    assert.equal(jsonMade, 0)
    // Its size is the protobuf message's: a large one goes over HTTP (as JSON: jsonBody), whatever the JSON's size.
    const large = request(member.endpoint, { body: undefined, protobuf: protobufCall(new Uint8Array(BATCH_BYTES + 1)) })
    await channels.exchange(large)
    assert.deepEqual(fallback.calls, ['/v3/kv/put'])
    assert.equal(new TextDecoder().decode(jsonBody(large)), '{"key":"YQ=="}')
  })

  test("a JSON call whose client's content-type spells the protobuf marker still goes as JSON", async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.batches.length = 0
    const headers = { 'content-type': PROTOBUF_CALL, 'grpc-metadata-token': 't' }
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint, { headers }))), '{"key":"YQ=="}')
    assert.deepEqual(member.batches[0]?.[0]?.headers, { 'content-type': 'application/json', 'grpc-metadata-token': 't' })
  })

  test('GETs, calls without a deadline and https members go over HTTP', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    fallback.calls.length = 0
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint, { method: 'GET', path: '/version', body: undefined }))), 'http')
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint, { path: '/v3/lock/lock', timeoutMs: undefined }))), 'http')
    assert.equal(bodyOf(await channels.exchange(request('https://127.0.0.1:1', { path: '/v3/kv/txn' }))), 'http')
    assert.deepEqual(fallback.calls, ['/version', '/v3/lock/lock', '/v3/kv/txn'])
  })

  test('a member without the channel: HTTP, and no second try for a while', async () => {
    const { member, fallback, channels } = await setUp(false)
    for (let i = 0; i < 5; i++) {
      assert.equal(bodyOf(await channels.exchange(request(member.endpoint))), 'http')
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.equal(fallback.calls.length, 5)
    assert.equal(member.upgrades, 1)
    await new Promise((r) => setTimeout(r, RETRY_AFTER_MS))
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint))), 'http')
    for (let i = 0; i < 100 && member.upgrades < 2; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(member.upgrades, 2, 'asked again once the pause is over')
  })

  test('a channel that closes under sent calls: lost, not timed out; the next call opens a new one', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.onBatch = (ws) => ws.terminate()
    const outcome = await channels.exchange(request(member.endpoint))
    assert.equal(outcome.kind, 'lost')
    assert.equal((outcome as Extract<UnaryOutcome, { kind: 'lost' }>).timedOut, false)
    member.onBatch = echo
    const upgrades = member.upgrades
    await untilOpen(channels, fallback, member.endpoint)
    assert.equal(member.upgrades, upgrades + 1)
  })

  test('no answer in time from a silent channel: lost and timed out, and the channel is taken down', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    // A hung process: it reads nothing more, so it does not answer pings either.
    member.onBatch = (ws) => ws.pause()
    const outcome = await channels.exchange(request(member.endpoint, { timeoutMs: 100 }))
    assert.equal(outcome.kind, 'lost')
    assert.equal((outcome as Extract<UnaryOutcome, { kind: 'lost' }>).timedOut, true)
    // Pinged when the call timed out; no pong within the grace: the channel is gone, and the next call uses HTTP.
    await new Promise((r) => setTimeout(r, PONG_GRACE_MS + 200))
    fallback.calls.length = 0
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint))), 'http')
    assert.deepEqual(fallback.calls, ['/v3/kv/put'])
  })

  test('a call that times out while the member is slow, not gone, takes no other call down with it', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    // A live member that answers everything late (it answers pings at once), and one call never.
    member.onBatch = (ws, calls) => void setTimeout(() => echo(ws, calls.filter((c) => c.path !== '/v3/lock/unlock')), 150)
    let closed = false
    void member.closed.then(() => (closed = true))
    const slow = channels.exchange(request(member.endpoint, { path: '/v3/lock/unlock', timeoutMs: 50 }))
    const others = Array.from({ length: 10 }, () => channels.exchange(request(member.endpoint)))
    const outcome = await slow
    assert.equal(outcome.kind, 'lost')
    assert.equal((outcome as Extract<UnaryOutcome, { kind: 'lost' }>).timedOut, true)
    for (const o of await Promise.all(others)) bodyOf(o)
    await new Promise((r) => setTimeout(r, PONG_GRACE_MS + 200))
    fallback.calls.length = 0
    bodyOf(await channels.exchange(request(member.endpoint)))
    assert.deepEqual(fallback.calls, [], 'still on the channel')
    assert.equal(closed, false)
  })

  test('a body over a batch goes over HTTP', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    fallback.calls.length = 0
    const batches = member.batches.length
    assert.equal(bodyOf(await channels.exchange(request(member.endpoint, { body: new Uint8Array(BATCH_BYTES + 1) }))), 'http')
    assert.equal(member.batches.length, batches)
  })

  test('a caller that leaves: cancelled, before or after its call was sent', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.onBatch = () => undefined
    const before = new AbortController()
    const unsent = channels.exchange(request(member.endpoint, { signal: before.signal }))
    before.abort()
    assert.deepEqual(await unsent, { kind: 'cancelled' })
    const batches = member.batches.length
    const after = new AbortController()
    const sent = channels.exchange(request(member.endpoint, { signal: after.signal }))
    while (member.batches.length === batches) await new Promise((r) => setTimeout(r, 5))
    after.abort()
    assert.deepEqual(await sent, { kind: 'cancelled' })
    const aborted = new AbortController()
    aborted.abort()
    assert.deepEqual(await channels.exchange(request(member.endpoint, { signal: aborted.signal })), { kind: 'cancelled' })
    assert.equal(member.batches.length, batches + 1, 'the call cancelled before its turn ended was never sent')
  })

  test('a message that is not a batch of answers takes the channel down: its calls are lost', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    member.onBatch = (ws) => ws.send(Buffer.from([0xc1]))
    const outcome = await channels.exchange(request(member.endpoint))
    assert.equal(outcome.kind, 'lost')
    await member.closed
  })

  test('calls still in the turn when their channel closes were never sent: unsent', async () => {
    const { member, fallback, channels } = await setUp()
    await untilOpen(channels, fallback, member.endpoint)
    const batches = member.batches.length
    const first = channels.exchange(request(member.endpoint))
    channels.close()
    const outcome = await first
    assert.equal(outcome.kind, 'unsent')
    await member.closed
    assert.equal(member.batches.length, batches, 'the member never had it')
  })
})
