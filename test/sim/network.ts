/**
 * The simulated network between nodes: one logical queue per directed link, fed by `send` and
 * drained by scheduler events. Fault model (every draw from the network's own PRNG stream):
 * - latency: uniform in [delayMin, 2·delayMean − delayMin] per packet;
 * - drop: a packet is lost with odds `drop`;
 * - delay spike: with odds `delaySpike` a packet waits up to 10× the mean on top (a clogged link);
 * - duplicate: with odds `duplicate` a second copy travels with its own latency;
 * - reorder: links are FIFO, except that with odds `reorder` a packet overtakes those queued
 *   ahead of it on its link;
 * - partitions: a set of cut directed links. `uniform-size` splits the nodes into two random
 *   sides, `isolate-single` cuts one random node off, `isolate-leader` cuts off the given node.
 *   A symmetric partition cuts both directions; an asymmetric one only side A → side B.
 *   A packet is dropped if its link is cut when it is sent or when it arrives. `heal()` restores
 *   every link.
 * Nodes that are down are the cluster's business: it drops what arrives for them.
 *
 * @module
 */
import type { Prng, Ratio } from './prng.ts'
import type { Scheduler } from './scheduler.ts'

export interface NetworkOptions {
  /** Minimum one-way latency, in ms. */
  readonly delayMin: number
  /** Mean one-way latency, in ms (≥ delayMin). */
  readonly delayMean: number
  readonly drop: Ratio
  readonly delaySpike: Ratio
  readonly duplicate: Ratio
  readonly reorder: Ratio
}

export type PartitionMode = 'uniform-size' | 'isolate-single' | 'isolate-leader'

export const PARTITION_MODES: readonly PartitionMode[] = ['uniform-size', 'isolate-single', 'isolate-leader']

/** How often each network fault fired. Keys of `partitions` are `<mode>/<sym|asym>`. */
export interface NetworkCounts {
  sent: number
  delivered: number
  dropped: number
  droppedByPartition: number
  delayed: number
  duplicated: number
  reordered: number
  partitions: Record<string, number>
  heals: number
}

export interface Packet {
  readonly from: number
  readonly to: number
}

export type DropReason = 'drop' | 'partition'

interface Link {
  /** Arrival time of the last packet queued in FIFO order; later FIFO packets arrive no earlier. */
  lastArrival: number
}

export class Network<P extends Packet> {
  readonly counts: NetworkCounts = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    droppedByPartition: 0,
    delayed: 0,
    duplicated: 0,
    reordered: 0,
    partitions: {},
    heals: 0,
  }
  readonly #prng: Prng
  #options: NetworkOptions
  readonly #scheduler: Scheduler
  readonly #deliver: (p: P) => void
  readonly #onDrop: (p: P, reason: DropReason) => void
  readonly #links = new Map<number, Link>()
  /** Cut directed links, keyed by {@link linkKey}. */
  readonly #cut = new Set<number>()

  constructor(
    prng: Prng,
    options: NetworkOptions,
    scheduler: Scheduler,
    deliver: (p: P) => void,
    onDrop: (p: P, reason: DropReason) => void,
  ) {
    if (options.delayMean < options.delayMin) throw new Error('delayMean < delayMin')
    this.#prng = prng
    this.#options = options
    this.#scheduler = scheduler
    this.#deliver = deliver
    this.#onDrop = onDrop
  }

  get partitioned(): boolean {
    return this.#cut.size > 0
  }

  /** True if packets from → to are currently cut. */
  isCut(from: number, to: number): boolean {
    return this.#cut.has(linkKey(from, to))
  }

  send(p: P): void {
    this.counts.sent++
    if (this.isCut(p.from, p.to)) return this.#drop(p, 'partition')
    if (this.#prng.ratio(this.#options.drop)) return this.#drop(p, 'drop')
    this.#enqueue(p)
    if (this.#prng.ratio(this.#options.duplicate)) {
      this.counts.duplicated++
      this.#enqueue(p)
    }
  }

  /**
   * Cuts links among `nodes` (which must hold ≥ 2 ids) according to `mode`; `leader` is the node
   * `isolate-leader` cuts off (if null, a random one). Replaces any existing partition. Returns
   * the two sides, side A first.
   */
  partition(
    mode: PartitionMode,
    symmetric: boolean,
    nodes: readonly number[],
    leader: number | null,
  ): [number[], number[]] {
    if (nodes.length < 2) throw new Error('partition needs two nodes')
    this.#cut.clear()
    const shuffled = this.#prng.shuffle([...nodes])
    let sideA: number[]
    if (mode === 'uniform-size') sideA = shuffled.slice(0, this.#prng.range(1, nodes.length - 1))
    else if (mode === 'isolate-leader' && leader !== null && nodes.includes(leader)) sideA = [leader]
    else sideA = shuffled.slice(0, 1)
    const sideB = nodes.filter((n) => !sideA.includes(n))
    for (const a of sideA) {
      for (const b of sideB) {
        this.#cut.add(linkKey(a, b))
        if (symmetric) this.#cut.add(linkKey(b, a))
      }
    }
    const key = `${mode}/${symmetric ? 'sym' : 'asym'}`
    this.counts.partitions[key] = (this.counts.partitions[key] ?? 0) + 1
    return [sideA.sort((x, y) => x - y), sideB]
  }

  /** Stops drawing faults (drops, spikes, duplicates, reorders); latency stays. */
  calm(): void {
    const none = { num: 0, den: 1 }
    this.#options = { ...this.#options, drop: none, delaySpike: none, duplicate: none, reorder: none }
  }

  heal(): void {
    if (this.#cut.size === 0) return
    this.#cut.clear()
    this.counts.heals++
  }

  #drop(p: P, reason: DropReason): void {
    if (reason === 'partition') this.counts.droppedByPartition++
    else this.counts.dropped++
    this.#onDrop(p, reason)
  }

  #enqueue(p: P): void {
    const o = this.#options
    const now = this.#scheduler.now
    let delay = this.#prng.range(o.delayMin, 2 * o.delayMean - o.delayMin)
    if (this.#prng.ratio(o.delaySpike)) {
      this.counts.delayed++
      delay += this.#prng.range(1, 10 * Math.max(1, o.delayMean))
    }
    const key = linkKey(p.from, p.to)
    let link = this.#links.get(key)
    if (link === undefined) {
      link = { lastArrival: 0 }
      this.#links.set(key, link)
    }
    let arrival = now + delay
    if (link.lastArrival > now + o.delayMin && this.#prng.ratio(o.reorder)) {
      // Overtake at least one packet already queued on this link.
      this.counts.reordered++
      arrival = Math.min(arrival, this.#prng.range(now + o.delayMin, link.lastArrival - 1))
    } else {
      arrival = Math.max(arrival, link.lastArrival)
      link.lastArrival = arrival
    }
    this.#scheduler.at(arrival, 'net', () => {
      if (this.isCut(p.from, p.to)) return this.#drop(p, 'partition')
      this.counts.delivered++
      this.#deliver(p)
    })
  }
}

function linkKey(from: number, to: number): number {
  return from * 0x10000 + to
}
