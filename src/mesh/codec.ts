/**
 * The peer wire format: one msgpack array per frame, carrying a batch of Raft messages from one
 * member to another.
 *
 *   frame    = [version, fromId, clusterId | nil, [message, ...]]
 *            | [version, fromId, clusterId | nil, [], part]
 *   message  = [type, from, to, term, logTerm, index, commit, [entry, ...], reject, rejectHint,
 *               snapshot | nil, context]
 *   entry    = [term, index, entryType, data]
 *   snapshot = [index, term, [voter, ...], [learner, ...], data | nil]
 *   part     = [total, offset, bytes]
 *
 * A snapshot too large for one frame travels in parts: frames carrying only a `part` each (its
 * bytes at `offset` of the `total`), in order, then the MsgSnap itself with `nil` data, meaning
 * "the bytes of the parts just before it on this connection" (see snapshot-parts.ts).
 *
 * `type` and `entryType` are positions in {@link MESSAGE_TYPES} / {@link ENTRY_TYPES} (append-only
 * lists: never reorder them). Bytes are msgpack bin. Every number is a non-negative safe integer.
 *
 * Decoding validates the whole shape and throws {@link FrameError} for anything else, so a
 * malformed or hostile frame can never reach Raft. Decoded byte fields are views into the frame's
 * bytes: the caller must hand `decode` bytes that nobody writes to afterwards.
 *
 * @module
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import { MESSAGE_TYPES } from '../raft/types.ts'
import type { Entry, EntryType, Message, NodeId, Snapshot } from '../raft/types.ts'

export const FRAME_VERSION = 1


/** Wire codes of entry types: the code is the position. Append only. */
export const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change']

const MESSAGE_CODE = new Map(MESSAGE_TYPES.map((t, i) => [t, i]))
const ENTRY_CODE = new Map(ENTRY_TYPES.map((t, i) => [t, i]))

/** Longest cluster ID accepted on the wire, in UTF-8 bytes. */
const MAX_CLUSTER_ID_BYTES = 256

export interface Frame {
  readonly version: number
  readonly from: NodeId
  readonly clusterId: string | null
  readonly messages: readonly Message[]
  /** A part of a snapshot sent in parts (then `messages` is empty). */
  readonly part?: SnapshotPart | null
}

/** Bytes [offset, offset + bytes.length) of a snapshot's data of `total` bytes. */
export interface SnapshotPart {
  readonly total: number
  readonly offset: number
  readonly bytes: Uint8Array
}

/**
 * The data of a decoded snapshot whose bytes came in parts (`nil` on the wire), and what a sender
 * puts in place of the data it sent in parts. Compared by identity; it is empty.
 */
export const SNAPSHOT_IN_PARTS: Uint8Array = new Uint8Array(0)

/** Largest snapshot accepted in parts: the longest byte array this runtime allocates. */
export const MAX_SNAPSHOT_BYTES = 2 ** 32

/** A frame that is not valid msgpack or not a valid frame. Carries no partial result. */
export class FrameError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`mesh: malformed frame: ${reason}`, options)
    this.name = 'FrameError'
  }
}

/**
 * An upper bound of a message's encoded size in bytes (every integer counted at its widest), so
 * that a batch packed by this estimate never exceeds a frame limit.
 */
export function maxEncodedSize(m: Message): number {
  let size = 70 + m.context.byteLength
  for (const e of m.entries) size += 25 + e.data.byteLength
  const s = m.snapshot
  if (s !== null) {
    size += 40 + 9 * (s.metadata.confState.voters.length + s.metadata.confState.learners.length)
    size += s.data.byteLength
  }
  return size
}

/**
 * Default largest frame, sent or accepted. A snapshot travels as one message, so this also bounds
 * the snapshot size. The accepting WebSocketServer should get the same `maxPayload`.
 */
export const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024

/** Upper bound of a frame's size besides its messages. */
export const FRAME_OVERHEAD_BYTES = 32 + MAX_CLUSTER_ID_BYTES

/** Encodes and decodes frames with one reused msgpack Encoder and Decoder. */
export class FrameCodec {
  readonly #encoder = new Encoder()
  readonly #decoder = new Decoder({
    maxStrLength: MAX_CLUSTER_ID_BYTES,
    maxMapLength: 0,
    maxExtLength: 0,
  })

  /**
   * Encodes into a fresh buffer the caller owns. (Not `encodeSharedRef`: the socket keeps the
   * bytes until the kernel takes them, after the next frame has been encoded.)
   */
  encode(frame: Frame): Uint8Array {
    return this.#encoder.encode(toWire(frame))
  }

  /** Decodes and validates one frame; throws {@link FrameError} for anything malformed. */
  decode(bytes: Uint8Array): Frame {
    let raw: unknown
    try {
      raw = this.#decoder.decode(bytes)
    } catch (cause) {
      throw new FrameError(cause instanceof Error ? cause.message : 'undecodable', { cause })
    }
    return fromWire(raw)
  }
}

function toWire(frame: Frame): unknown[] {
  const wire = [frame.version, frame.from, frame.clusterId, frame.messages.map(messageToWire)]
  const part = frame.part ?? null
  return part === null ? wire : [...wire, [part.total, part.offset, part.bytes]]
}

function messageToWire(m: Message): unknown[] {
  const s = m.snapshot
  return [
    MESSAGE_CODE.get(m.type),
    m.from,
    m.to,
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    m.entries.map((e) => [e.term, e.index, ENTRY_CODE.get(e.type), e.data]),
    m.reject,
    m.rejectHint,
    s === null
      ? null
      : [s.metadata.index, s.metadata.term, s.metadata.confState.voters, s.metadata.confState.learners, s.data === SNAPSHOT_IN_PARTS ? null : s.data],
    m.context,
  ]
}

function fromWire(raw: unknown): Frame {
  const f = list(raw, 'frame')
  if (f.length !== 4 && f.length !== 5) throw new FrameError(`frame has ${f.length} fields, want 4 or 5`)
  const version = int(f[0], 'version')
  if (version !== FRAME_VERSION) throw new FrameError(`unsupported version ${version}`)
  const clusterId = f[2]
  if (clusterId !== null && typeof clusterId !== 'string') throw new FrameError('clusterId is not a string')
  const messages = list(f[3], 'messages').map(messageFromWire)
  const part = f.length === 5 ? partFromWire(f[4]) : null
  if (part !== null && messages.length > 0) throw new FrameError('a frame with a snapshot part carries messages')
  const frame = { version, from: int(f[1], 'from'), clusterId, messages }
  return part === null ? frame : { ...frame, part }
}

function partFromWire(raw: unknown): SnapshotPart {
  const p = tuple(raw, 3, 'part')
  const total = int(p[0], 'part total')
  const offset = int(p[1], 'part offset')
  const data = bytes(p[2], 'part bytes')
  if (total > MAX_SNAPSHOT_BYTES) throw new FrameError(`snapshot of ${total} bytes, more than ${MAX_SNAPSHOT_BYTES}`)
  if (data.byteLength === 0 || offset + data.byteLength > total) throw new FrameError('part outside its snapshot')
  return { total, offset, bytes: data }
}

function messageFromWire(raw: unknown): Message {
  const m = tuple(raw, 12, 'message')
  const type = MESSAGE_TYPES[int(m[0], 'message type')]
  if (type === undefined) throw new FrameError(`unknown message type ${String(m[0])}`)
  return {
    type,
    from: int(m[1], 'from'),
    to: int(m[2], 'to'),
    term: int(m[3], 'term'),
    logTerm: int(m[4], 'logTerm'),
    index: int(m[5], 'index'),
    commit: int(m[6], 'commit'),
    entries: list(m[7], 'entries').map(entryFromWire),
    reject: bool(m[8], 'reject'),
    rejectHint: int(m[9], 'rejectHint'),
    snapshot: m[10] === null ? null : snapshotFromWire(m[10]),
    context: bytes(m[11], 'context'),
  }
}

function entryFromWire(raw: unknown): Entry {
  const e = tuple(raw, 4, 'entry')
  const type = ENTRY_TYPES[int(e[2], 'entry type')]
  if (type === undefined) throw new FrameError(`unknown entry type ${String(e[2])}`)
  return { term: int(e[0], 'entry term'), index: int(e[1], 'entry index'), type, data: bytes(e[3], 'entry data') }
}

function snapshotFromWire(raw: unknown): Snapshot {
  const s = tuple(raw, 5, 'snapshot')
  const voters = list(s[2], 'voters').map((v) => int(v, 'voter'))
  const learners = list(s[3], 'learners').map((v) => int(v, 'learner'))
  return {
    metadata: {
      index: int(s[0], 'snapshot index'),
      term: int(s[1], 'snapshot term'),
      confState: { voters, learners },
    },
    data: s[4] === null ? SNAPSHOT_IN_PARTS : bytes(s[4], 'snapshot data'),
  }
}

function list(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) throw new FrameError(`${what} is not an array`)
  return x
}

function tuple(x: unknown, length: number, what: string): unknown[] {
  const a = list(x, what)
  if (a.length !== length) throw new FrameError(`${what} has ${a.length} fields, want ${length}`)
  return a
}

function int(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new FrameError(`${what} is not a count`)
  return x
}

function bool(x: unknown, what: string): boolean {
  if (typeof x !== 'boolean') throw new FrameError(`${what} is not a boolean`)
  return x
}

function bytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new FrameError(`${what} is not bytes`)
  return x
}
