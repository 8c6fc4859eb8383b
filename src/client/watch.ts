/**
 * A watch: an async iterator over the messages of one streaming `POST /v3/watch` (created, events,
 * progress, canceled), which survives the loss of its stream. When the stream breaks (an endpoint
 * dies, a gateway reports `transport is closing`), it reconnects (failing over like any idempotent
 * call) and creates the watch again from the revision after the last one it delivered, so no event
 * is lost or repeated:
 *
 *   nextRevision = startRevision                  (0: from now)
 *     created, when watching from now           → its header revision + 1
 *     events                                    → the last event's mod_revision + 1
 *     progress                                  → its header revision + 1
 *
 * Only the first `created` message is delivered. A `canceled` message (compaction, a refused
 * create) is delivered and ends the iteration; so do `cancel()` and the caller's signal. An error
 * answer other than Unavailable is thrown.
 *
 * @module
 */
import {
  decodeStreamResponse, encodeRequest, watch, type WatchFilter, type WatchResponse,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/errors.ts'
import { rangeEndOf, toBytes, type Bytes, type RangeSelector } from './keys.ts'
import { lines } from './lines.ts'
import { sleep } from './sleep.ts'
import type { Answer, OpenStream, Transport } from './transport.ts'

export interface WatchOptions extends RangeSelector {
  /** Deliver events from this revision on (history first); 0 or absent: from now. */
  readonly startRevision?: number
  /** Events carry the key's previous version. */
  readonly prevKv?: boolean
  readonly filters?: readonly WatchFilter[]
  /** Ask the server for periodic progress messages. */
  readonly progressNotify?: boolean
  /** Ends the watch. */
  readonly signal?: AbortSignal
  /** First pause before a reconnect, in milliseconds (doubles, up to 20×). Default 100. */
  readonly retryPauseMs?: number
}

const encoder = new TextEncoder()

export class Watch implements AsyncIterable<Answer<WatchResponse>> {
  readonly #transport: Transport
  readonly #key: Uint8Array
  readonly #rangeEnd: Uint8Array
  readonly #options: WatchOptions
  readonly #abort = new AbortController()
  #body: ReadableStreamDefaultController<Uint8Array> | undefined
  #nextRevision: number
  #iterated = false

  constructor(transport: Transport, key: Bytes, options: WatchOptions = {}) {
    this.#transport = transport
    this.#key = toBytes(key)
    this.#rangeEnd = rangeEndOf(this.#key, options)
    this.#options = options
    this.#nextRevision = options.startRevision ?? 0
    options.signal?.addEventListener('abort', () => this.cancel(), { once: true })
  }

  /** The revision the watch would be created from after a reconnect (0: from now). */
  get nextRevision(): number {
    return this.#nextRevision
  }

  /** Asks for a progress message (header revision = the store's, watch_id -1) on the open stream. */
  requestProgress(): void {
    this.#send(encodeRequest(watch, { type: 'progress' }))
  }

  /** Ends the watch: the stream is closed and the iteration ends. */
  cancel(): void {
    this.#abort.abort()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Answer<WatchResponse>> {
    if (this.#iterated) throw new TypeError('a watch can be iterated once')
    this.#iterated = true
    const signal = this.#abort.signal
    const firstPause = this.#options.retryPauseMs ?? 100
    let pause = firstPause
    let created = false
    try {
      while (!signal.aborted) {
        let stream: OpenStream
        try {
          stream = await this.#transport.open(watch.path, () => this.#newBody(), { idempotent: true, signal })
        } catch (error) {
          if (signal.aborted) return
          if (!(error instanceof EtcdError) || error.code !== GrpcCode.Unavailable) throw error
          await sleep(pause, signal)
          pause = Math.min(pause * 2, firstPause * 20)
          continue
        }
        try {
          for await (const line of lines(stream.body)) {
            const res = decodeStreamResponse(watch, line) as Answer<WatchResponse>
            pause = firstPause
            if (res.created) {
              if (this.#nextRevision === 0) this.#nextRevision = res.header.revision + 1
              if (created) continue
              created = true
            } else if (res.events.length > 0) {
              const last = res.events[res.events.length - 1] as WatchResponse['events'][number]
              this.#nextRevision = last.kv.modRevision + 1
            } else if (!res.canceled && res.header.revision > 0) {
              this.#nextRevision = Math.max(this.#nextRevision, res.header.revision + 1)
            }
            yield res
            if (res.canceled) return
          }
        } catch (error) {
          if (signal.aborted) return
          if (error instanceof EtcdError && error.code !== GrpcCode.Unavailable) throw error
        }
        await sleep(pause, signal)
      }
    } finally {
      this.#abort.abort()
    }
  }

  /** The request body of one attempt: the create request, then whatever is sent later. */
  #newBody(): ReadableStream<Uint8Array> {
    const create = encodeRequest(watch, {
      type: 'create',
      request: {
        key: this.#key,
        rangeEnd: this.#rangeEnd,
        startRevision: this.#nextRevision,
        progressNotify: this.#options.progressNotify ?? false,
        filters: this.#options.filters ?? [],
        prevKv: this.#options.prevKv ?? false,
        watchId: 0,
        fragment: false,
      },
    })
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#body = controller
        controller.enqueue(encoder.encode(create))
      },
    })
  }

  #send(message: string): void {
    try {
      this.#body?.enqueue(encoder.encode(message))
    } catch {
      // the stream is closed; the next one starts with its own create request
    }
  }
}
