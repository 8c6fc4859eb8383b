/**
 * Service discovery on leases and watches. Each instance of a service is one key under its own
 * {@link Session}, so it disappears within its TTL once its process dies:
 *
 * ```
 *   /edgecd/services/<service>/<instance>  →  {"address":"http://10.0.0.7:8080", ...metadata}
 * ```
 *
 * ```ts
 * const discovery = new Discovery(client)
 * const me = await discovery.register('api', 'api-1', 'http://10.0.0.7:8080', { ttl: 10 })
 * const api = await discovery.discover('api')
 * api.instances()                                  // the live instances now
 * for await (const { type, instance } of api.changes) …   // 'up' (new or changed) / 'down'
 * await me.deregister()
 * ```
 *
 * `discover` reads the service's keys and watches them from the revision after that read, so no
 * change falls between the two. If the watch ever has to restart from a compacted revision, the
 * view reads the keys again and reports the difference as changes.
 *
 * @module
 */
import type { Event, KeyValue } from '../mvcc/kv.ts'
import type { Client } from './client.ts'
import { utf8 } from './keys.ts'
import { Session } from './session.ts'
import { sleep } from './sleep.ts'

export const SERVICES_PREFIX = '/edgecd/services/'

/** Pause before reading again after the cluster could not be reached. */
const RETRY_PAUSE_MS = 1000

export interface Instance {
  readonly service: string
  /** The instance's name, unique within its service. */
  readonly id: string
  readonly address: string
  /** Everything else the instance registered with. */
  readonly metadata: Readonly<Record<string, unknown>>
}

export interface ServiceChange {
  /** `up`: the instance appeared or re-registered with new data; `down`: it is gone. */
  readonly type: 'up' | 'down'
  readonly instance: Instance
}

export interface RegisterOptions {
  /** Seconds the instance stays listed after its process stops renewing; default 10. */
  readonly ttl?: number
  /** Stored next to the address (any JSON values; not the key `address`). */
  readonly metadata?: Readonly<Record<string, unknown>>
}

export interface Registration {
  readonly instance: Instance
  /** The lease the instance is listed under; `session.done` tells when the listing was lost. */
  readonly session: Session
  /** Removes the instance (revokes its lease). */
  deregister(): Promise<void>
}

export interface ServiceView {
  /** The live instances, by instance name. */
  instances(): Instance[]
  /** Changes from the moment iteration starts; each iteration sees every change once. */
  readonly changes: AsyncIterable<ServiceChange>
  /** Stops watching and ends every iteration of `changes`. */
  close(): void
}

/** A service or instance name: not empty, no `/`. */
function checkName(kind: string, name: string): void {
  if (name === '' || name.includes('/')) throw new TypeError(`not ${kind} name: ${JSON.stringify(name)}`)
}

function servicePrefix(service: string): string {
  checkName('a service', service)
  return `${SERVICES_PREFIX}${service}/`
}

/** The instance a key under `prefix` stands for; null for a key or value that is not one. */
function parse(service: string, prefix: string, kv: KeyValue): Instance | null {
  const id = utf8(kv.key).slice(prefix.length)
  if (id === '' || id.includes('/')) return null
  try {
    const { address, ...metadata } = JSON.parse(utf8(kv.value)) as Record<string, unknown>
    return typeof address === 'string' ? { service, id, address, metadata } : null
  } catch {
    return null
  }
}

export class Discovery {
  readonly #client: Client

  constructor(client: Client) {
    this.#client = client
  }

  /** Lists `instance` of `service` at `address` under a new session's lease, until deregistered. */
  async register(
    service: string,
    instance: string,
    address: string,
    options: RegisterOptions = {},
  ): Promise<Registration> {
    const prefix = servicePrefix(service)
    checkName('an instance', instance)
    const metadata = options.metadata ?? {}
    if ('address' in metadata) throw new TypeError('metadata must not hold "address"')
    const session = await Session.create(this.#client, { ttl: options.ttl ?? 10 })
    try {
      const value = JSON.stringify({ address, ...metadata })
      await this.#client.kv.put(prefix + instance, value, { lease: session.lease })
    } catch (err) {
      await session.close().catch(() => undefined)
      throw err
    }
    return { instance: { service, id: instance, address, metadata }, session, deregister: () => session.close() }
  }

  /** The live instances of `service`, kept up to date until `close()`. */
  async discover(service: string): Promise<ServiceView> {
    const view = new LiveService(this.#client, service)
    await view.start()
    return view
  }
}

class LiveService implements ServiceView {
  readonly #client: Client
  readonly #service: string
  readonly #prefix: string
  readonly #abort = new AbortController()
  readonly #instances = new Map<string, Instance>()
  readonly #listeners = new Set<(change: ServiceChange | null) => void>()

  constructor(client: Client, service: string) {
    this.#client = client
    this.#service = service
    this.#prefix = servicePrefix(service)
  }

  instances(): Instance[] {
    return [...this.#instances.values()]
  }

  get changes(): AsyncIterable<ServiceChange> {
    return { [Symbol.asyncIterator]: () => this.#iterate() }
  }

  close(): void {
    this.#abort.abort()
    for (const listener of this.#listeners) listener(null)
  }

  /** The first read; then the watch loop runs in the background until closed. */
  async start(): Promise<void> {
    const revision = await this.#sync()
    void this.#follow(revision)
  }

  /** Reads every instance, reports what differs from the view, returns the read's revision. */
  async #sync(): Promise<number> {
    const { header, kvs } = await this.#client.kv.get(this.#prefix, { prefix: true })
    const seen = new Set<string>()
    for (const kv of kvs) {
      const instance = parse(this.#service, this.#prefix, kv)
      if (instance === null) continue
      seen.add(instance.id)
      const known = this.#instances.get(instance.id)
      if (known === undefined || JSON.stringify(known) !== JSON.stringify(instance)) this.#up(instance)
    }
    for (const id of this.#instances.keys()) if (!seen.has(id)) this.#down(id)
    return header.revision
  }

  /** Watches from `revision` + 1; after the watch ends or fails, reads again and watches on. */
  async #follow(revision: number): Promise<void> {
    const signal = this.#abort.signal
    let from = revision + 1
    while (!signal.aborted) {
      try {
        if (from === 0) from = (await this.#sync()) + 1
        const watch = this.#client.watch(this.#prefix, { prefix: true, startRevision: from, signal })
        for await (const message of watch) for (const event of message.events) this.#apply(event)
      } catch {
        await sleep(RETRY_PAUSE_MS, signal)
      }
      from = 0
    }
  }

  #apply(event: Event): void {
    const id = utf8(event.kv.key).slice(this.#prefix.length)
    if (event.type === 'DELETE') return this.#down(id)
    const instance = parse(this.#service, this.#prefix, event.kv)
    if (instance !== null) this.#up(instance)
    else this.#down(id)
  }

  #up(instance: Instance): void {
    this.#instances.set(instance.id, instance)
    for (const listener of this.#listeners) listener({ type: 'up', instance })
  }

  #down(id: string): void {
    const instance = this.#instances.get(id)
    if (instance === undefined) return
    this.#instances.delete(id)
    for (const listener of this.#listeners) listener({ type: 'down', instance })
  }

  /** Listens from now on (not from the first `next()`), so no change between the two is missed. */
  #iterate(): AsyncGenerator<ServiceChange> {
    const queue: Array<ServiceChange | null> = []
    let wake: (() => void) | null = null
    const listener = (change: ServiceChange | null): void => {
      queue.push(change)
      wake?.()
    }
    this.#listeners.add(listener)
    if (this.#abort.signal.aborted) queue.push(null)
    const listeners = this.#listeners
    return (async function* (): AsyncGenerator<ServiceChange> {
      try {
        for (;;) {
          const change = queue.shift()
          if (change === null) return
          if (change !== undefined) yield change
          else await new Promise<void>((resolve) => (wake = resolve))
          wake = null
        }
      } finally {
        listeners.delete(listener)
      }
    })()
  }
}
