/**
 * The in-memory mesh against the Mesh contract.
 */
import { MemoryHub, type MemoryMesh } from '../../src/mesh/memory-mesh.ts'
import type { NodeId } from '../../src/raft/types.ts'
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
