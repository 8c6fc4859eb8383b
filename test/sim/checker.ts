/**
 * The safety oracle. It is fed, event by event, through the {@link NodeObserver} taps (plus
 * crash resets and read issues from the cluster and workload) and checks, as each fact arrives:
 *
 * 1. election-safety: at most one leader per term, over the whole run (crashes included).
 * 2. log-matching: two logs holding an entry with the same (index, term) are identical up to it.
 *    Each node's log is kept as a hash chain (chain[i] = mix(chain[i-1], i, term, data)); the
 *    first chain value seen for each (index, term) is recorded and every later one must equal it.
 * 3. leader-completeness: a leader of term T holds every entry known committed when it was first
 *    seen leading T (checked once its log is in sync with its Raft log).
 * 4. state-machine-safety: all nodes have the same state-machine digest after applying index i
 *    (a snapshot install counts as applying up to its index), and nothing uncommitted is applied.
 * 5. committed-durability: an entry known committed (from a commit index some node wrote with
 *    its hard state) is never replaced: not on a node that held it, and no node commits a
 *    different entry at that index.
 * 6. read-linearizability: a ReadState answering a request carries an index ≥ every index known
 *    committed when the request was made.
 *
 * "Known committed" is the highest commit index any node wrote; a crash loses unsynced log
 * writes legitimately, so crash resets are not checked against rule 5's per-node clause.
 * Every violation names its rule, virtual time, nodes and the scenario's seed.
 *
 * @module
 */
import type { Entry, NodeId, ReadState } from '../../src/raft/types.ts'
import { hashBytes, mix } from './hash.ts'
import type { NodeObserver } from './node-port.ts'
import type { DiskImage } from './sim-disk.ts'

export type Rule =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'committed-durability'
  | 'read-linearizability'
  | 'liveness'
  | 'exception'
  // The member driver's own rules (member-node.ts, member-workload.ts, member-harness.ts):
  /** A member could not reopen its crashed disk, or stopped on an error no injected fault explains. */
  | 'recovery'
  /** Converged members at the same applied index hold different MVCC state (store.hash, hashKv). */
  | 'mvcc-hash'
  /** An acknowledged put is missing or changed after convergence. */
  | 'acked-write-lost'
  /** An answer (read or write) contradicts one acknowledged before the request was sent. */
  | 'linearizability'

export interface Violation {
  readonly rule: Rule
  /** Virtual time, ms. */
  readonly time: number
  readonly nodes: readonly NodeId[]
  readonly seed: number
  readonly detail: string
}

/** One node's log as the checker sees it: entries base+1 … base+terms.length. */
class LogView {
  base = 0
  baseChain = 0
  terms: number[] = []
  chains: number[] = []

  get last(): number {
    return this.base + this.terms.length
  }

  /** Chain value at index i, for base ≤ i ≤ last. */
  chain(i: number): number {
    return i === this.base ? this.baseChain : (this.chains[i - this.base - 1] as number)
  }

  truncate(last: number): void {
    const keep = Math.max(0, last - this.base)
    this.terms.length = Math.min(this.terms.length, keep)
    this.chains.length = this.terms.length
  }
}

export function chainOf(prev: number, index: number, term: number, data: Uint8Array): number {
  return mix(mix(mix(prev, index), term), hashBytes(data))
}

export class Checker implements Omit<NodeObserver, 'confChanged' | 'trace'> {
  readonly violations: Violation[] = []
  readonly #seed: number
  readonly #now: () => number
  readonly #leaders = new Map<number, NodeId>()
  readonly #views = new Map<NodeId, LogView>()
  /** `${index}/${term}` → first chain value seen for it, and the node it came from. */
  readonly #seen = new Map<string, { chain: number; node: NodeId }>()
  /** committed[i] = chain value of the committed entry at i (sparse below snapshots). */
  readonly #committed: number[] = [0]
  #maxCommitted = 0
  /** appliedHash[i] = state machine digest after index i, and who applied it first. */
  readonly #applied = new Map<number, { hash: number; node: NodeId }>()
  readonly #pendingLeaders = new Map<NodeId, { term: number; index: number }>()
  readonly #reads = new Map<string, number>()

  constructor(seed: number, now: () => number) {
    this.#seed = seed
    this.#now = now
  }

  /** Highest index known committed. */
  get maxCommitted(): number {
    return this.#maxCommitted
  }

  report(rule: Rule, nodes: readonly NodeId[], detail: string): void {
    this.violations.push({ rule, time: this.#now(), nodes, seed: this.#seed, detail })
  }

  leader(id: NodeId, term: number): void {
    const other = this.#leaders.get(term)
    if (other !== undefined && other !== id) {
      this.report('election-safety', [other, id], `two leaders in term ${term}`)
      return
    }
    this.#leaders.set(term, id)
    this.#pendingLeaders.set(id, { term, index: this.#maxCommitted })
  }

  logAppended(id: NodeId, entries: readonly Entry[]): void {
    const v = this.#view(id)
    const live = entries.filter((e) => e.index > v.base)
    if (live.length === 0) return
    const first = (live[0] as Entry).index
    if (first > v.last + 1) {
      this.report('log-matching', [id], `append at ${first} leaves a gap after ${v.last}`)
      return
    }
    const held = this.#highestCommittedHeld(v, first)
    v.truncate(first - 1)
    let prev = v.chain(first - 1)
    for (const e of live) {
      prev = chainOf(prev, e.index, e.term, e.data)
      v.terms.push(e.term)
      v.chains.push(prev)
      this.#see(id, e.index, e.term, prev)
    }
    if (held > 0 && (held > v.last || v.chain(held) !== this.#committed[held]))
      this.report('committed-durability', [id], `append at ${first} replaced committed entry ${held}`)
  }

  logSnapshot(id: NodeId, index: number, term: number): void {
    const v = this.#view(id)
    if (v.last > index) {
      const held = this.#highestCommittedHeld(v, index + 1)
      if (held > 0) this.report('committed-durability', [id], `snapshot at ${index} dropped committed ${held}`)
    }
    this.#resetView(id, index, term)
    const c = this.#committed[index]
    if (index <= this.#maxCommitted && c !== undefined && this.#view(id).baseChain !== c)
      this.report('committed-durability', [id], `snapshot at ${index}/${term} is not the committed entry`)
  }

  /** A (re)start: the node's log is what its disk image holds (unsynced writes may be gone). */
  recovered(id: NodeId, image: DiskImage): void {
    // A leadership check still pending was about the lost in-memory log; the new process has none.
    this.#pendingLeaders.delete(id)
    const meta = image.snapshot.metadata
    this.#resetView(id, meta.index, meta.term)
    if (image.entries.length > 0) this.logAppended(id, image.entries)
    this.committed(id, image.hardState.commit)
  }

  logInSync(id: NodeId): void {
    const p = this.#pendingLeaders.get(id)
    if (p === undefined) return
    this.#pendingLeaders.delete(id)
    const v = this.#view(id)
    const at = Math.max(p.index, v.base)
    if (at === 0) return
    const want = this.#committed[at]
    const lead = `leader of term ${p.term}`
    if (at > v.last) {
      this.report('leader-completeness', [id], `${lead} lacks committed ${p.index} (log ends ${v.last})`)
    } else if (want !== undefined && v.chain(at) !== want) {
      this.report('leader-completeness', [id], `${lead} holds a different entry ${at}`)
    }
  }

  committed(id: NodeId, commit: number): void {
    const v = this.#view(id)
    if (commit > v.last) {
      this.report('committed-durability', [id], `commit ${commit} beyond log end ${v.last}`)
      return
    }
    if (commit < v.base) return
    const known = this.#committed[commit]
    if (commit <= this.#maxCommitted && known !== undefined && known !== v.chain(commit)) {
      this.report('committed-durability', [id], `commits a different entry at ${commit}`)
      return
    }
    for (let i = Math.max(this.#maxCommitted + 1, v.base); i <= commit; i++) this.#committed[i] = v.chain(i)
    this.#maxCommitted = Math.max(this.#maxCommitted, commit)
  }

  applied(id: NodeId, entry: Entry, hash: number): void {
    if (entry.index > this.#maxCommitted)
      this.report('state-machine-safety', [id], `applied ${entry.index} above commit ${this.#maxCommitted}`)
    this.#appliedAt(id, entry.index, hash)
  }

  installed(id: NodeId, index: number, hash: number): void {
    this.#appliedAt(id, index, hash)
  }

  /** A read was requested (on any node) with context key `key`. */
  readIssued(key: string): void {
    this.#reads.set(key, this.#maxCommitted)
  }

  readState(id: NodeId, rs: ReadState): void {
    const key = new TextDecoder().decode(rs.ctx)
    const required = this.#reads.get(key)
    if (required !== undefined && rs.index < required)
      this.report('read-linearizability', [id], `read ${key} at ${rs.index} < ${required} committed before it`)
  }

  #appliedAt(id: NodeId, index: number, hash: number): void {
    const first = this.#applied.get(index)
    if (first === undefined) this.#applied.set(index, { hash, node: id })
    else if (first.hash !== hash)
      this.report('state-machine-safety', [first.node, id], `different state after applying index ${index}`)
  }

  #view(id: NodeId): LogView {
    let v = this.#views.get(id)
    if (v === undefined) {
      v = new LogView()
      this.#views.set(id, v)
    }
    return v
  }

  #resetView(id: NodeId, index: number, term: number): void {
    const v = this.#view(id)
    v.base = index
    v.terms = []
    v.chains = []
    const known = this.#seen.get(`${index}/${term}`)?.chain ?? this.#committed[index]
    v.baseChain = index === 0 ? 0 : (known ?? mix(index, term))
  }

  /** Highest i ≥ from that the view holds and that is the committed entry there; 0 if none. */
  #highestCommittedHeld(v: LogView, from: number): number {
    for (let i = Math.min(v.last, this.#maxCommitted); i >= from && i > v.base; i--)
      if (this.#committed[i] !== undefined && v.chain(i) === this.#committed[i]) return i
    return 0
  }

  #see(id: NodeId, index: number, term: number, chain: number): void {
    const key = `${index}/${term}`
    const first = this.#seen.get(key)
    if (first === undefined) this.#seen.set(key, { chain, node: id })
    else if (first.chain !== chain)
      this.report('log-matching', [first.node, id], `entry ${index}/${term} ends different logs`)
  }
}

