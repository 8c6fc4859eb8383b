/**
 * The chaos workload: concurrent clients doing put, linearizable get, compare-and-set (a txn
 * comparing the value, or the absence of the key) and delete on a few keys `k/0…`; watchers over
 * the whole keyspace that ask for progress notifications and now and then restart from the
 * revision after the last one they saw; and lease workers that grant short leases, attach keys
 * `l/<lease>/<i>`, renew them for a while, then revoke them or let them expire.
 *
 * Every operation goes through the typed client (src/client) with every member as an endpoint,
 * and is recorded in the {@link History} with its outcome (see history.ts). Values are unique.
 *
 * @module
 */
import {
  compare,
  createClient,
  EtcdError,
  GrpcCode,
  notProposed,
  op,
  utf8,
  type Client,
} from '../../src/client/index.ts'
import type { Event } from '../../src/mvcc/kv.ts'
import type {
  History,
  KvOp,
  LeaseRecord,
  Outcome,
  WatchEventRecord,
  WatchMessage,
  WatchSegment,
} from './history.ts'
import type { Rng } from './prng.ts'

export interface WorkloadOptions {
  readonly endpoints: readonly string[]
  readonly clients: number
  readonly keys: number
  readonly watchers: number
  readonly leaseWorkers: number
  /** Per call, failover included; past it a write is unknown. */
  readonly timeoutMs: number
}

/** Codes that prove a request changed nothing (refused before or by validation). */
const DEFINITE = new Set<number>([
  GrpcCode.InvalidArgument,
  GrpcCode.NotFound,
  GrpcCode.FailedPrecondition,
  GrpcCode.OutOfRange,
  GrpcCode.PermissionDenied,
  GrpcCode.Unauthenticated,
  GrpcCode.ResourceExhausted,
])

/** How an error ends an operation: failed only when it proves nothing happened. */
export function classify(error: unknown, write: boolean): { outcome: Outcome; error: string } {
  const message = error instanceof Error ? error.message : String(error)
  if (!write) return { outcome: 'failed', error: message }
  if (
    error instanceof EtcdError &&
    (DEFINITE.has(error.code) || (error.code === GrpcCode.Unavailable && notProposed(error.message)))
  )
    return { outcome: 'failed', error: message }
  return { outcome: 'unknown', error: message }
}

export function eventRecord(e: Event): WatchEventRecord {
  return { type: e.type, key: utf8(e.kv.key), value: utf8(e.kv.value), modRevision: e.kv.modRevision }
}

export class Workload {
  readonly history: History
  readonly #options: WorkloadOptions
  readonly #rng: Rng
  readonly #t0: number
  readonly #stop = new AbortController()
  readonly #tasks: Promise<void>[] = []
  /** The latest value each key is known to hold (a good guess for compare-and-set). */
  readonly #latest = new Map<string, string | null>()
  #nextOp = 0
  #stopWatchers = new AbortController()

  constructor(options: WorkloadOptions, rng: Rng, history: History, t0: number) {
    this.#options = options
    this.#rng = rng
    this.history = history
    this.#t0 = t0
  }

  now(): number {
    return performance.now() - this.#t0
  }

  client(): Client {
    return createClient({
      endpoints: this.#rng.shuffle(this.#options.endpoints),
      timeoutMs: this.#options.timeoutMs,
    })
  }

  start(): void {
    for (let c = 0; c < this.#options.clients; c++)
      this.#tasks.push(this.#kvClient(c, this.#rng.fork(`client-${c}`)))
    for (let w = 0; w < this.#options.leaseWorkers; w++)
      this.#tasks.push(this.#leaseWorker(this.#rng.fork(`lease-${w}`)))
    for (let w = 0; w < this.#options.watchers; w++)
      this.#tasks.push(this.#watcher(w, this.#rng.fork(`watch-${w}`)))
  }

  /** Stops the clients and lease workers (in-flight calls finish), then the watchers after `watchLingerMs`. */
  async stop(watchLingerMs: number): Promise<void> {
    this.#stop.abort()
    await new Promise((r) => setTimeout(r, watchLingerMs))
    this.#stopWatchers.abort()
    await Promise.all(this.#tasks)
  }

  async #kvClient(c: number, rng: Rng): Promise<void> {
    const client = this.client()
    let n = 0
    while (!this.#stop.signal.aborted) {
      const key = `k/${rng.int(0, this.#options.keys - 1)}`
      const roll = rng.int(1, 100)
      const value = `c${c}-${n++}`
      if (roll <= 35) await this.#get(c, client, key)
      else if (roll <= 60) await this.#put(c, client, key, value)
      else if (roll <= 90) await this.#cas(c, client, key, value)
      else await this.#delete(c, client, key)
      await pause(rng.int(0, 10))
    }
  }

  #record(op: Omit<KvOp, 'id' | 'invoke' | 'complete' | 'outcome'>): KvOp {
    const rec: KvOp = {
      ...op,
      id: this.#nextOp++,
      invoke: this.now(),
      complete: Infinity,
      outcome: 'unknown',
    }
    this.history.ops.push(rec)
    return rec
  }

  async #run(rec: KvOp, write: boolean, call: () => Promise<void>): Promise<void> {
    try {
      await call()
      rec.outcome = 'ok'
    } catch (error) {
      const { outcome, error: message } = classify(error, write)
      rec.outcome = outcome
      rec.error = message
    }
    rec.complete = this.now()
  }

  async #get(c: number, client: Client, key: string): Promise<void> {
    const rec = this.#record({ client: c, kind: 'get', key })
    await this.#run(rec, false, async () => {
      const res = await client.kv.get(key)
      const kv = res.kvs[0]
      rec.read = kv === undefined ? null : utf8(kv.value)
      rec.modRevision = kv?.modRevision ?? 0
      rec.revision = res.header.revision
      this.#latest.set(key, rec.read)
    })
  }

  async #put(c: number, client: Client, key: string, value: string): Promise<void> {
    const rec = this.#record({ client: c, kind: 'put', key, value })
    await this.#run(rec, true, async () => {
      rec.revision = (await client.kv.put(key, value)).header.revision
      this.#latest.set(key, value)
    })
  }

  async #delete(c: number, client: Client, key: string): Promise<void> {
    const rec = this.#record({ client: c, kind: 'delete', key })
    await this.#run(rec, true, async () => {
      const res = await client.kv.delete(key)
      rec.deleted = res.deleted
      rec.revision = res.header.revision
      this.#latest.set(key, null)
    })
  }

  async #cas(c: number, client: Client, key: string, value: string): Promise<void> {
    const expect = this.#latest.get(key) ?? null
    const rec = this.#record({ client: c, kind: 'cas', key, value, expect })
    await this.#run(rec, true, async () => {
      const cond = expect === null ? compare.version(key, '=', 0) : compare.value(key, '=', expect)
      const res = await client.kv.txn().if(cond).then(op.put(key, value)).else(op.get(key)).commit()
      rec.succeeded = res.succeeded
      rec.revision = res.header.revision
      if (!res.succeeded) {
        const first = res.responses[0]
        const kv = first?.type === 'range' ? first.response.kvs[0] : undefined
        rec.read = kv === undefined ? null : utf8(kv.value)
      }
      this.#latest.set(key, res.succeeded ? value : (rec.read ?? null))
    })
  }

  async #leaseWorker(rng: Rng): Promise<void> {
    const client = this.client()
    while (!this.#stop.signal.aborted) {
      const ttl = rng.int(2, 4)
      const grantInvoke = this.now()
      let id: bigint
      try {
        id = (await client.lease.grant(ttl)).id
      } catch {
        await pause(200)
        continue
      }
      const lease: LeaseRecord = {
        id: id.toString(16),
        ttl,
        grantInvoke,
        keepalives: [],
        keys: [],
        lastRenewInvoke: grantInvoke,
      }
      this.history.leases.push(lease)
      for (let i = 0; i < rng.int(1, 2); i++) {
        const key = `l/${lease.id}/${i}`
        const rec = this.#record({ client: -1, kind: 'put', key, value: `${key}@${this.now().toFixed(0)}` })
        await this.#run(rec, true, async () => {
          rec.revision = (await client.kv.put(key, rec.value as string, { lease: id })).header.revision
        })
        if (rec.outcome !== 'failed') lease.keys.push(key)
      }
      const renewFor = rng.int(0, 5000)
      const until = this.now() + renewFor
      while (this.now() < until && !this.#stop.signal.aborted) {
        await pause(rng.int(400, 900))
        const invoke = this.now()
        lease.lastRenewInvoke = invoke
        try {
          const res = await client.lease.keepAliveOnce(id)
          if (res.ttl > 0) lease.keepalives.push({ invoke, ttl: res.ttl })
          else break
        } catch {
          // outcome unknown: lastRenewInvoke covers it
        }
      }
      if (rng.chance(0.5)) {
        lease.revokeInvoke = this.now()
        await client.lease.revoke(id).catch(() => undefined)
      }
      await pause(rng.int(100, 1000))
    }
  }

  async #watcher(w: number, rng: Rng): Promise<void> {
    const client = this.client()
    let last = 0
    const everything = new Uint8Array([0])
    while (!this.#stopWatchers.signal.aborted) {
      const start = w === 0 ? (last === 0 ? 1 : last + 1) : last === 0 ? 0 : last + 1
      const segment: WatchSegment = { watcher: w, startRevision: start, opened: this.now(), messages: [] }
      this.history.watches.push(segment)
      const watch = client.watch(everything, { fromKey: true, startRevision: start })
      const progress = setInterval(() => watch.requestProgress(), rng.int(700, 1500))
      const restart = setTimeout(() => watch.cancel(), rng.int(4000, 15000))
      const stopped = (): void => watch.cancel()
      this.#stopWatchers.signal.addEventListener('abort', stopped, { once: true })
      try {
        for await (const res of watch) {
          const kind: WatchMessage['kind'] = res.canceled
            ? 'canceled'
            : res.created
              ? 'created'
              : res.events.length > 0
                ? 'events'
                : 'progress'
          const events = res.events.map(eventRecord)
          segment.messages.push({
            at: this.now(),
            kind,
            revision: res.header.revision,
            events,
            compactRevision: res.compactRevision,
          })
          const lastEvent = events[events.length - 1]
          if (lastEvent !== undefined) last = lastEvent.modRevision
        }
      } catch (error) {
        segment.error = error instanceof Error ? error.message : String(error)
      } finally {
        clearInterval(progress)
        clearTimeout(restart)
        this.#stopWatchers.signal.removeEventListener('abort', stopped)
      }
      await pause(rng.int(0, 300))
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
