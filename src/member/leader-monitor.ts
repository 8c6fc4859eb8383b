/**
 * Ends the streams that asked for a leader (api/require-leader.ts) once this member has known no
 * leader at NO_LEADER_CHECKS checks in a row, one check per election timeout, as etcd's
 * monitorLeader: each such stream gets the `etcdserver: no leader` stream-error line, then its end.
 *
 * `leaderBound` wraps a stream's answer (stream-cut.ts). The check timer runs only while such
 * streams are open; its count starts again with the first of them.
 *
 * @module
 */
import { NO_LEADER_CHECKS } from '../api/index.ts'
import { Errors } from '../mvcc/index.ts'
import { cuttable } from './stream-cut.ts'

export class LeaderMonitor {
  readonly #hasLeader: () => boolean
  readonly #intervalMs: number
  /** Each open stream's end. */
  readonly #streams = new Set<() => void>()
  #timer: ReturnType<typeof setInterval> | null = null
  /** Checks in a row that found no leader. */
  #leaderless = 0

  constructor(hasLeader: () => boolean, intervalMs: number) {
    this.#hasLeader = hasLeader
    this.#intervalMs = intervalMs
  }

  /** Open streams it watches over (for tests and metrics). */
  get size(): number {
    return this.#streams.size
  }

  /** `end` is called once if the stream must end; the returned function forgets the stream. */
  register(end: () => void): () => void {
    this.#streams.add(end)
    if (this.#timer === null) {
      this.#leaderless = 0
      this.#timer = setInterval(() => this.#check(), this.#intervalMs)
      this.#timer.unref?.()
    }
    return () => {
      this.#streams.delete(end)
      this.#stopWhenIdle()
    }
  }

  #check(): void {
    this.#leaderless = this.#hasLeader() ? 0 : this.#leaderless + 1
    if (this.#leaderless < NO_LEADER_CHECKS) return
    const ending = [...this.#streams]
    this.#streams.clear()
    this.#stopWhenIdle()
    for (const end of ending) end()
  }

  #stopWhenIdle(): void {
    if (this.#streams.size > 0 || this.#timer === null) return
    clearInterval(this.#timer)
    this.#timer = null
  }
}

/** `response` (a stream's 200 answer) ended by `monitor` when the member stays without a leader. */
export function leaderBound(response: Response, monitor: LeaderMonitor): Response {
  return cuttable(response, (end) => monitor.register(() => end(Errors.noLeader())))
}
