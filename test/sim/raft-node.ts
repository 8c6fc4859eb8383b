/**
 * A {@link SimNode} made of a bare RawNode over a {@link SimDisk}: the Ready loop of the member
 * actor, reduced to what Raft needs. Each Ready is handled in the contract's order:
 *
 *   write snapshot / entries / hard state to the disk
 *     └─ mustSync? fsync, and wait for it (virtual latency; the node keeps ticking and stepping)
 *   send messages → install snapshot → apply committed entries (applyConfChange for conf-change
 *   entries) → hand read states out → maybe checkpoint → advance() → next Ready
 *
 * Invariant: at most one Ready is in progress; ready() is never called before the previous
 * advance(). The state machine is a {@link StateMachine}; every `compactEvery` applied entries it
 * is checkpointed into a snapshot and the log is compacted to it. {@link raftDriver} makes the
 * cluster's nodes of this kind.
 *
 * @module
 */
import { RawNode, DEFAULT_CONFIG, decodeConfChange, describeReady } from '../../src/raft/index.ts'
import type {
  ConfChange,
  ConfState,
  Message,
  NodeId,
  ProposalResult,
  Ready,
  UnsafeKnobs,
} from '../../src/raft/types.ts'
import type { NodeDriver, NodeHost, NodeStatus, PeerProgress, SimNode } from './node-port.ts'
import type { Prng } from './prng.ts'
import type { Scheduler } from './scheduler.ts'
import { SimDisk, emptyImage, foundingImage, type DiskCounts, type DiskOptions } from './sim-disk.ts'
import { StateMachine } from './state-machine.ts'

/** Flow-control knobs of the Raft config, drawn per scenario (small values split MsgApps). */
export interface RaftTuning {
  readonly maxSizePerMsg: number
  readonly maxInflightMsgs: number
  readonly maxCommittedSizePerReady: number
}

export interface RaftNodeOptions {
  readonly tuning: RaftTuning
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly electionTick: number
  /** Applied entries between two checkpoints (log compactions). */
  readonly compactEvery: number
  /** On start, tell Raft the durable applied index (true) or 0, letting it derive it (false). */
  readonly passApplied: boolean
  readonly unsafe?: UnsafeKnobs
}

/**
 * RaftNodes over SimDisks: a founding slot's disk holds the bootstrap snapshot of the founding
 * voters, a joiner's is empty. `options` draws each incarnation's options from its stream.
 */
export function raftDriver(
  disk: DiskOptions,
  scheduler: Scheduler,
  counts: DiskCounts,
  options: (prng: Prng) => RaftNodeOptions,
): NodeDriver<RaftNode, SimDisk> {
  return {
    provision: (_id, founders, prng) => {
      const image = founders === null ? emptyImage() : foundingImage({ voters: [...founders], learners: [] }, EMPTY)
      return new SimDisk(prng, disk, scheduler, counts, image)
    },
    start: (host, simDisk, prng) => new RaftNode(host, simDisk, prng, options(prng)),
  }
}

const EMPTY = new Uint8Array(0)

export class RaftNode implements SimNode {
  readonly id: NodeId
  readonly #host: NodeHost
  readonly #disk: SimDisk
  readonly #raw: RawNode
  readonly #compactEvery: number
  #sm: StateMachine
  #confState: ConfState
  #lastCheckpoint: number
  /** A Ready is being persisted; ready() must wait for its advance(). */
  #busy = false
  /** Input arrived since the last ready(): Raft may hold entries the observer has not seen. */
  #dirty = true
  #stopped = false
  /** Last term this node was reported leader of (each (node, term) is reported once). */
  #leaderTerm = -1

  constructor(host: NodeHost, disk: SimDisk, rand: Prng, options: RaftNodeOptions) {
    this.id = host.id
    this.#host = host
    this.#disk = disk
    const image = disk.image
    host.observer.recovered(this.id, image)
    this.#sm = StateMachine.decode(image.snapshot.data, image.snapshot.metadata.index)
    this.#confState = image.snapshot.metadata.confState
    this.#lastCheckpoint = image.snapshot.metadata.index
    this.#compactEvery = options.compactEvery
    this.#raw = new RawNode({
      ...DEFAULT_CONFIG,
      ...options.tuning,
      id: host.id,
      storage: disk.storage,
      applied: options.passApplied ? this.#sm.index : 0,
      rand: (n) => rand.int(n),
      electionTick: options.electionTick,
      preVote: options.preVote,
      checkQuorum: options.checkQuorum,
      ...(options.unsafe ? { unsafe: options.unsafe } : {}),
    })
    this.#input()
  }

  tick(): void {
    this.#raw.tick()
    this.#input()
  }

  receive(m: Message): void {
    this.#raw.step(m)
    this.#input()
  }

  propose(data: Uint8Array): ProposalResult {
    const r = this.#raw.propose(data)
    this.#input()
    return r
  }

  proposeConfChange(cc: ConfChange): ProposalResult {
    const r = this.#raw.proposeConfChange(cc)
    this.#input()
    return r
  }

  readIndex(ctx: Uint8Array): ProposalResult {
    const r = this.#raw.readIndex(ctx)
    this.#input()
    return r
  }

  transferLeader(to: NodeId): void {
    this.#raw.transferLeader(to)
    this.#input()
  }

  reportUnreachable(id: NodeId): void {
    this.#raw.reportUnreachable(id)
    this.#input()
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#raw.reportSnapshot(id, ok)
    this.#input()
  }

  status(): NodeStatus {
    const s = this.#raw.status()
    let progress: Map<NodeId, PeerProgress> | null = null
    if (s.progress) {
      progress = new Map()
      for (const [id, p] of s.progress) progress.set(id, { match: p.match, isLearner: p.isLearner })
    }
    return {
      id: this.id,
      term: s.term,
      role: s.role,
      lead: s.lead,
      commit: s.commit,
      applied: this.#sm.index,
      lastIndex: this.#disk.storage.lastIndex(),
      confState: this.#confState,
      progress,
    }
  }

  stop(): void {
    this.#stopped = true
  }

  /** After every call into Raft: report leadership, then drain Readies. */
  #input(): void {
    if (this.#stopped) return
    this.#dirty = true
    const s = this.#raw.status()
    if (s.role === 'leader' && s.term !== this.#leaderTerm) {
      this.#leaderTerm = s.term
      this.#host.observer.leader(this.id, s.term)
    }
    this.#pump()
  }

  #pump(): void {
    const obs = this.#host.observer
    while (!this.#stopped && !this.#busy && this.#raw.hasReady()) {
      const rd = this.#raw.ready()
      this.#dirty = false
      obs.trace(() => `n${this.id} ready ${describeReady(rd)}`)
      if (rd.snapshot) {
        this.#disk.write({ kind: 'snapshot', snapshot: rd.snapshot })
        obs.logSnapshot(this.id, rd.snapshot.metadata.index, rd.snapshot.metadata.term)
      }
      if (rd.entries.length > 0) {
        this.#disk.write({ kind: 'entries', entries: rd.entries })
        obs.logAppended(this.id, rd.entries)
      }
      if (rd.hardState) this.#disk.write({ kind: 'hard-state', hardState: rd.hardState })
      if (rd.mustSync) {
        this.#busy = true
        this.#disk.fsync(() => {
          if (this.#stopped) return
          this.#busy = false
          this.#finish(rd)
          this.#pump()
        })
      } else {
        this.#finish(rd)
      }
    }
    if (this.#stopped) return
    if (!this.#busy) this.#dirty = false
    if (!this.#dirty) obs.logInSync(this.id)
  }

  /** Steps 2–4 of the Ready contract, once the Ready's writes are durable. */
  #finish(rd: Ready): void {
    const obs = this.#host.observer
    if (rd.hardState) obs.committed(this.id, rd.hardState.commit)
    if (rd.messages.length > 0) this.#host.send(rd.messages)
    if (rd.snapshot) {
      const sm = StateMachine.decode(rd.snapshot.data, rd.snapshot.metadata.index)
      this.#sm = sm
      this.#confState = rd.snapshot.metadata.confState
      this.#lastCheckpoint = sm.index
      obs.installed(this.id, sm.index, sm.hash)
    }
    for (const e of rd.committedEntries) {
      this.#sm.apply(e)
      if (e.type === 'conf-change') {
        const cc = decodeConfChange(e.data)
        this.#confState = this.#raw.applyConfChange(cc)
        obs.confChanged(this.id, cc, this.#confState)
      }
      obs.applied(this.id, e, this.#sm.hash)
    }
    for (const rs of rd.readStates) obs.readState(this.id, rs)
    if (this.#sm.index - this.#lastCheckpoint >= this.#compactEvery) {
      this.#disk.checkpoint(this.#sm.index, this.#confState, this.#sm.encode())
      this.#lastCheckpoint = this.#sm.index
    }
    this.#raw.advance()
  }
}
