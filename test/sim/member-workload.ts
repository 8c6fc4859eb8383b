/**
 * The member driver's clients: real MVCC requests through the actor's own API, as the HTTP layer
 * makes them. At drawn intervals a client picks the leader (or, with odds `anyNode`, any live
 * member: followers forward) and one request, weighted by the scenario's mix:
 *
 *   put          a fresh key `k<n>` (every key is written once, so its fate is simple to check)
 *   txn          if MOD(k) = its acked revision then put `k<n>a` else put `k<n>b`, for an acked k
 *   delete       an acked key (each key at most once)
 *   lease-grant  a lease of 2–5 s (the leader's lessor revokes it when it expires)
 *   leased-put   a fresh key attached to an acked lease
 *   lease-revoke an acked lease (each at most once)
 *   compaction   to the revision of an acked write
 *   read         actor.linearizableRead(), then actor.store.range(k) for an acked key k
 *
 * A request is ACKNOWLEDGED when its promise resolves (the proposing member applied it); a
 * rejection (timeout, stopped, not leader) leaves its outcome unknown. Checked as answers arrive
 * (rule `linearizability`), with R = the highest revision acknowledged before the request was sent:
 * - every answer's revision is ≥ R, and > R for a write that created a revision;
 * - a txn whose compared key was never the target of a delete takes its success branch;
 * - a delete of a key that no lease could have removed deletes exactly one key;
 * - a read returns a revision ≥ R, and its key with the acknowledged value and revision.
 * And by {@link MemberWorkload.verify} on the converged store (rule `acked-write-lost`): every
 * acknowledged put is present with its value and revision, unless a delete of it was sent or its
 * lease is gone (then it must be absent).
 *
 * @module
 */
import { rangeReq } from '../mvcc/helpers.ts'
import type { Applied, MemberActor } from '../../src/member/index.ts'
import type { Command, KeyValue, MvccStore, PutRequest, RangeResponse } from '../../src/mvcc/index.ts'
import type { NodeId } from '../../src/raft/types.ts'
import type { Rule } from './checker.ts'
import type { Prng } from './prng.ts'
import type { Scheduler } from './scheduler.ts'
import type { WorkloadOptions } from './workload.ts'

/** Relative weights of the request kinds. */
export interface MemberWorkloadMix {
  readonly put: number
  readonly txn: number
  readonly delete: number
  readonly leaseGrant: number
  readonly leasedPut: number
  readonly leaseRevoke: number
  readonly compaction: number
  readonly read: number
}

type Kind = keyof MemberWorkloadMix

export interface MemberWorkloadCounts {
  sent: Record<Kind, number>
  acked: Record<Kind, number>
  /** Rejected or timed out: outcome unknown. */
  failed: number
  /** No live member to send to, or it was still starting. */
  unavailable: number
}

/** What the workload needs from the cluster. */
export interface MemberTarget {
  leaderId(): NodeId | null
  upIds(): NodeId[]
  node(id: NodeId): { readonly actor: MemberActor | null } | null
}

interface AckedPut {
  readonly value: string
  readonly revision: number
  readonly lease: bigint
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

function zeroes(): Record<Kind, number> {
  return { put: 0, txn: 0, delete: 0, leaseGrant: 0, leasedPut: 0, leaseRevoke: 0, compaction: 0, read: 0 }
}

/** The latest version of `key` in `store`, and the store's revision. */
function get(store: MvccStore, key: string): { kv: KeyValue | null; revision: number } {
  const r: RangeResponse = store.range(rangeReq(key))
  return { kv: r.kvs[0] ?? null, revision: r.header.revision }
}

function putRequest(key: string, lease: bigint): PutRequest {
  const value = encoder.encode(`v:${key}`)
  return { key: encoder.encode(key), value, lease, prevKv: false, ignoreValue: false, ignoreLease: false }
}

function put(key: string, lease: bigint): Command {
  return { type: 'put', request: putRequest(key, lease) }
}

export class MemberWorkload {
  readonly counts: MemberWorkloadCounts = { sent: zeroes(), acked: zeroes(), failed: 0, unavailable: 0 }
  readonly #prng: Prng
  readonly #options: WorkloadOptions
  readonly #mix: readonly [Kind, number][]
  readonly #total: number
  readonly #target: MemberTarget
  readonly #report: (rule: Rule, nodes: readonly NodeId[], detail: string) => void
  readonly #trace: (line: () => string) => void
  #next = 0
  /** Highest revision of any acknowledged answer. */
  #maxAcked = 0
  readonly #puts = new Map<string, AckedPut>()
  /** Acked puts without a lease that no delete targeted: what txns and reads look at. */
  readonly #stable: string[] = []
  readonly #deleted = new Set<string>()
  /** Acked leases no revoke targeted. */
  readonly #leases: bigint[] = []

  constructor(
    prng: Prng,
    options: WorkloadOptions,
    mix: MemberWorkloadMix,
    target: MemberTarget,
    report: (rule: Rule, nodes: readonly NodeId[], detail: string) => void,
    trace: (line: () => string) => void,
  ) {
    this.#prng = prng
    this.#options = options
    this.#mix = (Object.entries(mix) as [Kind, number][]).filter(([, w]) => w > 0)
    this.#total = this.#mix.reduce((sum, [, w]) => sum + w, 0)
    this.#target = target
    this.#report = report
    this.#trace = trace
  }

  /** Sends requests until virtual time `until`. */
  run(scheduler: Scheduler, until: number): void {
    const { intervalMin, intervalMax } = this.#options
    const loop = (): void => {
      if (scheduler.now >= until) return
      this.request()
      scheduler.after(this.#prng.range(intervalMin, intervalMax), 'client', loop)
    }
    scheduler.after(this.#prng.range(intervalMin, intervalMax), 'client', loop)
  }

  /** Sends one request now. */
  request(): void {
    const up = this.#target.upIds()
    if (up.length === 0 || this.#total === 0) return
    const leader = this.#target.leaderId()
    const id = leader === null || this.#prng.ratio(this.#options.anyNode) ? this.#prng.pick(up) : leader
    const actor = this.#target.node(id)?.actor ?? null
    if (actor === null) {
      this.counts.unavailable++
      return
    }
    const n = this.#next++
    const kind = this.#kind()
    const floor = this.#maxAcked
    this.counts.sent[kind]++
    const key = `k${n}`
    this.#trace(() => `client ${kind} #${n} to n${id} (acked revision ${floor})`)
    switch (kind) {
      case 'put':
        return this.#send(id, kind, actor.propose(put(key, 0n)), floor, (a) => this.#acked(key, a, 0n))
      case 'leasedPut': {
        const lease = this.#leases.length > 0 ? this.#prng.pick(this.#leases) : 0n
        return this.#send(id, kind, actor.propose(put(key, lease)), floor, (a) => this.#acked(key, a, lease))
      }
      case 'txn':
        return this.#txn(id, actor, key, floor)
      case 'delete':
        return this.#delete(id, actor, floor)
      case 'leaseGrant': {
        const ttl = this.#prng.range(2, 5)
        const grant = actor.propose({ type: 'lease-grant', request: { ttl, id: 0n } })
        return this.#send(id, kind, grant, floor, (a) => {
          if (a.response?.type === 'lease-grant' && a.error === null) this.#leases.push(a.response.response.id)
        })
      }
      case 'leaseRevoke': {
        if (this.#leases.length === 0) return
        const lease = this.#leases.splice(this.#prng.int(this.#leases.length), 1)[0] as bigint
        const revoke = actor.propose({ type: 'lease-revoke', request: { id: lease } })
        return this.#send(id, kind, revoke, floor, () => undefined)
      }
      case 'compaction': {
        const revision = this.#prng.range(1, Math.max(1, floor))
        const compact = actor.propose({ type: 'compaction', request: { revision, physical: false } })
        return this.#send(id, kind, compact, floor, () => undefined)
      }
      case 'read':
        return this.#read(id, actor, floor)
    }
  }

  /**
   * Checks the converged `store` (rule `acked-write-lost`): every acknowledged put is there, or
   * legitimately gone.
   */
  verify(store: MvccStore, nodes: readonly NodeId[]): void {
    const leases = new Set(store.leaseLeases().leases.map((l) => l.id))
    for (const [key, p] of this.#puts) {
      if (this.#deleted.has(key)) continue
      const { kv } = get(store, key)
      if (p.lease !== 0n && !leases.has(p.lease)) {
        if (kv !== null) this.#report('acked-write-lost', nodes, `${key} outlived its lease ${p.lease}`)
      } else if (kv === null) {
        this.#report('acked-write-lost', nodes, `acknowledged put ${key} at revision ${p.revision} is missing`)
      } else if (kv.modRevision !== p.revision || decoder.decode(kv.value) !== p.value) {
        this.#report('acked-write-lost', nodes, `${key}: acknowledged at ${p.revision}, found at ${kv.modRevision}`)
      }
    }
  }

  #kind(): Kind {
    let r = this.#prng.int(this.#total)
    for (const [kind, w] of this.#mix) {
      if (r < w) return kind
      r -= w
    }
    throw new Error('unreachable: weights sum to the total')
  }

  /** Waits for `answer`; checks its revision against `floor`, then runs `onAck`. */
  #send(node: NodeId, kind: Kind, answer: Promise<Applied>, floor: number, onAck: (a: Applied) => void): void {
    const acked = (a: Applied): void => {
      this.#trace(() => `client ${kind} on n${node} acked at revision ${a.revision} ${a.error?.message ?? ''}`)
      this.counts.acked[kind]++
      if (a.revision < floor)
        this.#report('linearizability', [node], `${kind} answered at revision ${a.revision} < ${floor} acked before`)
      this.#maxAcked = Math.max(this.#maxAcked, a.revision)
      onAck(a)
    }
    answer.then(acked, () => this.counts.failed++).catch((err: unknown) => this.#broken(node, kind, err))
  }

  /** A check itself threw: a bug of the simulator or of the store's read path. */
  #broken(node: NodeId, kind: Kind, err: unknown): void {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
    this.#report('exception', [node], `client ${kind}: ${detail}`)
  }

  #acked(key: string, a: Applied, lease: bigint): void {
    if (a.error !== null) return
    this.#puts.set(key, { value: `v:${key}`, revision: a.revision, lease })
    if (lease === 0n) this.#stable.push(key)
  }

  #txn(node: NodeId, actor: MemberActor, key: string, floor: number): void {
    if (this.#stable.length === 0) return
    const on = this.#prng.pick(this.#stable)
    const target = this.#puts.get(on) as AckedPut
    const txn: Command = {
      type: 'txn',
      request: {
        compare: [
          {
            key: encoder.encode(on),
            rangeEnd: EMPTY,
            target: 'MOD',
            result: 'EQUAL',
            version: 0,
            createRevision: 0,
            modRevision: target.revision,
            value: EMPTY,
            lease: 0n,
          },
        ],
        success: [{ type: 'put', request: putRequest(`${key}a`, 0n) }],
        failure: [{ type: 'put', request: putRequest(`${key}b`, 0n) }],
      },
    }
    this.#send(node, 'txn', actor.propose(txn), floor, (a) => {
      if (a.response?.type !== 'txn') return
      const ok = a.response.response.succeeded
      if (!ok && !this.#deleted.has(on))
        this.#report('linearizability', [node], `txn on ${on} (acked at ${target.revision}) took its failure branch`)
      if (a.revision <= floor)
        this.#report('linearizability', [node], `txn wrote at revision ${a.revision} ≤ ${floor} acked before it`)
      this.#acked(`${key}${ok ? 'a' : 'b'}`, a, 0n)
    })
  }

  #delete(node: NodeId, actor: MemberActor, floor: number): void {
    if (this.#stable.length === 0) return
    const key = this.#stable.splice(this.#prng.int(this.#stable.length), 1)[0] as string
    this.#deleted.add(key)
    const request = { key: encoder.encode(key), rangeEnd: EMPTY, prevKv: false }
    this.#send(node, 'delete', actor.propose({ type: 'delete-range', request }), floor, (a) => {
      if (a.response?.type !== 'delete-range') return
      if (a.response.response.deleted !== 1)
        this.#report('linearizability', [node], `delete of acked ${key} deleted ${a.response.response.deleted} keys`)
      else if (a.revision <= floor)
        this.#report('linearizability', [node], `delete wrote at revision ${a.revision} ≤ ${floor} acked before it`)
    })
  }

  #read(node: NodeId, actor: MemberActor, floor: number): void {
    const key = this.#stable.length > 0 ? this.#prng.pick(this.#stable) : null
    const want = key === null ? undefined : this.#puts.get(key)
    const answered = (): void => {
      this.counts.acked.read++
      const { kv, revision } = get(actor.store, key ?? 'k-none')
      this.#trace(() => `client read on n${node} answered at revision ${revision}`)
      if (revision < floor)
        this.#report('linearizability', [node], `read at revision ${revision} < ${floor} acked before it`)
      if (key === null || want === undefined || this.#deleted.has(key)) return
      if (kv === null || kv.modRevision !== want.revision) {
        const found = kv?.modRevision ?? 'nothing'
        this.#report('linearizability', [node], `read of ${key} (acked at ${want.revision}) found ${found}`)
      }
    }
    actor
      .linearizableRead()
      .then(answered, () => this.counts.failed++)
      .catch((err: unknown) => this.#broken(node, 'read', err))
  }
}
