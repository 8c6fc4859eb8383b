/**
 * The little of HTTP/2's framing (RFC 9113 §4, §6) that the gRPC port reads itself before Node's
 * HTTP/2 server does: the client preface, frame headers, and a header block's fragment.
 *
 * @module
 */
import type { Decompressor, HeaderField } from 'hpack.js'

/** `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`. */
export const PREFACE_BYTES = 24
export const FRAME_HEADER_BYTES = 9

export const DATA = 0x0
export const HEADERS = 0x1
export const PRIORITY_FRAME = 0x2
export const SETTINGS = 0x4
export const WINDOW_UPDATE = 0x8
export const CONTINUATION = 0x9

export const END_STREAM = 0x1
/** SETTINGS' flag bit 0 is ACK (HEADERS' is END_STREAM). */
export const ACK = 0x1
export const END_HEADERS = 0x4
export const PADDED = 0x8
export const PRIORITY = 0x20

/** The largest payload every peer takes (SETTINGS_MAX_FRAME_SIZE's initial value; the server keeps it). */
export const MAX_PAYLOAD = 16_384
/** CONTINUATIONs one header block may have (nghttp2's limit against CONTINUATION floods). */
export const MAX_CONTINUATIONS = 8
/** SETTINGS_HEADER_TABLE_SIZE's initial value; Node's server does not change it. */
export const TABLE_BYTES = 4096

/** A SETTINGS frame without settings: a valid server preface (§3.4), which every client must ACK. */
export const EMPTY_SETTINGS = Buffer.from([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0])

/** A whole frame's header fields. */
export interface FrameHeader {
  readonly length: number
  readonly type: number
  readonly flags: number
  readonly streamId: number
}

/** The header of the frame at `at` of `data` (at least FRAME_HEADER_BYTES must be there). */
export function frameHeader(data: Buffer, at: number): FrameHeader {
  return {
    length: data.readUIntBE(at, 3),
    type: data[at + 3] as number,
    flags: data[at + 4] as number,
    streamId: data.readUInt32BE(at + 5) & 0x7fffffff,
  }
}

/**
 * A HEADERS frame's payload without its padding and priority fields: the header block's first
 * fragment, and the priority's 5 bytes if the frame has them. Throws when the padding does not fit.
 */
export function headersFragment(flags: number, payload: Buffer): { readonly priority: Buffer | null; readonly fragment: Buffer } {
  let from = 0
  let padding = 0
  if ((flags & PADDED) !== 0) {
    padding = payload[0] ?? 0
    from = 1
  }
  const priority = (flags & PRIORITY) !== 0 ? payload.subarray(from, from + 5) : null
  if (priority !== null) from += 5
  if (from + padding > payload.length) throw new Error('a HEADERS frame shorter than its padding')
  return { priority, fragment: payload.subarray(from, payload.length - padding) }
}

/**
 * The fields of one whole header block, decoded with `decoder` (which keeps the connection's
 * HPACK table). Throws on a malformed block.
 */
export function decodeBlock(decoder: Decompressor, block: Buffer): HeaderField[] {
  let failure: Error | null = null
  const onError = (err: Error): void => void (failure = err)
  decoder.on('error', onError)
  try {
    decoder.write(block)
    decoder.execute()
  } finally {
    decoder.removeListener('error', onError)
  }
  if (failure !== null) throw failure
  const fields: HeaderField[] = []
  for (let f = decoder.read(); f !== null; f = decoder.read()) fields.push(f)
  return fields
}
