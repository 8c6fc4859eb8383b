/**
 * The Mesh contract: the behaviour the member actor relies on, checked against every
 * implementation (memory-mesh.test.ts, ws-mesh.test.ts) through a small harness that starts,
 * stops and stalls members. Not a test file itself: `runMeshContract` registers the tests.
 *
 * @module
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Mesh } from '../../src/mesh/mesh.ts'
import type { Message, NodeId } from '../../src/raft/types.ts'

export interface ContractMeshOptions {
  /** Defaults to the harness's cluster token. */
  readonly token?: string
  readonly maxQueueMessages?: number
}

export interface MeshHarness {
  /** Gives each ID an address (a listener where needed) without starting its mesh. */
  prepare(ids: readonly NodeId[]): Promise<void>
  /** Starts member `id`'s mesh at its address, peered with `peers`. Also after a `stop`. */
  start(id: NodeId, peers: readonly NodeId[], options?: ContractMeshOptions): Promise<Mesh>
  /** The base URL peers use for member `id`; the same across restarts. */
  url(id: NodeId): string
  /** Stops member `id`: its mesh and its listener. Its address then refuses connections. */
  stop(id: NodeId): Promise<void>
  /** Makes `id`'s address accept connections and then never answer or read. */
  stall(id: NodeId): Promise<void>
  /** Closes everything the harness opened. */
  close(): Promise<void>
}

interface Probe {
  readonly received: Message[]
  readonly frames: Message[][]
  readonly unreachable: NodeId[]
  readonly snapshots: [NodeId, boolean][]
  /** Entry indexes of unsent proposals reported (onUnsentProposals). */
  readonly unsent: number[]
}

function probe(mesh: Mesh): Probe {
  const p: Probe = { received: [], frames: [], unreachable: [], snapshots: [], unsent: [] }
  mesh.onReceive((messages) => {
    p.frames.push(messages)
    p.received.push(...messages)
  })
  mesh.onUnreachable((peer) => p.unreachable.push(peer))
  mesh.onSnapshotStatus((peer, ok) => p.snapshots.push([peer, ok]))
  mesh.onUnsentProposals?.((entries) => p.unsent.push(...entries.map((e) => e.index)))
  return p
}

function msg(from: NodeId, to: NodeId, index: number, type: Message['type'] = 'MsgApp'): Message {
  return {
    type,
    from,
    to,
    term: 1,
    logTerm: 1,
    index,
    commit: 0,
    entries: [{ term: 1, index: index + 1, type: 'normal', data: new Uint8Array([index & 0xff, 1, 2]) }],
    reject: false,
    rejectHint: 0,
    snapshot:
      type === 'MsgSnap'
        ? {
            metadata: { index, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
            data: new Uint8Array(1000),
          }
        : null,
    context: new Uint8Array(0),
  }
}

/** Polls `check` until it returns true, or fails after `ms`. */
async function eventually(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Resolves after the current macrotask and a few more, so deferred flushes have run. */
function turns(n = 3): Promise<void> {
  return n === 0 ? Promise.resolve() : new Promise((resolve) => setImmediate(() => resolve(turns(n - 1))))
}

/** Sends a heartbeat from a to b until one arrives: the link is up. */
async function connected(a: Mesh, b: Probe, from: NodeId, to: NodeId): Promise<void> {
  const before = b.received.length
  await eventually(`link ${from}→${to} up`, () => {
    if (b.received.length > before) return true
    a.send([msg(from, to, 0, 'MsgHeartbeat')])
    return false
  })
  await new Promise((resolve) => setTimeout(resolve, 20))
}

/**
 * Members 1 and 2 connected, member 3 down, and 1 knowing it (it reported 3 unreachable): returns
 * 1's mesh with its probe, and 2's probe.
 */
async function withDeadPeer3(h: MeshHarness): Promise<{ a: Mesh; pa: Probe; b: Probe }> {
  await h.prepare([1, 2, 3])
  await h.stop(3)
  const a = await h.start(1, [2, 3])
  const pa = probe(a)
  const b = probe(await h.start(2, [1, 3]))
  await connected(a, b, 1, 2)
  await eventually('dead peer known', () => {
    a.send([msg(1, 3, 0, 'MsgHeartbeat')])
    return pa.unreachable.includes(3)
  })
  return { a, pa, b }
}

export function runMeshContract(name: string, newHarness: () => MeshHarness): void {
  describe(`Mesh contract: ${name}`, () => {
    async function withHarness(body: (h: MeshHarness) => Promise<void>): Promise<void> {
      const h = newHarness()
      try {
        await body(h)
      } finally {
        await h.close()
      }
    }

    test('delivers every message of a link, in order, whatever the turns they were sent in', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2])
        const a = await h.start(1, [2])
        const b = probe(await h.start(2, [1]))
        for (let i = 0; i < 100; i++) a.send([msg(1, 2, i)])
        for (let i = 100; i < 300; i += 2) {
          a.send([msg(1, 2, i), msg(1, 2, i + 1)])
          if (i % 10 === 0) await turns(1)
        }
        await eventually('300 messages', () => b.received.length >= 300)
        assert.deepEqual(
          b.received.map((m) => m.index),
          Array.from({ length: 300 }, (_, i) => i),
        )
        assert.equal(b.received[7]?.entries[0]?.data[0], 7)
        assert.ok(b.received.every((m) => m.from === 1 && m.to === 2))
      }))

    test('batches the sends of one turn into one frame per peer', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2, 3])
        const a = await h.start(1, [2, 3])
        const b = probe(await h.start(2, [1, 3]))
        const c = probe(await h.start(3, [1, 2]))
        await connected(a, b, 1, 2)
        await connected(a, c, 1, 3)
        const framesBefore = [b.frames.length, c.frames.length]
        const sentBefore = a.stats().peers.get(2)?.framesSent ?? 0
        for (let i = 0; i < 50; i++) a.send([msg(1, 2, i), msg(1, 3, i)])
        await eventually('both batches', () => b.received.length >= 50 && c.received.length >= 50)
        await turns()
        assert.equal(b.frames.length - (framesBefore[0] as number), 1)
        assert.equal(c.frames.length - (framesBefore[1] as number), 1)
        assert.equal(b.frames.at(-1)?.length, 50)
        assert.equal((a.stats().peers.get(2)?.framesSent ?? 0) - sentBefore, 1)
      }))

    test('flush() sends what is queued at once, one frame per peer, and calls no handler', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2, 3, 4])
        await h.stop(4)
        const a = await h.start(1, [2, 3, 4])
        const pa = probe(a)
        const b = probe(await h.start(2, [1, 3, 4]))
        const c = probe(await h.start(3, [1, 2, 4]))
        await connected(a, b, 1, 2)
        await connected(a, c, 1, 3)
        const framesSent = (peer: NodeId): number => a.stats().peers.get(peer)?.framesSent ?? 0
        const before = [framesSent(2), framesSent(3)]
        a.send([msg(1, 2, 1), msg(1, 3, 1), msg(1, 4, 1)])
        a.send([msg(1, 2, 2)])
        assert.deepEqual([framesSent(2), framesSent(3)], before, 'send alone waits for the end of the turn')
        const unreachableBefore = pa.unreachable.length
        a.flush()
        assert.deepEqual([framesSent(2), framesSent(3)], [(before[0] as number) + 1, (before[1] as number) + 1])
        assert.equal(pa.unreachable.length, unreachableBefore, 'losses are reported later, not from inside flush')
        a.send([msg(1, 2, 3)])
        const apps = (p: Probe): Message[][] => p.frames.map((f) => f.filter((m) => m.type === 'MsgApp')).filter((f) => f.length > 0)
        await eventually('all to 2 and 3', () => apps(b).flat().length >= 3 && apps(c).flat().length >= 1)
        assert.deepEqual(apps(b).map((f) => f.map((m) => m.index)), [[1, 2], [3]], 'what was flushed went as one frame')
        assert.deepEqual(apps(c).map((f) => f.map((m) => m.index)), [[1]])
        await eventually('the dead peer reported', () => pa.unreachable.includes(4))
      }))

    test('reconnects after the peer restarts at the same address', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2])
        const a = await h.start(1, [2])
        const pa = probe(a)
        const b1 = probe(await h.start(2, [1]))
        await connected(a, b1, 1, 2)
        await h.stop(2)
        await eventually('unreachable reported', () => {
          a.send([msg(1, 2, 1)])
          return pa.unreachable.includes(2)
        })
        const b2 = probe(await h.start(2, [1]))
        await connected(a, b2, 1, 2)
        assert.ok((a.stats().peers.get(2)?.reconnects ?? 0) >= 1)
      }))

    test('refuses a member that presents the wrong cluster token', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2])
        const intruder = await h.start(1, [2], { token: 'not-the-token' })
        const pi = probe(intruder)
        const b = await h.start(2, [1])
        const pb = probe(b)
        await eventually('refusal', () => {
          intruder.send([msg(1, 2, 1)])
          return pi.unreachable.includes(2) && b.stats().connectionsRefused > 0
        })
        await new Promise((resolve) => setTimeout(resolve, 50))
        assert.equal(pb.received.length, 0)
        assert.ok((intruder.stats().peers.get(2)?.messagesDropped ?? 0) > 0)
      }))

    test('a dead peer does not block delivery to a live one', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2, 3])
        await h.stop(3)
        const a = await h.start(1, [2, 3])
        const pa = probe(a)
        const b = probe(await h.start(2, [1, 3]))
        for (let i = 0; i < 100; i++) {
          a.send([msg(1, 3, i), msg(1, 2, i)])
          if (i % 10 === 0) await turns(1)
        }
        await eventually('live peer got everything', () => b.received.length >= 100)
        await eventually('dead peer reported', () => pa.unreachable.includes(3))
        assert.deepEqual(
          b.received.map((m) => m.index),
          Array.from({ length: 100 }, (_, i) => i),
        )
        assert.ok((a.stats().peers.get(3)?.messagesDropped ?? 0) > 0)
      }))

    test('a stalled peer fills only its own bounded queue: the excess is dropped and reported', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2, 3])
        const a = await h.start(1, [2, 3], { maxQueueMessages: 10 })
        const pa = probe(a)
        const b = probe(await h.start(2, [1, 3]))
        await h.stall(3)
        await connected(a, b, 1, 2)
        const before = b.received.length
        for (let i = 0; i < 100; i += 5) {
          for (let j = i; j < i + 5; j++) a.send([msg(1, 3, j), msg(1, 2, j)])
          await turns(1)
        }
        await eventually('live peer got everything', () => b.received.length - before >= 100)
        await eventually('stalled peer reported', () => pa.unreachable.includes(3))
        const dropped = a.stats().peers.get(3)?.messagesDropped ?? 0
        assert.ok(dropped >= 90, `dropped ${dropped}`)
        assert.equal(a.stats().peers.get(2)?.messagesDropped ?? 0, 0)
      }))

    test('setPeers adds and removes peers at runtime', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2, 3])
        const a = await h.start(1, [2])
        const b = probe(await h.start(2, [1, 3]))
        const c = probe(await h.start(3, [1, 2]))
        a.send([msg(1, 3, 0)])
        await turns()
        assert.equal(a.stats().peers.get(3)?.messagesDropped, 1, 'unknown peer: dropped')
        a.setPeers(
          new Map([
            [2, h.url(2)],
            [3, h.url(3)],
          ]),
        )
        await connected(a, c, 1, 3)
        await connected(a, b, 1, 2)
        a.setPeers(new Map([[3, h.url(3)]]))
        const bBefore = b.received.length
        for (let i = 0; i < 10; i++) a.send([msg(1, 2, 100 + i), msg(1, 3, 100 + i)])
        await eventually('still delivers to the kept peer', () => c.received.some((m) => m.index === 109))
        await new Promise((resolve) => setTimeout(resolve, 30))
        assert.equal(b.received.length, bBefore, 'a removed peer gets nothing')
        assert.ok((a.stats().peers.get(2)?.messagesDropped ?? 0) >= 10)
      }))

    test('reports each MsgSnap as delivered or dropped', () =>
      withHarness(async (h) => {
        const { a, pa, b } = await withDeadPeer3(h)
        a.send([msg(1, 2, 50, 'MsgSnap'), msg(1, 3, 50, 'MsgSnap')])
        await eventually('both statuses', () => pa.snapshots.length >= 2)
        assert.deepEqual(
          [...pa.snapshots].sort((x, y) => x[0] - y[0]),
          [
            [2, true],
            [3, false],
          ],
        )
        await eventually('snapshot arrived', () => b.received.some((m) => m.type === 'MsgSnap'))
        const snap = b.received.find((m) => m.type === 'MsgSnap')
        assert.deepEqual(snap?.snapshot?.metadata.confState.voters, [1, 2, 3])
        assert.equal(snap?.snapshot?.data.byteLength, 1000)
      }))

    test('reports the entries of MsgProps it dropped unsent, and of no other message', () =>
      withHarness(async (h) => {
        const { a, pa, b } = await withDeadPeer3(h)
        a.send([msg(1, 3, 10, 'MsgProp'), msg(1, 3, 11, 'MsgApp'), msg(1, 2, 20, 'MsgProp')])
        await eventually('sent proposal arrived', () => b.received.some((m) => m.type === 'MsgProp'))
        await eventually('unsent proposal reported', () => pa.unsent.length > 0)
        await turns(2)
        assert.deepEqual(pa.unsent, [11], 'only the entry of the MsgProp to the dead peer')
      }))

    test('close() drops what waits, stops delivery, and is idempotent; later calls are no-ops', () =>
      withHarness(async (h) => {
        await h.prepare([1, 2])
        const a = await h.start(1, [2])
        const b = probe(await h.start(2, [1]))
        await connected(a, b, 1, 2)
        const pa = probe(a)
        a.send([msg(1, 2, 1)])
        await a.close()
        await a.close()
        a.send([msg(1, 2, 2)])
        a.setPeers(new Map([[2, h.url(2)]]))
        await new Promise((resolve) => setTimeout(resolve, 30))
        assert.equal(pa.unreachable.length, 0, 'no callbacks after close')
        assert.ok(!b.received.some((m) => m.index >= 1), 'neither the queued nor the late message arrives')
      }))
  })
}
