/**
 * Mends the `:authority` of the requests on one HTTP/2 connection before Node's HTTP/2 server
 * (nghttp2) reads them. etcd's Go client, for the calls it sends to one named endpoint (etcdctl
 * `endpoint status`, `endpoint hashkv`, `defrag`, `move-leader`, every `--cluster` form), dials
 * `passthrough:///http://host:port`, so the request's authority is the whole URL. Go's server
 * takes it; nghttp2 refuses a `/` in an authority and resets the stream (PROTOCOL_ERROR). Here
 * such an authority becomes its `host:port`.
 *
 * The client→server bytes are read frame by frame (RFC 9113 §4.1): the 24-byte preface, then
 * frames, each a 9-byte header and its payload. A header block (a HEADERS frame and the
 * CONTINUATIONs that follow it) is decoded with the connection's HPACK state; every other frame
 * passes unchanged.
 *
 * Invariant (HPACK tables): the server's decoding table must stay the table of whoever encoded
 * what it reads. Until the first block that needs a change, blocks pass as the client encoded
 * them, so the server's table is the client's (which `#decoder` follows too). From that block on,
 * every block is re-encoded here by a fresh encoder with literals without indexing (never-indexed
 * where the client marked them so): the server's table no longer changes, and the encoder's own
 * dynamic table stays empty, so every index sent refers to the static table.
 *
 * Bounds, as nghttp2 would enforce them had it seen the bytes: a frame longer than the server's
 * SETTINGS_MAX_FRAME_SIZE (Node's and grpc-js's 16 KiB) or a header block of more than 8
 * CONTINUATIONs ends the connection, so at most one frame (plus a chunk) or one block is held.
 *
 * @module
 */
import hpack, { type Compressor, type HeaderField } from 'hpack.js'
import {
  CONTINUATION, decodeBlock, END_HEADERS, END_STREAM, FRAME_HEADER_BYTES, frameHeader, HEADERS, headersFragment, MAX_CONTINUATIONS,
  MAX_PAYLOAD, PREFACE_BYTES, PRIORITY, TABLE_BYTES,
} from './h2-frames.ts'

/** A scheme in front of the authority: `http://` and the like. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** The authority of `value` if it is a URL (`http://h:p/x` → `h:p`), else null. */
export function mendedAuthority(value: string): string | null {
  const scheme = SCHEME.exec(value)
  if (scheme === null) return null
  const rest = value.slice(scheme[0].length)
  const end = rest.search(/[/?#]/)
  return end < 0 ? rest : rest.slice(0, end)
}

/** A header block being collected: the HEADERS frame's flags and priority, its fragments so far. */
interface OpenBlock {
  readonly streamId: number
  readonly flags: number
  readonly priority: Buffer | null
  readonly fragments: Buffer[]
  /** The frames as they arrived, passed on as they are when nothing needs a change. */
  readonly frames: Buffer[]
}

export class AuthorityMend {
  #pending: Buffer = Buffer.alloc(0)
  #prefaceLeft = PREFACE_BYTES
  #open: OpenBlock | null = null
  readonly #decoder = hpack.decompressor.create({ table: { maxSize: TABLE_BYTES } })
  /** Set at the first block that needed a change (see the invariant). */
  #encoder: Compressor | null = null

  /** The bytes to hand on for `chunk` (some may be held until their frame is whole). Throws on a malformed header block. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, data.length)
      out.push(data.subarray(0, n))
      this.#prefaceLeft -= n
      data = data.subarray(n)
    }
    let at = 0
    while (data.length - at >= FRAME_HEADER_BYTES) {
      const { length } = frameHeader(data, at)
      if (length > MAX_PAYLOAD) throw new Error(`a frame of ${length} bytes, over the server's maximum`)
      const end = at + FRAME_HEADER_BYTES + length
      if (data.length < end) break
      this.#frame(data.subarray(at, end), out)
      at = end
    }
    this.#pending = Buffer.from(data.subarray(at))
    return out
  }

  #frame(frame: Buffer, out: Buffer[]): void {
    const { type, flags, streamId } = frameHeader(frame, 0)
    const payload = frame.subarray(FRAME_HEADER_BYTES)
    if (this.#open !== null) {
      // Only CONTINUATIONs of the same stream may follow (else nghttp2 ends the connection).
      if (type !== CONTINUATION || streamId !== this.#open.streamId) throw new Error('a header block was interrupted')
      if (this.#open.frames.length > MAX_CONTINUATIONS) throw new Error('a header block of too many CONTINUATION frames')
      this.#open.fragments.push(payload)
      this.#open.frames.push(frame)
      if ((flags & END_HEADERS) !== 0) this.#close(out)
      return
    }
    if (type !== HEADERS) {
      out.push(frame)
      return
    }
    const { priority, fragment } = headersFragment(flags, payload)
    this.#open = { streamId, flags, priority, fragments: [fragment], frames: [frame] }
    if ((flags & END_HEADERS) !== 0) this.#close(out)
  }

  #close(out: Buffer[]): void {
    const block = this.#open as OpenBlock
    this.#open = null
    const fields = decodeBlock(this.#decoder, Buffer.concat(block.fragments))
    let changed = false
    const mended = fields.map((f): HeaderField => {
      const authority = f.name === ':authority' ? mendedAuthority(f.value) : null
      if (authority === null) return f
      changed = true
      return { ...f, value: authority }
    })
    if (!changed && this.#encoder === null) {
      out.push(...block.frames)
      return
    }
    this.#encoder ??= hpack.compressor.create({ table: { maxSize: TABLE_BYTES } })
    this.#encoder.write(mended.map((f) => ({ ...f, incremental: false })))
    const encoded = this.#encoder.read() ?? Buffer.alloc(0)
    out.push(...headerFrames(block, encoded))
  }
}

/** `encoded` as a HEADERS frame (unpadded, with the block's priority) and CONTINUATIONs. */
function headerFrames(block: OpenBlock, encoded: Buffer): Buffer[] {
  const frames: Buffer[] = []
  const first = block.priority === null ? Buffer.alloc(0) : block.priority
  let at = 0
  do {
    const isFirst = at === 0
    const room = MAX_PAYLOAD - (isFirst ? first.length : 0)
    const part = encoded.subarray(at, at + room)
    at += part.length
    const last = at >= encoded.length
    const flags = (isFirst ? block.flags & (END_STREAM | PRIORITY) : 0) | (last ? END_HEADERS : 0)
    const payload = isFirst ? Buffer.concat([first, part]) : part
    const header = Buffer.alloc(FRAME_HEADER_BYTES)
    header.writeUIntBE(payload.length, 0, 3)
    header[3] = isFirst ? HEADERS : CONTINUATION
    header[4] = flags
    header.writeUInt32BE(block.streamId, 5)
    frames.push(header, payload)
  } while (at < encoded.length)
  return frames
}
