/**
 * The request side of a bidirectional stream (watch, lease keepalive): the body's JSON messages,
 * decoded one by one as chunks arrive, the way grpc-gateway's handler loop does.
 *
 * The first error stops the stream's requests for good. A message that does not decode is the
 * gateway's error: if no request was decoded before it, the gateway answers with an error instead
 * of a stream (see `streamRequestError`: 500 / 2); after that, the error is only logged, and the
 * response stream carries on with what it has. A message the server refuses (past gRPC's receive
 * limit) ends the stream with that error (RequestBatch.byServer).
 *
 * @module
 */

import { EtcdError } from '../mvcc/errors.ts'
import { checkRequest, type Endpoint } from './endpoint.ts'
import { decodeMessage } from './fields.ts'
import { JsonStreamSplitter, type StreamBatch } from './json-stream.ts'
import { DEFAULT_LIMITS, type Limits } from './size-limits.ts'

export interface RequestBatch<Req> {
  readonly requests: readonly Req[]
  readonly error: EtcdError | null
  /**
   * Whether `error` is the server's refusal of a request the gateway decoded (past gRPC's
   * receive limit, or refused by the endpoint's checks), which etcd answers as a stream error
   * (streamRefused before any message, else a last error line); else it is the gateway's
   * decoding error (streamRequestError first, ignored later).
   */
  readonly byServer: boolean
}

export class RequestStream<Req, Res, Wire> {
  readonly #splitter = new JsonStreamSplitter()
  readonly #endpoint: Endpoint<Req, Res, Wire>
  readonly #limits: Limits
  #failed = false

  constructor(endpoint: Endpoint<Req, Res, Wire>, limits: Limits = DEFAULT_LIMITS) {
    this.#endpoint = endpoint
    this.#limits = limits
  }

  push(chunk: Uint8Array | string): RequestBatch<Req> {
    return this.#decode(this.#splitter.push(chunk))
  }

  /** The body ended. */
  end(): RequestBatch<Req> {
    return this.#decode(this.#splitter.end())
  }

  #decode(batch: StreamBatch): RequestBatch<Req> {
    const requests: Req[] = []
    if (this.#failed) return { requests, error: null, byServer: false }
    for (const value of batch.values) {
      let byServer = false
      try {
        const wire = decodeMessage(this.#endpoint.request, value)
        byServer = true
        requests.push(checkRequest(this.#endpoint, wire, this.#limits))
      } catch (err) {
        if (!(err instanceof EtcdError)) throw err
        this.#failed = true
        return { requests, error: err, byServer }
      }
    }
    if (batch.error !== null) this.#failed = true
    return { requests, error: batch.error, byServer: false }
  }
}

/** A whole streaming body at once. */
export function decodeRequestStream<Req, Res, Wire>(
  endpoint: Endpoint<Req, Res, Wire>,
  body: Uint8Array | string,
  limits: Limits = DEFAULT_LIMITS,
): RequestBatch<Req> {
  const stream = new RequestStream(endpoint, limits)
  const first = stream.push(body)
  if (first.error !== null) return first
  const last = stream.end()
  return { requests: [...first.requests, ...last.requests], error: last.error, byServer: last.byServer }
}
