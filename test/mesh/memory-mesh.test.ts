/**
 * The in-memory mesh against the Mesh contract, and its one difference in size limits.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryHub, type MemoryMesh } from '../../src/mesh/memory-mesh.ts'
import type { Message, NodeId } from '../../src/raft/types.ts'
import { appendMessage, message } from './arbitraries.ts'
import { runMeshContract, type ContractMeshOptions, type MeshHarness } from '../contracts/mesh.contract.ts'

class MemoryHarness implements MeshHarness {
  readonly #hub = new MemoryHub()
  readonly #meshes = new Map<NodeId, MemoryMesh>()

  async prepare(_ids: readonly NodeId[]): Promise<void> {}

  async start(id: NodeId, peers: readonly NodeId[], options: ContractMeshOptions = {}): Promise<MemoryMesh> {
    this.#hub.stall(id, false)
    const mesh = this.#hub.join({
      id,
      clusterToken: options.token ?? 'secret',
      peers: new Map(peers.map((p) => [p, this.url(p)])),
      ...(options.maxQueueMessages !== undefined ? { maxQueueMessages: options.maxQueueMessages } : {}),
    })
    this.#meshes.set(id, mesh)
    return mesh
  }

  url(id: NodeId): string {
    return this.#hub.url(id)
  }

  async stop(id: NodeId): Promise<void> {
    await this.#meshes.get(id)?.close()
    this.#meshes.delete(id)
  }

  async stall(id: NodeId): Promise<void> {
    await this.stop(id)
    this.#hub.stall(id, true)
  }

  async close(): Promise<void> {
    for (const id of [...this.#meshes.keys()]) await this.stop(id)
  }
}

runMeshContract('memory-mesh', () => new MemoryHarness())

test('a snapshot larger than a frame passes whole (over WebSockets it goes in parts)', async () => {
  const hub = new MemoryHub()
  const options = { clusterToken: 'secret', maxFrameBytes: 64 * 1024 }
  const a = hub.join({ ...options, id: 1, peers: new Map([[2, hub.url(2)]]) })
  const b = hub.join({ ...options, id: 2, peers: new Map([[1, hub.url(1)]]) })
  const received: Message[] = []
  b.onReceive((messages) => received.push(...messages))
  const data = Uint8Array.from({ length: 1_000_003 }, (_, i) => i & 0xff)
  const snapshot = { metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [] } }, data }
  a.send([message({ type: 'MsgSnap', from: 1, to: 2, snapshot }), appendMessage(1, 2, 5, 1, 100 * 1024)])
  for (let i = 0; i < 10 && received.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(received.map((m) => m.type), ['MsgSnap'], 'the snapshot passes; an append over the limit does not')
  assert.ok(Buffer.from(received[0]?.snapshot?.data ?? []).equals(Buffer.from(data)))
  await Promise.all([a.close(), b.close()])
})
