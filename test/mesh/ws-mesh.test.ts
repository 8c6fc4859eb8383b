/**
 * The WebSocket mesh against the Mesh contract, on real sockets (127.0.0.1), plus what only it
 * has: the HTTP handshake refusals, hostile frames, frame splitting, backoff timing and handle
 * cleanup.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import { MEMBER_HEADER, TOKEN_HEADER } from '../../src/mesh/peer-auth.ts'
import { FRAME_VERSION, FrameCodec, SNAPSHOT_IN_PARTS } from '../../src/mesh/codec.ts'
import type { Message } from '../../src/raft/types.ts'
import type { WsMesh, WsMeshOptions } from '../../src/mesh/ws-mesh.ts'
import { runMeshContract } from '../contracts/mesh.contract.ts'
import { appendMessage, message } from './arbitraries.ts'
import { TOKEN, WsHarness } from './ws-harness.ts'

runMeshContract('ws-mesh', () => new WsHarness())

/** Opens a raw client to `url`'s peer path; resolves with the HTTP status (101 when upgraded). */
function dial(url: string, headers: Record<string, string>): Promise<{ status: number; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/raft/peer`, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, ws })
      res.resume()
      ws.terminate()
    })
    ws.on('error', () => {})
    ws.on('open', () => resolve({ status: 101, ws }))
  })
}

/** Polls `check` every 5 ms; fails after `ms`. */
async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => ws.once('close', () => resolve()))
}

test('handshake: 401 for a missing or wrong token, 400/403 for bad or unknown ids, 426 for plain HTTP', async () => {
  const h = new WsHarness()
  try {
    await h.start(1, [2])
    const url = h.url(1)
    assert.equal((await dial(url, { [MEMBER_HEADER]: '2' })).status, 401)
    assert.equal((await dial(url, { [TOKEN_HEADER]: 'nope', [MEMBER_HEADER]: '2' })).status, 401)
    assert.equal((await dial(url, { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: 'x2' })).status, 400)
    assert.equal((await dial(url, { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '3' })).status, 403)
    assert.equal((await fetch(`${url}/raft/peer`)).status, 426)
    const ok = await dial(url, { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '2' })
    assert.equal(ok.status, 101)
    ok.ws.terminate()
    const refusals = h.log.filter((l) => l.event === 'peer-refused').map((l) => l.fields['status'])
    assert.deepEqual(refusals, [401, 401, 400, 403])
  } finally {
    await h.close()
  }
})

test('hostile frames are rejected and their connection closed; the member keeps serving', async () => {
  const h = new WsHarness()
  try {
    const mesh = await h.start(1, [2])
    const received: Message[] = []
    mesh.onReceive((messages) => received.push(...messages))
    const codec = new FrameCodec()
    const bad: Uint8Array[] = [
      new Uint8Array([0xc1, 0xff, 0x00]),
      codec.encode({ version: FRAME_VERSION, from: 3, clusterId: null, messages: [] }),
      codec.encode({ version: FRAME_VERSION, from: 2, clusterId: null, messages: [message({ from: 2, to: 9 })] }),
    ]
    for (const bytes of bad) {
      const { ws } = await dial(h.url(1), { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '2' })
      ws.send(bytes)
      await closed(ws)
    }
    const text = await dial(h.url(1), { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '2' })
    text.ws.send('hello')
    await closed(text.ws)
    assert.equal(mesh.stats().framesRejected, 3)
    assert.equal(received.length, 0)
    const good = await dial(h.url(1), { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '2' })
    const messages = [message({ from: 2, to: 1 })]
    good.ws.send(codec.encode({ version: FRAME_VERSION, from: 2, clusterId: null, messages }))
    await until('the good frame', () => received.length > 0)
    good.ws.terminate()
  } finally {
    await h.close()
  }
})

test('a batch larger than a frame is split in order; a message larger than a frame is dropped', async () => {
  const h = new WsHarness({ maxFrameBytes: 64 * 1024 })
  try {
    const a = await h.start(1, [2])
    const b = await h.start(2, [1])
    const frames: Message[][] = []
    b.onReceive((messages) => frames.push(messages))
    const unreachable: number[] = []
    a.onUnreachable((peer) => unreachable.push(peer))
    a.send([appendMessage(1, 2, 1, 1, 100 * 1024)])
    for (let i = 0; i < 100; i++) a.send([appendMessage(1, 2, 10 + i * 10, 10, 300)])
    await until('100 messages', () => frames.flat().length >= 100)
    assert.ok(frames.length >= 2, `${frames.length} frames`)
    assert.deepEqual(
      frames.flat().map((m) => m.index),
      Array.from({ length: 100 }, (_, i) => 9 + i * 10),
    )
    assert.equal(a.stats().peers.get(2)?.messagesDropped, 1)
    assert.deepEqual(unreachable, [2])
    assert.ok(h.log.some((l) => l.event === 'message-too-large'))
  } finally {
    await h.close()
  }
})

/** A snapshot of `bytes` bytes at `index`, its data a pattern that tells misplaced bytes apart. */
function bigSnapshot(index: number, bytes: number): NonNullable<Message['snapshot']> {
  const data = Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + index) & 0xff)
  return { metadata: { index, term: 3, confState: { voters: [1, 2], learners: [] } }, data }
}

function sameBytes(got: Message | undefined, want: NonNullable<Message['snapshot']>): boolean {
  const s = got?.snapshot
  return s !== undefined && s !== null && Buffer.from(s.data).equals(Buffer.from(want.data))
}

interface Pair {
  /** Member 1's mesh, which sends. */
  readonly a: WsMesh
  /** What member 2 received, in order. */
  readonly received: Message[]
  /** Member 1's snapshot statuses, in order. */
  readonly statuses: Array<[number, boolean]>
}

/** Runs `body` on members 1 and 2 meshed with `options`, then closes them. */
async function withPair(options: Partial<WsMeshOptions>, body: (pair: Pair) => Promise<void>): Promise<void> {
  const h = new WsHarness(options)
  try {
    const a = await h.start(1, [2])
    const b = await h.start(2, [1])
    const pair: Pair = { a, received: [], statuses: [] }
    b.onReceive((messages) => pair.received.push(...messages))
    a.onSnapshotStatus((peer, ok) => pair.statuses.push([peer, ok]))
    await body(pair)
  } finally {
    await h.close()
  }
}

test('a snapshot larger than a frame goes in parts and arrives whole; queued messages go ahead of its parts', () =>
  withPair({ maxFrameBytes: 64 * 1024 }, async ({ a, received, statuses }) => {
    const snapshot = bigSnapshot(500, 1_000_003)
    a.send([message({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshot }), appendMessage(1, 2, 500, 1, 10)])
    await until('the snapshot and the append', () => received.length >= 2)
    assert.deepEqual(received.map((m) => m.type), ['MsgApp', 'MsgSnap'])
    assert.deepEqual(received[1]?.snapshot?.metadata, snapshot.metadata)
    assert.ok(sameBytes(received[1], snapshot), 'the same bytes')
    await until('its status', () => statuses.length >= 1)
    assert.deepEqual(statuses, [[2, true]])
    const stats = a.stats().peers.get(2)
    assert.ok((stats?.framesSent ?? 0) >= 16, `sent in parts (${stats?.framesSent} frames)`)
    assert.equal(stats?.messagesDropped, 0)
  }))

// One 64 KiB part per send callback: the transfer takes well over a hundred turns.
test('heartbeats sent while a large snapshot is on its way reach the peer before it does', () =>
  withPair({ maxFrameBytes: 64 * 1024, maxBufferedBytes: 64 * 1024 }, async ({ a, received }) => {
    const snapshot = bigSnapshot(700, 8 * 1024 * 1024)
    a.send([message({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshot })])
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1))
      a.send([message({ type: 'MsgHeartbeat', from: 1, to: 2, term: 3, commit: i })])
    }
    await until('the snapshot', () => received.some((m) => m.type === 'MsgSnap'), 20_000)
    assert.deepEqual(received.map((m) => m.type), ['MsgHeartbeat', 'MsgHeartbeat', 'MsgHeartbeat', 'MsgSnap'])
    assert.ok(sameBytes(received[3], snapshot), 'the same bytes')
  }))

test('a newer large snapshot replaces one still in parts, which is reported as not sent', () =>
  withPair({ maxFrameBytes: 64 * 1024 }, async ({ a, received, statuses }) => {
    const older = bigSnapshot(500, 300_000)
    const newer = bigSnapshot(900, 200_000)
    a.send([
      message({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshot: older }),
      message({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshot: newer }),
    ])
    await until('the newer snapshot and both statuses', () => received.length >= 1 && statuses.length >= 2)
    assert.deepEqual(statuses, [[2, false], [2, true]])
    assert.equal(received.length, 1)
    assert.equal(received[0]?.snapshot?.metadata.index, 900)
    assert.ok(sameBytes(received[0], newer), 'the newer bytes')
  }))

test('a snapshot whose parts are out of order, or missing, is refused with the connection', async () => {
  const h = new WsHarness()
  try {
    const b = await h.start(2, [1])
    const received: Message[] = []
    b.onReceive((messages) => received.push(...messages))
    const codec = new FrameCodec()
    const snap = message({
      type: 'MsgSnap',
      from: 1,
      to: 2,
      snapshot: { metadata: { index: 5, term: 1, confState: { voters: [1, 2], learners: [] } }, data: SNAPSHOT_IN_PARTS },
    })
    const cases: Array<Array<Parameters<FrameCodec['encode']>[0]>> = [
      [{ version: FRAME_VERSION, from: 1, clusterId: null, messages: [], part: { total: 8, offset: 4, bytes: new Uint8Array(4) } }],
      [
        { version: FRAME_VERSION, from: 1, clusterId: null, messages: [], part: { total: 8, offset: 0, bytes: new Uint8Array(4) } },
        { version: FRAME_VERSION, from: 1, clusterId: null, messages: [snap] },
      ],
      [{ version: FRAME_VERSION, from: 1, clusterId: null, messages: [snap] }],
    ]
    for (const frames of cases) {
      const before = b.stats().framesRejected
      const { status, ws } = await dial(h.url(2), { [TOKEN_HEADER]: TOKEN, [MEMBER_HEADER]: '1' })
      assert.equal(status, 101)
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      for (const f of frames) ws.send(codec.encode(f))
      await closed
      assert.equal(b.stats().framesRejected, before + 1)
    }
    assert.deepEqual(received, [], 'nothing reached raft')
  } finally {
    await h.close()
  }
})

test('reconnect delays back off exponentially, with jitter from the injected source', async () => {
  const delays: number[] = []
  const h = new WsHarness({
    backoff: { initialMs: 100, maxMs: 800 },
    random: () => 0.5,
    scheduler: {
      defer: (fn) => setImmediate(fn),
      after: (ms, fn) => {
        delays.push(ms)
        const timer = setTimeout(fn, 1)
        return () => clearTimeout(timer)
      },
      now: () => performance.now(),
    },
  })
  try {
    await h.prepare([2])
    await h.stop(2)
    await h.start(1, [2])
    await until('6 attempts', () => delays.length >= 6)
    assert.deepEqual(delays.slice(0, 6), [75, 150, 300, 600, 600, 600])
  } finally {
    await h.close()
  }
})

test('close() leaves no socket, server or timer behind', async () => {
  const handles = (): string[] =>
    process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout')
  const baseline = handles().length
  const h = new WsHarness()
  await h.prepare([1, 2, 3])
  await h.stop(3)
  const a = await h.start(1, [2, 3])
  const b = await h.start(2, [1, 3])
  let got = 0
  b.onReceive((messages) => (got += messages.length))
  await until('traffic', () => {
    a.send([message({ from: 1, to: 2 }), message({ from: 1, to: 3 })])
    return got > 0
  })
  assert.ok(handles().length > baseline)
  await h.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(handles().slice(baseline), [])
})

test('a peer that stops reading: its socket buffer fills, then its queue, then drops; others flow', async () => {
  const sink = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  sink.on('connection', (_ws, req) => req.socket.pause())
  await new Promise((resolve) => sink.once('listening', resolve))
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`
  const h = new WsHarness({ maxBufferedBytes: 256 * 1024, maxQueueMessages: 100 })
  try {
    await h.prepare([1, 2])
    const a = await h.start(1, [2])
    a.setPeers(new Map([[2, h.url(2)], [3, sinkUrl]]))
    const b = await h.start(2, [1])
    let got = 0
    b.onReceive((messages) => (got += messages.length))
    const unreachable = new Set<number>()
    a.onUnreachable((peer) => unreachable.add(peer))
    for (let turn = 0; turn < 200 && !unreachable.has(3); turn++) {
      for (let i = 0; i < 20; i++) a.send([appendMessage(1, 3, 1, 10, 3000), appendMessage(1, 2, 1, 1, 10)])
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    assert.ok(unreachable.has(3), 'the slow peer is reported')
    const sent = a.stats().peers.get(2)?.messagesSent ?? 0
    await until('the live peer got all it was sent', () => got === sent && sent > 0)
    assert.equal(a.stats().peers.get(2)?.messagesDropped ?? 0, 0)
    assert.ok((a.stats().peers.get(3)?.messagesDropped ?? 0) > 0)
  } finally {
    await h.close()
    for (const client of sink.clients) client.terminate()
    await new Promise((resolve) => sink.close(resolve))
  }
})

test('an open link pings its peer every probe interval and reports each round trip; none after close', async () => {
  const rtts: Array<[number, number]> = []
  const h = new WsHarness({ probeIntervalMs: 20, onRoundTrip: (peer, seconds) => rtts.push([peer, seconds]) })
  try {
    await h.prepare([1, 2])
    const one = await h.start(1, [2])
    await h.start(2, [1])
    await until('3 round trips each way', () => rtts.filter(([p]) => p === 2).length >= 3 && rtts.filter(([p]) => p === 1).length >= 3)
    for (const [, seconds] of rtts) assert.ok(seconds > 0 && seconds < 1, `round trip ${seconds} s`)
    await one.close()
    const towardsTwo = rtts.filter(([p]) => p === 2).length
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(rtts.filter(([p]) => p === 2).length, towardsTwo)
  } finally {
    await h.close()
  }
})
