/**
 * The context of a membership change entry: the request that proposed it and what the cluster
 * must remember about the member (its peer URLs, and for a promotion nothing new).
 *
 * ```
 * ConfChange.context = msgpack [ 1, origin, seq, peerUrls[] ]
 * ```
 *
 * @module
 */
import { decode, encode } from '@msgpack/msgpack'
import type { RequestId } from './envelope.ts'

export interface ConfContext {
  readonly id: RequestId
  readonly peerUrls: readonly string[]
}

export function encodeConfContext(c: ConfContext): Uint8Array {
  return encode([1, c.id.origin, c.id.seq, c.peerUrls])
}

/** Decodes a context; a missing or foreign one (e.g. a bootstrap change) gives null. */
export function decodeConfContext(data: Uint8Array): ConfContext | null {
  if (data.length === 0) return null
  const v = decode(data)
  if (!Array.isArray(v) || v[0] !== 1 || typeof v[1] !== 'number' || typeof v[2] !== 'number' || !Array.isArray(v[3]))
    return null
  return { id: { origin: v[1], seq: v[2] }, peerUrls: v[3].map(String) }
}
