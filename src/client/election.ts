/**
 * Elections over the v3election API: `ElectionClient` makes the five calls, `Election` campaigns
 * under a {@link Session}, as etcd's concurrency.Election.
 *
 * ```ts
 * const election = new Election(session, 'scheduler')
 * await election.campaign('node-a')              // blocks while someone else leads
 * await election.proclaim('node-a, epoch 2')     // only while still leader
 * for await (const kv of election.observe()) …  // the leader's kv, then every change
 * await election.resign()
 * ```
 *
 * Leadership lasts as long as the session's lease: when the leader's process dies, its lease
 * expires and the next candidate in line becomes leader.
 *
 * @module
 */
import {
  ApiErrors, decodeStreamResponse, electionCampaign, electionLeader, electionObserve, electionProclaim,
  electionResign, encodeRequest, type CampaignResponse, type HeaderResponse, type LeaderKey, type LeaderResponse,
} from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/errors.ts'
import type { KeyValue } from '../mvcc/kv.ts'
import { toBytes, type Bytes } from './keys.ts'
import { lines } from './lines.ts'
import type { WaitOptions } from './mutex.ts'
import type { Session } from './session.ts'
import { sleep } from './sleep.ts'
import type { Answer, Transport } from './transport.ts'

const encoder = new TextEncoder()

export class ElectionClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Blocks until `lease` leads election `name` with `value` (lease 0n: the server grants a 60 s
   * lease it never renews). Aborting the signal withdraws the candidacy.
   */
  campaign(
    name: Bytes,
    lease: bigint,
    value: Bytes,
    options: WaitOptions = {},
  ): Promise<Answer<CampaignResponse>> {
    const request = { name: toBytes(name), lease, value: toBytes(value) }
    const call = { idempotent: false, blocking: true, signal: options.signal }
    return this.#transport.call(electionCampaign, request, call)
  }

  /** Sets the leader's value; `election: not leader` when `leader` no longer leads. */
  proclaim(leader: LeaderKey, value: Bytes): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(electionProclaim, { leader, value: toBytes(value) }, { idempotent: false })
  }

  /** The leader's kv; throws `election: no leader` when nobody leads. */
  leader(name: Bytes): Promise<Answer<LeaderResponse>> {
    return this.#transport.call(electionLeader, { name: toBytes(name) }, { idempotent: true })
  }

  /** Gives leadership up if `leader` still holds it (repeating it is harmless). */
  resign(leader: LeaderKey): Promise<Answer<HeaderResponse>> {
    return this.#transport.call(electionResign, { leader }, { idempotent: true })
  }

  /** One observe stream: the leader's kv, then one message per change, until it breaks or `signal`. */
  async *observe(name: Bytes, options: WaitOptions = {}): AsyncGenerator<Answer<LeaderResponse>> {
    const body = encoder.encode(encodeRequest(electionObserve, { name: toBytes(name) }))
    const call = { idempotent: true, blocking: true, signal: options.signal }
    const stream = await this.#transport.open(electionObserve.path, () => body, call)
    for await (const line of lines(stream.body)) {
      yield decodeStreamResponse(electionObserve, line) as Answer<LeaderResponse>
    }
  }
}

export class Election {
  readonly #session: Session
  readonly #name: Uint8Array
  #leader: LeaderKey | null = null

  constructor(session: Session, name: Bytes) {
    this.#session = session
    this.#name = toBytes(name)
  }

  /** What this candidate holds once elected, until it resigns; null otherwise. */
  get leaderKey(): LeaderKey | null {
    return this.#leader
  }

  /** Blocks until elected with `value`; gives up when `signal` aborts or the session ends. */
  async campaign(value: Bytes, options: WaitOptions = {}): Promise<LeaderKey> {
    const signal = this.#session.until(options.signal)
    const res = await this.#session.client.election.campaign(this.#name, this.#session.lease, value, { signal })
    this.#leader = res.leader
    return res.leader as LeaderKey
  }

  /** Announces a new value as leader; throws `election: not leader` when not (or no longer) leading. */
  async proclaim(value: Bytes): Promise<void> {
    if (this.#leader === null) throw ApiErrors.electionNotLeader()
    await this.#session.client.election.proclaim(this.#leader, value)
  }

  /** The current leader's kv (key, value, create revision, lease), or null when nobody leads. */
  async leader(): Promise<KeyValue | null> {
    try {
      return (await this.#session.client.election.leader(this.#name)).kv
    } catch (err) {
      if (err instanceof EtcdError && err.message === ApiErrors.electionNoLeader().message) return null
      throw err
    }
  }

  /** Steps down if leading; the next candidate in line takes over. */
  async resign(): Promise<void> {
    const leader = this.#leader
    if (leader === null) return
    await this.#session.client.election.resign(leader)
    this.#leader = null
  }

  /**
   * The leader's kv, then each new leader or proclaimed value, until `signal` aborts. A broken
   * stream is opened again (after a pause), without repeating what was already delivered.
   */
  async *observe(options: WaitOptions & { readonly retryPauseMs?: number } = {}): AsyncGenerator<KeyValue> {
    const signal = options.signal ?? new AbortController().signal
    const pause = options.retryPauseMs ?? 200
    let last: KeyValue | null = null
    while (!signal.aborted) {
      try {
        for await (const { kv } of this.#session.client.election.observe(this.#name, { signal })) {
          if (kv === null || (last !== null && same(kv, last))) continue
          last = kv
          yield kv
        }
      } catch (err) {
        if (signal.aborted) return
        if (err instanceof EtcdError && err.code !== GrpcCode.Unavailable) throw err
      }
      await sleep(pause, signal)
    }
  }
}

function same(a: KeyValue, b: KeyValue): boolean {
  return a.modRevision === b.modRevision && a.key.length === b.key.length && a.key.every((x, i) => x === b.key[i])
}
