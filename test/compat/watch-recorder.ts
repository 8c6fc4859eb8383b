/**
 * A watch opened on one system for the differential check: it keeps every message of the stream
 * (newline-delimited `{"result":…}` objects) until stopped, and flattens them into what must match
 * between etcd and edgecd: creations, cancellations and each event, in order. How events are
 * grouped into messages, and the revision in a message's header, depend on timing and are left
 * out.
 *
 * @module
 */

export class WatchRecorder {
  readonly #abort = new AbortController()
  readonly #messages: unknown[] = []
  readonly #done: Promise<void>
  #open!: () => void
  readonly opened = new Promise<void>((res) => {
    this.#open = res
  })

  constructor(url: string, create: Record<string, unknown>, headers: Record<string, string> = {}) {
    this.#done = this.#read(url, create, headers)
  }

  async #read(url: string, create: Record<string, unknown>, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(`${url}/v3/watch`, {
        method: 'POST',
        body: JSON.stringify({ create_request: create }),
        headers,
        signal: this.#abort.signal,
      })
      if (res.body === null) throw new Error(`watch answered ${res.status} without a body`)
      const decoder = new TextDecoder()
      let buffered = ''
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk, { stream: true })
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line === '') continue
          this.#messages.push(JSON.parse(line))
          this.#open()
        }
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#messages.push({ failed: String(err) })
    } finally {
      this.#open()
    }
  }

  /** Ends the stream and returns its creations, cancellations and events, in order. */
  async stop(): Promise<unknown[]> {
    this.#abort.abort()
    await this.#done
    return this.#messages.flatMap(flatten)
  }
}

/** One stream message as what must match: its creation, cancellation and events, without header or grouping. */
export function flatten(message: unknown): unknown[] {
  const result = (message as { result?: Record<string, unknown> }).result
  if (result === undefined) return [message]
  const out: unknown[] = []
  if (result['created'] === true) out.push({ created: true })
  if (result['canceled'] === true) {
    out.push({ canceled: true, compact_revision: result['compact_revision'], cancel_reason: result['cancel_reason'] })
  }
  for (const event of (result['events'] as unknown[] | undefined) ?? []) out.push(event)
  return out
}
