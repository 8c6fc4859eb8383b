/**
 * The state behind the golden interaction scripts: a set of RawNodes on MemoryStorage, a queue of
 * messages per recipient (delivered only when a script says so), partitions, and the output
 * buffer each command writes to. Election jitter is fixed (rand = 0) so scripts are stable.
 */
import {
  DEFAULT_CONFIG,
  MemoryStorage,
  RawNode,
  decodeConfChange,
  describeConfState,
  describeMessage,
  describeReady,
  type Config,
  type Message,
  type NodeId,
} from '../../../src/raft/index.ts'

export interface EnvNode {
  readonly id: NodeId
  node: RawNode
  readonly storage: MemoryStorage
  readonly config: Config
  appliedIndex: number
}

export class InteractionEnv {
  readonly nodes = new Map<NodeId, EnvNode>()
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = []
  readonly isolated = new Set<NodeId>()
  #out: string[] = []

  write(line: string): void {
    this.#out.push(line)
  }

  /** Takes the output so far ("ok" if there was none). */
  flush(): string {
    const out = this.#out.length === 0 ? 'ok' : this.#out.join('\n')
    this.#out = []
    return out
  }

  get(id: NodeId): EnvNode {
    const n = this.nodes.get(id)
    if (!n) throw new Error(`unknown node ${id}`)
    return n
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b)
  }

  add(id: NodeId, storage: MemoryStorage, over: Partial<Config>): void {
    const applied = storage.snapshot().metadata.index
    const config: Config = {
      ...DEFAULT_CONFIG,
      preVote: false,
      checkQuorum: false,
      ...over,
      id,
      storage,
      applied,
      rand: () => 0,
    }
    this.nodes.set(id, { id, node: new RawNode(config), storage, config, appliedIndex: applied })
  }

  /** Handles one Ready of `id` in the documented order, printing it. Returns false if there was none. */
  processReady(id: NodeId): boolean {
    const n = this.get(id)
    if (!n.node.hasReady()) return false
    const rd = n.node.ready()
    this.write(`> ${id} handling Ready`)
    for (const line of describeReady(rd).split('\n')) this.write(`  ${line}`)
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot)
    n.storage.append(rd.entries)
    if (rd.hardState) n.storage.setHardState(rd.hardState)
    this.queue.push(...rd.messages)
    if (rd.snapshot) n.appliedIndex = rd.snapshot.metadata.index
    for (const e of rd.committedEntries) {
      if (e.type === 'conf-change') {
        const cs = n.node.applyConfChange(decodeConfChange(e.data))
        n.storage.setConfState(cs)
        this.write(`  ${id} applied conf change ${e.index}: ${describeConfState(cs)}`)
      }
      n.appliedIndex = e.index
    }
    n.node.advance()
    return true
  }

  /**
   * Delivers the queued messages addressed to `to`, in send order. Messages from or to an isolated
   * node, or all of them when `drop`, are printed as dropped instead. Returns how many there were.
   */
  deliver(to: NodeId, drop: boolean): number {
    const mine = this.queue.filter((m) => m.to === to)
    if (mine.length === 0) return 0
    this.queue = this.queue.filter((m) => m.to !== to)
    this.write(`> ${to} receiving messages`)
    for (const m of mine) {
      const lost = drop || this.isolated.has(to) || this.isolated.has(m.from) || !this.nodes.has(to)
      this.write(`  ${lost ? 'dropped: ' : ''}${describeMessage(m)}`)
      if (!lost) this.get(to).node.step(m)
    }
    return mine.length
  }
}
