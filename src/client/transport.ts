/**
 * The client's HTTP side: sends one call to one of its endpoints (members or gateways) and fails
 * over to the others by the same rules the gateway uses toward members:
 *
 * - an endpoint that could not be connected to: the next one, for any call;
 * - an answer saying nothing was proposed (retry-rules.ts): the next one, for any call;
 * - a call that may have reached a server and got no answer: the next one only if it is
 *   idempotent; a write gets etcd's `request timed out` (its outcome is unknown);
 *
 * with rounds over all endpoints, a growing pause between rounds, until the call's deadline (no
 * attempt begins in its last moments: deadline.ts). The endpoint that answered last is tried first
 * next time.
 *
 * @module
 */
import {
  decodeResponse, encodeRequest, errorFromBody, type Endpoint, type FullResponseHeader,
} from '../api/index.ts'
import { EtcdError, Errors, GrpcCode } from '../mvcc/errors.ts'
import type { ResponseHeader } from '../mvcc/kv.ts'
import { attempt } from './attempt.ts'
import { connectionLost, retryable } from './retry-rules.ts'
import { Deadline } from './deadline.ts'
import { sleep } from './sleep.ts'

export interface TransportOptions {
  /** Base URLs: members' client URLs or gateways, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[]
  /** Sent raw in `Authorization`, as etcd wants it. */
  readonly token?: string
  /** Milliseconds one call may take, failover included (streams: until they open). Default 5000. */
  readonly timeoutMs?: number
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch
}

export interface CallOptions {
  /** Safe to send again after it may have reached a server (reads, watches). */
  readonly idempotent: boolean
  /** Send only here (one of the endpoints), e.g. for the status of one member. */
  readonly endpoint?: string
  /** Aborts the call (and a stream it opened). */
  readonly signal?: AbortSignal
  /** Waits on other clients (lock, campaign, observe): once sent, only `signal` ends the wait. */
  readonly blocking?: boolean
}

/** A decoded answer; its header, when it has one, carries cluster and member IDs and the term. */
export type Answer<T> = T extends { readonly header: ResponseHeader }
  ? Omit<T, 'header'> & { readonly header: FullResponseHeader }
  : T

/** An opened stream: the endpoint that answered and its body, read by the caller. */
export interface OpenStream {
  readonly endpoint: string
  readonly body: ReadableStream<Uint8Array>
}

const encoder = new TextEncoder()

export class Transport {
  readonly endpoints: readonly string[]
  readonly #timeoutMs: number
  readonly #fetch: typeof fetch
  #token: string | undefined
  #preferred = 0

  constructor(options: TransportOptions) {
    this.endpoints = options.endpoints.map((e) => e.trim().replace(/\/+$/, ''))
    if (this.endpoints.length === 0) throw new TypeError('the client needs at least one endpoint')
    for (const e of this.endpoints) {
      if (!/^https?:\/\//.test(e)) throw new TypeError(`not an http(s) endpoint: ${e}`)
    }
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.#token = options.token
  }

  /** Replaces the auth token (after `auth/authenticate`); undefined: none. */
  setToken(token: string | undefined): void {
    this.#token = token
  }

  /** One unary call: the request encoded by src/api, the answer decoded, an error answer thrown. */
  async call<Req extends Wire, Res, Wire>(
    ep: Endpoint<Req, Res, Wire>,
    req: Req,
    options: CallOptions,
  ): Promise<Answer<Res>> {
    const body = encoder.encode(encodeRequest(ep, req))
    const { response } = await this.#send(ep.path, () => body, false, options)
    return decodeResponse(ep, await response.text()) as Answer<Res>
  }

  /**
   * Opens a streaming call. `body` makes the request body for each attempt (a fresh stream, or
   * bytes), since a failed attempt may have consumed the previous one.
   */
  async open(
    path: string,
    body: () => ReadableStream<Uint8Array> | Uint8Array,
    options: CallOptions,
  ): Promise<OpenStream> {
    const { endpoint, response } = await this.#send(path, body, true, options)
    return { endpoint, body: response.body ?? new ReadableStream({ start: (c) => c.close() }) }
  }

  async #send(
    path: string,
    body: () => ReadableStream<Uint8Array> | Uint8Array,
    stream: boolean,
    options: CallOptions,
  ): Promise<{ endpoint: string; response: Response }> {
    const deadline = new Deadline(this.#timeoutMs)
    // Made per call: workerd refuses `new AbortController()` at module scope (outside a handler).
    const signal = options.signal ?? new AbortController().signal
    let pause = 25
    let last: EtcdError | undefined
    for (;;) {
      for (const endpoint of this.#order(options.endpoint)) {
        if (!deadline.open()) break
        const outcome = await attempt({
          method: 'POST',
          url: endpoint + path,
          headers: this.#headers(),
          body: body(),
          streamAnswer: stream,
          timeoutMs: options.blocking === true ? undefined : deadline.left(),
          signal,
          fetch: this.#fetch,
        })
        if (outcome.kind === 'cancelled') throw signal.reason
        if (outcome.kind === 'unsent') {
          last = unreachable(endpoint)
          continue
        }
        if (outcome.kind === 'lost') {
          if (outcome.timedOut) throw Errors.timeout()
          if (options.idempotent) {
            last = unreachable(endpoint)
            continue
          }
          throw connectionLost()
        }
        const response = outcome.response
        if (response.status === 200) {
          this.#preferred = this.endpoints.indexOf(endpoint)
          return { endpoint, response }
        }
        const error = errorFromBody(response.status, await response.text().catch(() => ''))
        if (!retryable(error, options.idempotent)) throw error
        last = error
      }
      if (options.endpoint !== undefined || !deadline.open()) throw last ?? Errors.timeout()
      await sleep(deadline.pause(pause), signal)
      if (signal.aborted) throw signal.reason
      pause = Math.min(pause * 2, 1000)
    }
  }

  /** The pinned endpoint, or every endpoint starting with the one that answered last. */
  #order(pinned: string | undefined): readonly string[] {
    if (pinned !== undefined) return [pinned.replace(/\/+$/, '')]
    const start = this.#preferred
    return [...this.endpoints.slice(start), ...this.endpoints.slice(0, start)]
  }

  #headers(): Headers {
    const headers = new Headers({ 'content-type': 'application/json' })
    if (this.#token !== undefined) headers.set('authorization', this.#token)
    return headers
  }
}

function unreachable(endpoint: string): EtcdError {
  return new EtcdError(GrpcCode.Unavailable, `edgecd client: cannot reach ${endpoint}`)
}
