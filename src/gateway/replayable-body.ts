/**
 * A streamed request body that can be sent again. A watch or keepalive body is a stream of JSON
 * requests; when the first member cannot be reached, the next attempt must send the same requests
 * before whatever the caller writes next. Chunks are remembered until {@link ReplayableBody.settle}
 * (a member has answered: no more retries), after which they are passed on and forgotten.
 *
 *   source ──read──▶ recorded[] ──replay──▶ attempt 1 (dropped)
 *                          └──────replay──▶ attempt 2 ──▶ … live chunks
 *
 * Invariant: at most one attempt reads at a time; `stream()` detaches the one before.
 *
 * @module
 */

export class ReplayableBody {
  readonly #source: ReadableStreamDefaultReader<Uint8Array> | undefined
  /** Chunks read and not yet forgotten; `#buffer[0]` is chunk number `#forgotten` of the body. */
  readonly #buffer: Uint8Array[] = []
  #forgotten = 0
  #settled = false
  #ended = false
  #reading: Promise<void> | undefined
  #generation = 0

  constructor(source: ReadableStream<Uint8Array> | null) {
    this.#source = source?.getReader()
    if (this.#source === undefined) this.#ended = true
  }

  /** A fresh stream for one attempt: the chunks read so far, then the rest of the source. */
  stream(): ReadableStream<Uint8Array> {
    const generation = ++this.#generation
    let position = this.#forgotten
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (generation !== this.#generation) return controller.close()
          if (position < this.#forgotten + this.#buffer.length) {
            controller.enqueue(this.#buffer[position - this.#forgotten] as Uint8Array)
            position++
            if (this.#settled) this.#forget(position)
            return
          }
          if (this.#ended) return controller.close()
          await this.#fill()
        }
      },
    })
  }

  /** A member answered: nothing will be replayed any more, so sent chunks can be forgotten. */
  settle(): void {
    this.#settled = true
  }

  /** Releases the source when the request is over. */
  cancel(): void {
    this.#generation++
    if (!this.#ended) this.#source?.cancel().catch(() => undefined)
  }

  #forget(upTo: number): void {
    while (this.#forgotten < upTo && this.#buffer.length > 0) {
      this.#buffer.shift()
      this.#forgotten++
    }
  }

  /** Reads one chunk into the buffer. Invariant: one read at a time, shared by every waiter. */
  #fill(): Promise<void> {
    const source = this.#source as ReadableStreamDefaultReader<Uint8Array>
    this.#reading ??= source.read().then(
      ({ done, value }) => {
        this.#reading = undefined
        if (done) this.#ended = true
        else this.#buffer.push(value)
      },
      () => {
        this.#reading = undefined
        this.#ended = true
      },
    )
    return this.#reading
  }
}
