/**
 * A streamed HTTP response the member pushes newline-delimited JSON lines into as they come (the
 * watch stream, election observe), with bounded buffering and an end when the client goes away.
 *
 * Invariants:
 * - Items go out in push order. An item is *taken* (`taken(item)` is called) only once its line is
 *   in the HTTP stream, and that stream holds at most {@link STREAM_HIGH_WATER} lines the socket
 *   has not read; later items wait in a queue here. The queue is bounded by the producer: it must
 *   send nothing more for an item until that item is taken (the watch hub's acknowledgements).
 * - `response` settles exactly once: with the 200 stream (`open()`, or the first line when
 *   `openOnFirstLine`), with the answer given to `fail()`, or with 499 if the stream closes first.
 * - The stream closes once: on the request's abort signal, when the body is cancelled, on
 *   `close()` / `fail()`, or after `finish()`'s last line. `onClose` runs then, and no item is
 *   taken after it.
 * - At most {@link LINES_PER_TURN} lines (or {@link BYTES_PER_TURN} bytes) go on the stream
 *   between two turns of the event loop; the rest wait in the queue for the next turn. A reader
 *   that keeps up (a client on loopback) otherwise takes every line of a burst in one chain of
 *   microtasks: an event fanned out to 20,000 watchers of one stream, or 20,000 creates
 *   answered, held the member's loop (its heartbeats, every other client) for a second.
 *
 * @module
 */
import { JSON_HEADERS } from '../api/index.ts'

/** Lines buffered in the HTTP stream beyond what the socket has taken. */
const STREAM_HIGH_WATER = 16

/** Lines put on the stream in one turn of the event loop, at most... */
export const LINES_PER_TURN = 128
/** ... and bytes (a line of a watch catching up holds up to 1,000 events). */
const BYTES_PER_TURN = 1024 * 1024

/** What a stream's owner supplies. */
export interface PushStreamHooks<T> {
  /** The line `item` puts on the stream, encoded when it is taken; null: it puts none. */
  readonly line: (item: T) => string | null
  /** Called in push order, once `item`'s line (if any) is in the HTTP stream. */
  readonly taken: (item: T) => void
  /** Called once, when the stream closes. */
  readonly onClose: () => void
  /** Answer 200 with the first line put on the stream, without waiting for `open()`. */
  readonly openOnFirstLine: boolean
}

export class PushStream<T> {
  /** The HTTP answer: the 200 stream, the answer given to `fail()`, or 499. */
  readonly response: Promise<Response>
  readonly #hooks: PushStreamHooks<T>
  readonly #queue: T[] = []
  readonly #encoder = new TextEncoder()
  readonly #body: ReadableStream<Uint8Array>
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null
  #resolve: (r: Response) => void = () => undefined
  #answered = false
  #closed = false
  /** Callers of `room()` waiting for the queue to shrink. */
  #roomWaiters: Array<() => void> = []
  /** The stream's last line (`finish`), put on it once the queue is empty. */
  #last: string | null = null
  /**
   * Lines and bytes put on the stream since it last waited for a turn (see LINES_PER_TURN): a
   * wait comes once they reach the bound, so no turn puts more than it.
   */
  #lines = 0
  #bytes = 0
  /** The next turn is awaited, to go on putting lines. */
  #waitingTurn = false

  constructor(signal: AbortSignal, hooks: PushStreamHooks<T>) {
    this.#hooks = hooks
    this.response = new Promise<Response>((resolve) => (this.#resolve = resolve))
    this.#body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c
        },
        pull: () => this.#flush(),
        cancel: () => this.close(),
      },
      { highWaterMark: STREAM_HIGH_WATER },
    )
    signal.addEventListener('abort', () => this.close())
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Queues the items and puts as many on the stream as it has room for. */
  push(...items: T[]): void {
    this.#queue.push(...items)
    this.#flush()
  }

  /**
   * Resolves once at most STREAM_HIGH_WATER items wait in the queue (or the stream is closed): a
   * producer that answers requests (the watch's create, cancel and progress) waits for it before
   * reading more of them, so a client that sends without reading is held back, not buffered.
   */
  room(): Promise<void> {
    if (this.#closed || this.#queue.length <= STREAM_HIGH_WATER) return Promise.resolve()
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  /** Answers 200 with the stream, unless already answered or closed. */
  open(): void {
    if (this.#answered || this.#closed) return
    this.#answer(new Response(this.#body, { status: 200, headers: JSON_HEADERS }))
  }

  /**
   * Ends the stream with `last` once the items queued before it are on it, and closes; nothing
   * pushed after it goes out.
   */
  finish(last: string): void {
    this.#last = last
    this.#flush()
  }

  /** Answers with `response` instead of the stream (unless already answered) and closes. */
  fail(response: Response): void {
    this.#answer(response)
    this.close()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#hooks.onClose()
    if (!this.#answered) this.#answer(new Response(null, { status: 499 }))
    this.#wakeRoom()
  }

  #answer(response: Response): void {
    this.#answered = true
    this.#resolve(response)
  }

  #flush(): void {
    const controller = this.#controller
    if (controller === null || this.#closed) return
    while (this.#queue.length > 0 && (controller.desiredSize ?? 0) > 0) {
      if (this.#turnSpent()) return
      const item = this.#queue.shift() as T
      const line = this.#hooks.line(item)
      if (line !== null) {
        const bytes = this.#encoder.encode(line)
        this.#lines++
        this.#bytes += bytes.length
        controller.enqueue(bytes)
        if (this.#hooks.openOnFirstLine) this.open()
      }
      this.#hooks.taken(item)
    }
    if (this.#last !== null && this.#queue.length === 0) {
      // Taken first: enqueue may pull, and so flush, again at once.
      const last = this.#last
      this.#last = null
      controller.enqueue(this.#encoder.encode(last))
      controller.close()
      this.close()
      return
    }
    this.#wakeRoom()
  }

  /** Whether this turn's lines are spent; if so, flushing goes on at the next turn. */
  #turnSpent(): boolean {
    if (this.#waitingTurn) return true
    if (this.#lines < LINES_PER_TURN && this.#bytes < BYTES_PER_TURN) return false
    this.#waitingTurn = true
    setImmediate(() => {
      this.#waitingTurn = false
      this.#lines = 0
      this.#bytes = 0
      this.#flush()
    })
    return true
  }

  #wakeRoom(): void {
    if (this.#roomWaiters.length === 0 || (!this.#closed && this.#queue.length > STREAM_HIGH_WATER)) return
    for (const wake of this.#roomWaiters.splice(0)) wake()
  }
}
