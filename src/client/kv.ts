/**
 * The KV calls: range (`get`), put, delete, txn and compaction. Reads are idempotent and fail
 * over freely; writes are never sent twice once they may have reached a server (transport.ts),
 * except a txn that only reads.
 *
 * @module
 */
import { kvCompaction, kvDeleteRange, kvPut, kvRange, kvTxn } from '../api/index.ts'
import type {
  CompactionResponse, DeleteRangeResponse, PutResponse, RangeResponse,
} from '../mvcc/kv.ts'
import type { Bytes } from './keys.ts'
import {
  deleteRequest, putRequest, rangeRequest, readOnly, type DeleteOptions, type PutOptions, type RangeOptions,
} from './requests.ts'
import type { Answer, Transport } from './transport.ts'
import { TxnBuilder } from './txn.ts'

export class KvClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /** The kvs of one key, or of a range with `prefix`, `fromKey` or `rangeEnd`. */
  get(key: Bytes, options?: RangeOptions): Promise<Answer<RangeResponse>> {
    return this.#transport.call(kvRange, rangeRequest(key, options), { idempotent: true })
  }

  put(key: Bytes, value: Bytes, options?: PutOptions): Promise<Answer<PutResponse>> {
    return this.#transport.call(kvPut, putRequest(key, value, options), { idempotent: false })
  }

  delete(key: Bytes, options?: DeleteOptions): Promise<Answer<DeleteRangeResponse>> {
    return this.#transport.call(kvDeleteRange, deleteRequest(key, options), { idempotent: false })
  }

  txn(): TxnBuilder {
    return new TxnBuilder((request) => {
      return this.#transport.call(kvTxn, request, { idempotent: readOnly(request) })
    })
  }

  /** Drops the history below `revision`; `physical`: answer once it is gone from disk too. */
  compact(
    revision: number,
    options: { readonly physical?: boolean } = {},
  ): Promise<Answer<CompactionResponse>> {
    const request = { revision, physical: options.physical ?? false }
    return this.#transport.call(kvCompaction, request, { idempotent: false })
  }
}
