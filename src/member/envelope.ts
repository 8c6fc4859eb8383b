/**
 * What a member puts in a normal Raft entry: who proposed it (member ID and a per-member sequence
 * number, so the proposer can find its waiter when the entry is applied) and what it is.
 *
 * ```
 * entry.data = msgpack [ 1, origin, seq, kind, payload ]
 *              | msgpack [ 1, origin, seq, 0, payload, user, authRevision ]
 *   kind 0  mvcc    payload = an encoded mvcc Command (applied by the store)
 *   kind 1  attrs   payload = msgpack [ name, clientUrls[] ]   (a member publishes itself)
 *   kind 2  update  payload = msgpack [ memberId, peerUrls[] ] (member update: new peer URLs)
 *   kind 3  auth    payload = an encoded auth command (applied by the auth store, auth-store.ts)
 * ```
 * The longer form is an mvcc command a client's request proposed while auth was enabled: the user
 * it acts for and the auth revision its permissions were checked at, checked again when applied
 * if the auth store changed since (auth-checker.ts).
 * Conf-change entries carry the request ID in their context instead (see conf-context.ts).
 * The empty entry a new leader appends has no envelope (zero-length data).
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import type { ProposedBy } from './auth-checker.ts'

const VERSION = 1

/**
 * One of each for the module (msgpack's `encode()`/`decode()` build a new one per call, ~2 KiB of
 * buffer each: an envelope is made for every proposal). `encoder.encode` returns a copy of
 * exactly the encoded bytes, which the raft log keeps as it is.
 */
const encoder = new Encoder()
const decoder = new Decoder()
const encode = (value: unknown): Uint8Array => encoder.encode(value)
const decode = (bytes: Uint8Array): unknown => decoder.decode(bytes)

/** Identifies one proposal cluster-wide: the proposing member and its sequence number. */
export interface RequestId {
  readonly origin: number
  readonly seq: number
}

export type Envelope =
  | { readonly id: RequestId; readonly kind: 'mvcc'; readonly command: Uint8Array; readonly by?: ProposedBy }
  | { readonly id: RequestId; readonly kind: 'attrs'; readonly name: string; readonly clientUrls: readonly string[] }
  | { readonly id: RequestId; readonly kind: 'update'; readonly memberId: number; readonly peerUrls: readonly string[] }
  | { readonly id: RequestId; readonly kind: 'auth'; readonly command: Uint8Array }

export function requestKey(id: RequestId): string {
  return `${id.origin}:${id.seq}`
}

const KIND = { mvcc: 0, attrs: 1, update: 2, auth: 3 } as const

export function encodeEnvelope(e: Envelope): Uint8Array {
  const payload =
    e.kind === 'mvcc' || e.kind === 'auth'
      ? e.command
      : e.kind === 'attrs'
        ? encode([e.name, e.clientUrls])
        : encode([e.memberId, e.peerUrls])
  if (e.kind === 'mvcc' && e.by !== undefined)
    return encode([VERSION, e.id.origin, e.id.seq, KIND.mvcc, payload, e.by.user, e.by.authRevision])
  return encode([VERSION, e.id.origin, e.id.seq, KIND[e.kind], payload])
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(`member: malformed entry: ${message}`)
    this.name = 'EnvelopeError'
  }
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  const v = decode(data)
  if (!Array.isArray(v) || (v.length !== 5 && v.length !== 7) || v[0] !== VERSION) throw new EnvelopeError('not an envelope')
  const [, origin, seq, kind, payload, user, authRevision] = v as unknown[]
  if (typeof origin !== 'number' || typeof seq !== 'number' || !(payload instanceof Uint8Array))
    throw new EnvelopeError('bad header')
  const id = { origin, seq }
  if (kind === 0 && v.length === 7) {
    if (typeof user !== 'string' || typeof authRevision !== 'number') throw new EnvelopeError('bad proposer')
    return { id, kind: 'mvcc', command: payload, by: { user, authRevision } }
  }
  if (kind === 0) return { id, kind: 'mvcc', command: payload }
  if (kind === 1) {
    const attrs = decode(payload)
    if (!Array.isArray(attrs) || typeof attrs[0] !== 'string' || !Array.isArray(attrs[1]))
      throw new EnvelopeError('bad attrs')
    return { id, kind: 'attrs', name: attrs[0], clientUrls: attrs[1].map(String) }
  }
  if (kind === 2) {
    const update = decode(payload)
    if (!Array.isArray(update) || typeof update[0] !== 'number' || !Array.isArray(update[1]))
      throw new EnvelopeError('bad update')
    return { id, kind: 'update', memberId: update[0], peerUrls: update[1].map(String) }
  }
  if (kind === 3) return { id, kind: 'auth', command: payload }
  throw new EnvelopeError(`unknown kind ${String(kind)}`)
}
