/**
 * Virtual time. Every timed thing in a simulation (ticks, packet deliveries, fsync completions,
 * workload and fault rolls) is an event in one queue ordered by (time, seq), where seq is the
 * order of scheduling. Nothing settles from a real timer or a promise, so the run order is a
 * function of the seed.
 *
 * Invariant: `now` never decreases; events scheduled for the same time run in scheduling order.
 *
 * @module
 */

/** A scheduled event; `cancel()` makes it a no-op (it still leaves the queue in order). */
export interface Timer {
  cancel(): void
}

interface Event {
  readonly time: number
  readonly seq: number
  readonly label: string
  fn: (() => void) | null
}

export class Scheduler {
  #now = 0
  #seq = 0
  #ran = 0
  /** Binary min-heap on (time, seq). */
  #heap: Event[] = []

  /** Current virtual time (milliseconds in this simulator). */
  get now(): number {
    return this.#now
  }

  /** Events run so far (cancelled ones excluded). */
  get ran(): number {
    return this.#ran
  }

  /** Runs `fn` at virtual time `time` (≥ now). `label` names the event in traces. */
  at(time: number, label: string, fn: () => void): Timer {
    if (!Number.isSafeInteger(time) || time < this.#now) {
      throw new Error(`schedule at ${time} < now ${this.#now}`)
    }
    const ev: Event = { time, seq: this.#seq++, label, fn }
    this.#push(ev)
    return {
      cancel: (): void => {
        ev.fn = null
      },
    }
  }

  after(delay: number, label: string, fn: () => void): Timer {
    return this.at(this.#now + delay, label, fn)
  }

  /** Time of the next event, or null if the queue is empty. */
  peekTime(): number | null {
    return this.#heap.length > 0 ? (this.#heap[0] as Event).time : null
  }

  /**
   * Runs the next live event, advancing `now` to its time; returns its label, or null when the
   * queue holds nothing due at or before `limit`.
   */
  step(limit: number = Number.MAX_SAFE_INTEGER): string | null {
    for (;;) {
      const top = this.#heap[0]
      if (top === undefined || top.time > limit) return null
      this.#pop()
      this.#now = top.time
      const fn = top.fn
      if (fn === null) continue
      top.fn = null
      this.#ran++
      fn()
      return top.label
    }
  }

  #less(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq)
  }

  #push(ev: Event): void {
    const h = this.#heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.#less(h[i] as Event, h[p] as Event)) break
      ;[h[i], h[p]] = [h[p] as Event, h[i] as Event]
      i = p
    }
  }

  #pop(): void {
    const h = this.#heap
    const last = h.pop() as Event
    if (h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && this.#less(h[l] as Event, h[m] as Event)) m = l
      if (r < h.length && this.#less(h[r] as Event, h[m] as Event)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m] as Event, h[i] as Event]
      i = m
    }
  }
}
