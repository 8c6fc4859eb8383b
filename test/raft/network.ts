/**
 * A small synchronous in-process cluster for the paper tests: RawNodes over MemoryStorage, a
 * message queue delivered until quiet, and faults (drop a link, isolate a node, ignore a message
 * type). Each node's Readys are handled in the documented order: persist, send, apply, advance.
 */
import {
  DEFAULT_CONFIG,
  MemoryStorage,
  RawNode,
  decodeConfChange,
  type Config,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
} from '../../src/raft/index.ts'

export interface Member {
  readonly id: NodeId
  node: RawNode
  readonly storage: MemoryStorage
  /** Entries applied to the "state machine", by index (a snapshot clears what it covers). */
  readonly applied: Map<number, Entry>
  appliedIndex: number
  readStates: ReadState[]
}

/** A deterministic xorshift source of election jitter, distinct per node. */
export function seededRand(seed: number): (n: number) => number {
  let x = seed * 2654435761 + 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

export function testConfig(id: NodeId, storage: MemoryStorage, over: Partial<Config> = {}): Config {
  return {
    ...DEFAULT_CONFIG,
    preVote: false,
    checkQuorum: false,
    id,
    storage,
    applied: 0,
    rand: seededRand(id),
    ...over,
  }
}

export class Network {
  readonly members = new Map<NodeId, Member>()
  readonly #over: Partial<Config>
  #queue: Message[] = []
  #cut = new Set<string>()
  #ignored = new Set<MessageType>()
  /** Every message ever sent, for assertions on traffic. */
  readonly sent: Message[] = []

  /** A cluster of `voters` (plus `learners`) that all start from the same bootstrap snapshot. */
  constructor(voters: readonly NodeId[], over: Partial<Config> = {}, learners: readonly NodeId[] = []) {
    this.#over = over
    for (const id of [...voters, ...learners]) {
      this.add(id, MemoryStorage.bootstrap({ voters: [...voters], learners: [...learners] }))
    }
  }

  /** Adds a member on `storage` (an empty MemoryStorage for a node joining later). */
  add(id: NodeId, storage: MemoryStorage, over: Partial<Config> = {}): Member {
    const applied = storage.snapshot().metadata.index
    const m: Member = {
      id,
      node: new RawNode(testConfig(id, storage, { ...this.#over, ...over, applied })),
      storage,
      applied: new Map(),
      appliedIndex: applied,
      readStates: [],
    }
    this.members.set(id, m)
    return m
  }

  member(id: NodeId): Member {
    const m = this.members.get(id)
    if (!m) throw new Error(`no member ${id}`)
    return m
  }

  node(id: NodeId): RawNode {
    return this.member(id).node
  }

  /** Simulates a crash and restart: a new RawNode on the same (fully persisted) storage. */
  restart(id: NodeId, over: Partial<Config> = {}): void {
    const m = this.member(id)
    m.node = new RawNode(testConfig(id, m.storage, { ...this.#over, ...over, applied: m.appliedIndex }))
  }

  /**
   * Handles every pending Ready of `id`: persist, queue messages, apply, advance. `afterPersist`
   * runs between persisting and the rest, to model a node that keeps stepping while it syncs.
   */
  handleReady(id: NodeId, afterPersist?: () => void): void {
    const m = this.member(id)
    for (let n = 0; m.node.hasReady(); n++) {
      if (n > 1000) throw new Error(`node ${id}: Readys never run out`)
      const rd = m.node.ready()
      if (rd.snapshot) m.storage.applySnapshot(rd.snapshot)
      m.storage.append(rd.entries)
      if (rd.hardState) m.storage.setHardState(rd.hardState)
      // The contract: committed entries handed out are persisted (in this Ready or earlier).
      for (const e of rd.committedEntries) {
        if (e.index > m.storage.lastIndex() || m.storage.term(e.index) !== e.term) {
          throw new Error(`node ${id}: committed entry ${e.term}/${e.index} is not persisted`)
        }
      }
      afterPersist?.()
      for (const msg of rd.messages) this.send(msg)
      if (rd.snapshot) {
        m.applied.clear()
        m.appliedIndex = rd.snapshot.metadata.index
      }
      for (const e of rd.committedEntries) {
        if (e.type === 'conf-change') m.storage.setConfState(m.node.applyConfChange(decodeConfChange(e.data)))
        m.applied.set(e.index, e)
        m.appliedIndex = e.index
      }
      m.readStates.push(...rd.readStates)
      m.node.advance()
    }
  }

  send(msg: Message): void {
    this.sent.push(msg)
    if (this.#cut.has(`${msg.from}-${msg.to}`) || this.#ignored.has(msg.type)) return
    this.#queue.push(msg)
  }

  /** Handles Readys and delivers messages until nothing is left to do. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const id of this.members.keys()) this.handleReady(id)
      if (this.#queue.length === 0) return
      const batch = this.#queue
      this.#queue = []
      for (const msg of batch) this.members.get(msg.to)?.node.step(msg)
    }
    throw new Error('network did not stabilize')
  }

  /** Drops every message queued but not yet delivered. */
  dropQueued(): void {
    this.#queue = []
  }

  /** Takes every queued message out of the network, for tests that inspect or deliver by hand. */
  takeQueued(): Message[] {
    const q = this.#queue
    this.#queue = []
    return q
  }

  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}-${b}`)
    this.#cut.add(`${b}-${a}`)
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other)
  }

  heal(): void {
    this.#cut.clear()
    this.#ignored.clear()
  }

  ignore(type: MessageType): void {
    this.#ignored.add(type)
  }

  /** Ticks `id` n times, handling its Readys and stabilizing after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick()
      this.stabilize()
    }
  }

  /** Campaigns `id` and stabilizes. */
  elect(id: NodeId): void {
    this.node(id).campaign()
    this.stabilize()
  }

  leader(): NodeId {
    const leaders = [...this.members.values()].filter((m) => m.node.status().role === 'leader')
    if (leaders.length !== 1) return 0
    return (leaders[0] as Member).id
  }

  /** The data of applied normal entries (skipping the leaders' empty entries), in order. */
  appliedData(id: NodeId): string[] {
    const dec = new TextDecoder()
    return [...this.member(id).applied.values()]
      .filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => dec.decode(e.data))
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
