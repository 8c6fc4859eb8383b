/**
 * Reads the start of an HTTP/2 connection to choose how it is served: by Node's HTTP/2 server on
 * the socket itself ('native'), or through authority-mend.ts on a JS stream ('mend'), which costs
 * about a fifth of a member's gRPC throughput and is needed only by a client whose requests carry
 * a URL as `:authority` (etcd's Go client for calls to one named endpoint; see authority-mend.ts).
 * A client keeps one authority for a connection, so its first request tells.
 *
 * Many clients send their first request right behind the preface. grpc-go sends none before the
 * server's preface (a SETTINGS frame), which Node's server would send only once it has the
 * connection; so the port sends an empty SETTINGS of its own (`wantsSettings`, `settingsSent`),
 * and drops the client's ACK of it from the bytes handed on: the HTTP/2 server never sent that
 * frame, and an ACK it did not ask for is a connection error to it. The client then gets a
 * second SETTINGS, the server's, which HTTP/2 allows.
 *
 * Invariants:
 * - `bytes()` is everything read so far, in order, less that one ACK frame; nothing is changed,
 *   so the server decodes the same header blocks with the same HPACK state.
 * - 'native' or 'mend' only once no ACK is due. 'native' only when the first request's
 *   authority needs no mending; anything unexpected before the first request (a PING, a
 *   malformed frame, too many bytes) gives 'mend', which serves every client.
 *
 * @module
 */
import hpack from 'hpack.js'
import { mendedAuthority } from './authority-mend.ts'
import {
  ACK, CONTINUATION, decodeBlock, END_HEADERS, FRAME_HEADER_BYTES, frameHeader, HEADERS, headersFragment, MAX_CONTINUATIONS,
  MAX_PAYLOAD, PREFACE_BYTES, PRIORITY_FRAME, SETTINGS, TABLE_BYTES, WINDOW_UPDATE,
} from './h2-frames.ts'

/**
 * Where the connection goes: not known yet, Node's HTTP/2 server on the socket, the mending JS
 * stream, or nowhere ('refuse': too many bytes came while the ACK of the port's SETTINGS was
 * due; handed on, that ACK would reach a server that never sent those SETTINGS).
 */
export type StartRoute = 'wait' | 'native' | 'mend' | 'refuse'

/**
 * Bytes read before giving up on the first request (then 'mend'). A client waiting for the ACK
 * of its request's flow control cannot send much more than its first window (64 KiB).
 */
const MAX_START_BYTES = 256 * 1024

export class ConnectionStart {
  /** Whole frames read so far (and the preface), less the ACK of the port's SETTINGS. */
  readonly #kept: Buffer[] = []
  #pending: Buffer = Buffer.alloc(0)
  #read = 0
  #prefaceLeft = PREFACE_BYTES
  #sent = false
  #ackDue = false
  /** The first request's `:authority` once its header block is whole (null: it has none). */
  #authority: string | null | undefined = undefined
  /** The first request's header block while its CONTINUATIONs come. */
  #open: { readonly streamId: number; readonly fragments: Buffer[] } | null = null
  /** Something other than the first request's frames came first, or the bytes could not be read. */
  #odd = false
  readonly #decoder = hpack.decompressor.create({ table: { maxSize: TABLE_BYTES } })

  push(chunk: Buffer): void {
    this.#read += chunk.length
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, data.length)
      this.#kept.push(data.subarray(0, n))
      this.#prefaceLeft -= n
      data = data.subarray(n)
    }
    let at = 0
    while (data.length - at >= FRAME_HEADER_BYTES) {
      const length = frameHeader(data, at).length
      const end = at + FRAME_HEADER_BYTES + length
      if (length > MAX_PAYLOAD) this.#odd = true
      if (this.#odd && !this.#ackDue) break
      if (data.length < end) break
      if (!this.#frame(data.subarray(at, end))) this.#kept.push(data.subarray(at, end))
      at = end
    }
    this.#pending = data.subarray(at)
    if (this.#read > MAX_START_BYTES) this.#odd = true
  }

  /** The port's own SETTINGS went out: the client's next ACK is for it. */
  settingsSent(): void {
    this.#sent = true
    this.#ackDue = true
  }

  /** True when the first request is still unseen and only the server's preface will bring it. */
  get wantsSettings(): boolean {
    return this.#prefaceLeft === 0 && !this.#sent && !this.#odd && this.#authority === undefined
  }

  /** True while the client has not acknowledged the port's SETTINGS. */
  get ackDue(): boolean {
    return this.#ackDue
  }

  get route(): StartRoute {
    if (this.#odd) return !this.#ackDue ? 'mend' : this.#read > MAX_START_BYTES ? 'refuse' : 'wait'
    if (this.#ackDue || this.#authority === undefined) return 'wait'
    return this.#authority !== null && mendedAuthority(this.#authority as string) !== null ? 'mend' : 'native'
  }

  /** Everything read so far (less the dropped ACK), for the server to read first. */
  bytes(): Buffer {
    return Buffer.concat([...this.#kept, this.#pending])
  }

  /** Looks at one whole frame; true when it is the ACK to drop. */
  #frame(frame: Buffer): boolean {
    const { type, flags, streamId } = frameHeader(frame, 0)
    if (type === SETTINGS && (flags & ACK) !== 0 && this.#ackDue) {
      this.#ackDue = false
      return true
    }
    if (this.#odd || this.#authority !== undefined) return false
    const payload = frame.subarray(FRAME_HEADER_BYTES)
    if (this.#open !== null) {
      if (type !== CONTINUATION || streamId !== this.#open.streamId || this.#open.fragments.length > MAX_CONTINUATIONS) {
        this.#odd = true
      } else {
        this.#open.fragments.push(payload)
        if ((flags & END_HEADERS) !== 0) this.#decodeFirst()
      }
      return false
    }
    if (type === HEADERS) {
      try {
        this.#open = { streamId, fragments: [headersFragment(flags, payload).fragment] }
      } catch {
        this.#odd = true
        return false
      }
      if ((flags & END_HEADERS) !== 0) this.#decodeFirst()
      return false
    }
    const expected = (type === SETTINGS && (flags & ACK) === 0) || type === WINDOW_UPDATE || type === PRIORITY_FRAME
    if (!expected) this.#odd = true
    return false
  }

  #decodeFirst(): void {
    const block = Buffer.concat((this.#open as { fragments: Buffer[] }).fragments)
    this.#open = null
    try {
      this.#authority = decodeBlock(this.#decoder, block).find((f) => f.name === ':authority')?.value ?? null
    } catch {
      this.#odd = true
    }
  }
}
