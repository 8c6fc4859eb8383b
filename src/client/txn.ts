/**
 * A small txn builder: conditions, then the operations for each outcome, then `commit()`.
 *
 * ```ts
 * const res = await client.kv.txn()
 *   .if(compare.version('lock', '=', 0))
 *   .then(op.put('lock', 'me'))
 *   .else(op.get('lock'))
 *   .commit()
 * ```
 *
 * Each step returns a new builder, so a half-built txn can be reused.
 *
 * @module
 */
import type { Compare, RequestOp, TxnRequest, TxnResponse } from '../mvcc/kv.ts'
import type { Answer } from './transport.ts'

export class TxnBuilder {
  readonly #request: TxnRequest
  readonly #commit: (request: TxnRequest) => Promise<Answer<TxnResponse>>

  constructor(commit: (request: TxnRequest) => Promise<Answer<TxnResponse>>, request?: TxnRequest) {
    this.#commit = commit
    this.#request = request ?? { compare: [], success: [], failure: [] }
  }

  /** Adds conditions; all must hold for the `then` branch to run. */
  if(...compares: Compare[]): TxnBuilder {
    return new TxnBuilder(this.#commit, { ...this.#request, compare: [...this.#request.compare, ...compares] })
  }

  /** Adds operations run when every condition holds. */
  then(...ops: RequestOp[]): TxnBuilder {
    return new TxnBuilder(this.#commit, { ...this.#request, success: [...this.#request.success, ...ops] })
  }

  /** Adds operations run when some condition fails. */
  else(...ops: RequestOp[]): TxnBuilder {
    return new TxnBuilder(this.#commit, { ...this.#request, failure: [...this.#request.failure, ...ops] })
  }

  /** The request as built so far (e.g. to nest it with `op.txn`). */
  request(): TxnRequest {
    return this.#request
  }

  commit(): Promise<Answer<TxnResponse>> {
    return this.#commit(this.#request)
  }
}
