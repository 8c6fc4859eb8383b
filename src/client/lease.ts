/**
 * The lease calls: grant, revoke, timeToLive, leases, one keepalive (`keepAliveOnce`), and
 * `keepAlive`, which keeps a lease alive in the background over one streaming
 * `POST /v3/lease/keepalive` until closed:
 *
 *   open stream ─▶ send {"ID"} ─▶ answer (TTL) ─▶ wait TTL/3 ─▶ send again ─▶ …
 *        ▲                              │ TTL ≤ 0: the lease is gone, stop
 *        └──── stream broke: pause ◀────┘
 *
 * Its answers can be iterated; a slow reader sees only the latest one.
 *
 * @module
 */
import {
  decodeStreamResponse, encodeRequest, leaseGrant, leaseKeepAlive, leaseLeases, leaseRevoke, leaseTimeToLive,
  type LeaseKeepAliveResponse,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/errors.ts'
import type {
  LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse,
} from '../mvcc/kv.ts'
import { lines } from './lines.ts'
import { sleep } from './sleep.ts'
import type { Answer, OpenStream, Transport } from './transport.ts'

export interface KeepAliveOptions {
  /** Milliseconds between two keepalives; default a third of the TTL the last answer gave. */
  readonly intervalMs?: number
  /** Closes the keepalive. */
  readonly signal?: AbortSignal
  /** First pause before a reconnect, in milliseconds (doubles, up to 20×). Default 100. */
  readonly retryPauseMs?: number
}

const encoder = new TextEncoder()

export class LeaseClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /** A new lease of `ttl` seconds; `id` 0n (default): the server picks one. */
  grant(ttl: number, id = 0n): Promise<Answer<LeaseGrantResponse>> {
    return this.#transport.call(leaseGrant, { ttl, id }, { idempotent: false })
  }

  /** Ends the lease; its keys are deleted. */
  revoke(id: bigint): Promise<Answer<LeaseRevokeResponse>> {
    return this.#transport.call(leaseRevoke, { id }, { idempotent: false })
  }

  /** Remaining seconds (-1: no such lease) and, with `keys`, the keys attached. */
  timeToLive(id: bigint, options: { readonly keys?: boolean } = {}): Promise<Answer<LeaseTimeToLiveResponse>> {
    return this.#transport.call(leaseTimeToLive, { id, keys: options.keys ?? false }, { idempotent: true })
  }

  leases(): Promise<Answer<LeaseLeasesResponse>> {
    return this.#transport.call(leaseLeases, {}, { idempotent: true })
  }

  /** Refreshes the lease once; TTL 0 in the answer: no such lease. */
  async keepAliveOnce(id: bigint): Promise<Answer<LeaseKeepAliveResponse>> {
    const body = encoder.encode(encodeRequest(leaseKeepAlive, { id }))
    const stream = await this.#transport.open(leaseKeepAlive.path, () => body, { idempotent: true })
    for await (const line of lines(stream.body)) {
      return decodeStreamResponse(leaseKeepAlive, line) as Answer<LeaseKeepAliveResponse>
    }
    throw new EtcdError(GrpcCode.Unavailable, 'edgecd client: the keepalive stream ended without an answer')
  }

  /** Keeps the lease alive in the background until `close()`, the signal, or the lease is gone. */
  keepAlive(id: bigint, options: KeepAliveOptions = {}): KeepAlive {
    return new KeepAlive(this.#transport, id, options)
  }
}

export class KeepAlive implements AsyncIterable<Answer<LeaseKeepAliveResponse>> {
  readonly #transport: Transport
  readonly #request: Uint8Array
  readonly #options: KeepAliveOptions
  readonly #abort = new AbortController()
  #latest: Answer<LeaseKeepAliveResponse> | undefined
  #unread = false
  #wake: (() => void) | undefined
  /** Resolves when the keepalive has stopped: closed, or the lease is gone; rejects on an error answer. */
  readonly done: Promise<void>

  constructor(transport: Transport, id: bigint, options: KeepAliveOptions) {
    this.#transport = transport
    this.#request = encoder.encode(encodeRequest(leaseKeepAlive, { id }))
    this.#options = options
    options.signal?.addEventListener('abort', () => this.close(), { once: true })
    this.done = this.#run().finally(() => {
      this.#abort.abort()
      this.#wake?.()
    })
    this.done.catch(() => undefined)
  }

  /** The last answer, if any. */
  get latest(): Answer<LeaseKeepAliveResponse> | undefined {
    return this.#latest
  }

  close(): void {
    this.#abort.abort()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Answer<LeaseKeepAliveResponse>> {
    for (;;) {
      if (this.#unread) {
        this.#unread = false
        yield this.#latest as Answer<LeaseKeepAliveResponse>
        continue
      }
      if (this.#abort.signal.aborted) return
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal
    const firstPause = this.#options.retryPauseMs ?? 100
    let pause = firstPause
    while (!signal.aborted) {
      let body: ReadableStreamDefaultController<Uint8Array> | undefined
      let timer: ReturnType<typeof setTimeout> | undefined
      const newBody = (): ReadableStream<Uint8Array> =>
        new ReadableStream({
          start: (controller) => {
            body = controller
            controller.enqueue(this.#request)
          },
        })
      try {
        const options = { idempotent: true, signal }
        const stream: OpenStream = await this.#transport.open(leaseKeepAlive.path, newBody, options)
        for await (const line of lines(stream.body)) {
          const res = decodeStreamResponse(leaseKeepAlive, line) as Answer<LeaseKeepAliveResponse>
          pause = firstPause
          if (res.ttl <= 0) return
          this.#deliver(res)
          timer = setTimeout(() => {
            try {
              body?.enqueue(this.#request)
            } catch {}
          }, this.#options.intervalMs ?? Math.max(500, (res.ttl * 1000) / 3))
        }
      } catch (error) {
        if (signal.aborted) return
        if (error instanceof EtcdError && error.code !== GrpcCode.Unavailable) throw error
      } finally {
        clearTimeout(timer)
      }
      await sleep(pause, signal)
      pause = Math.min(pause * 2, firstPause * 20)
    }
  }

  #deliver(res: Answer<LeaseKeepAliveResponse>): void {
    this.#latest = res
    this.#unread = true
    this.#wake?.()
    this.#wake = undefined
  }
}
