/**
 * Protobuf binary encoding of typed messages, driven by the same schemas as JSON decoding and
 * printing (schema.ts): what etcd's gRPC clients send and expect. proto3 rules: zero values are
 * not written (a `present` message is, even when empty), scalar lists are packed (either form is
 * read), unknown fields are skipped, a later value of a field wins.
 *
 * @module
 */
import { ProtoDecodeError } from './api-errors.ts'
import { defaultOf } from './fields.ts'
import { isLengthDelimited } from './proto-size.ts'
import { isZero, type EnumDef, type FieldDef, type Kind, type MessageSchema, type OneofChoice, type Raw } from './schema.ts'

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8')

/** Go's io.ErrUnexpectedEOF: what etcd's decoder says of a message cut short. */
const UNEXPECTED_EOF = 'unexpected EOF'

/** Nesting beyond this is refused (as the JSON decoder refuses deep txns). */
const MAX_DEPTH = 64

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const LOW_32 = 0xffffffffn
const TWO_32 = 2 ** 32

// ---- encoding ---------------------------------------------------------------------------------

class Writer {
  #buf = new Uint8Array(256)
  #pos = 0

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < this.#pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.#buf.subarray(0, this.#pos))
    this.#buf = next
  }

  /**
   * A varint of a non-negative safe integer, or of any int64/uint64 (a negative number or bigint
   * is written as its 64-bit two's complement: ten bytes).
   */
  varint(v: number | bigint): void {
    this.#room(10)
    if (typeof v === 'bigint') {
      if (v >= 0n && v <= MAX_SAFE) return this.#number(Number(v))
      // Two 32-bit halves of its 64-bit two's complement: no BigInt work per byte.
      const u = BigInt.asUintN(64, v)
      return this.#halves(Number(u >> 32n), Number(u & LOW_32))
    }
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return this.#number(v)
    const u = BigInt.asUintN(64, BigInt(v))
    this.#halves(Number(u >> 32n), Number(u & LOW_32))
  }

  /** A non-negative safe integer; room for it is made. */
  #number(v: number): void {
    const buf = this.#buf
    let pos = this.#pos
    // Bit operations while the value fits in 31 bits, division above.
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 128) | 128
      v = Math.floor(v / 128)
    }
    while (v >= 128) {
      buf[pos++] = (v & 127) | 128
      v >>>= 7
    }
    buf[pos++] = v
    this.#pos = pos
  }

  /** A 64-bit value given as its high and low unsigned 32-bit halves; room for it is made. */
  #halves(hi: number, lo: number): void {
    const buf = this.#buf
    let pos = this.#pos
    // The low 28 bits, then 4 low and 3 high bits (byte 5), then the high bits 7 at a time.
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 127) | 128
      lo >>>= 7
    }
    let mixed = lo | ((hi & 7) << 4)
    hi >>>= 3
    if (hi === 0) {
      buf[pos++] = mixed
      this.#pos = pos
      return
    }
    buf[pos++] = mixed | 128
    while (hi >= 128) {
      buf[pos++] = (hi & 127) | 128
      hi >>>= 7
    }
    buf[pos++] = hi
    this.#pos = pos
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length)
    this.raw(b)
  }

  /** `b` as it is: bytes already encoded. */
  raw(b: Uint8Array): void {
    this.#room(b.length)
    this.#buf.set(b, this.#pos)
    this.#pos += b.length
  }

  /**
   * Writes a length-delimited part produced by `body`, in place: the body goes right after one
   * byte kept for its length, and moves up if the length needs more (a body of 128 bytes or
   * more), so a nested message costs no buffer of its own.
   */
  nested(body: (w: Writer) => void): void {
    this.#room(1)
    const at = this.#pos
    const start = at + 1
    this.#pos = start
    body(this)
    const length = this.#pos - start
    let extra = 0
    for (let n = length; n >= 128; n = Math.floor(n / 128)) extra++
    if (extra > 0) {
      this.#room(extra)
      this.#buf.copyWithin(start + extra, start, this.#pos)
    }
    let p = at
    let n = length
    while (n >= 128) {
      this.#buf[p++] = (n % 128) | 128
      n = Math.floor(n / 128)
    }
    this.#buf[p++] = n
    this.#pos = p + length
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos)
  }
}

function scalarNumber(kind: Kind, v: unknown): number | bigint {
  switch (kind.t) {
    case 'bool': return v === true ? 1 : 0
    case 'enum': return Math.max(0, kind.def.names.indexOf(v as string))
    default: return v as number | bigint
  }
}

function writeValue(w: Writer, kind: Kind, v: unknown, depth: number): void {
  switch (kind.t) {
    case 'bytes': return w.bytes(v as Uint8Array)
    case 'string': return w.bytes(utf8.encode(v as string))
    case 'message': return w.nested((inner) => writeRaw(inner, kind.schema(), v === null || v === undefined ? null : v, depth + 1))
    default: return w.varint(scalarNumber(kind, v))
  }
}

function writeField(w: Writer, f: FieldDef, kind: Kind, v: unknown, depth: number): void {
  if (kind.t === 'repeated') {
    if (v instanceof EncodedItems) return w.raw(v.bytes)
    const items = v as readonly unknown[]
    if (isLengthDelimited(kind.of)) {
      for (const item of items) writeField(w, f, kind.of, item, depth)
      return
    }
    w.varint((f.num << 3) | 2)
    w.nested((inner) => {
      for (const item of items) inner.varint(scalarNumber(kind.of, item))
    })
    return
  }
  w.varint((f.num << 3) | (isLengthDelimited(kind) ? 2 : 0))
  writeValue(w, kind, v, depth)
}

function writeRaw(w: Writer, schema: MessageSchema<unknown>, value: unknown, depth: number): void {
  if (value === null) return
  const raw = schema.toRaw(value)
  for (const f of schema.fields) {
    if (f.oneof !== null) {
      const choice = raw[f.oneof] as OneofChoice | null | undefined
      if (choice?.prop === f.prop) writeField(w, f, f.kind, choice.value, depth)
    } else if (!isZero(f.kind, raw[f.prop])) {
      writeField(w, f, f.kind, raw[f.prop], depth)
    }
  }
}

/**
 * A message that arrived encoded and is passed on as it is (a member's answer to a gateway's gRPC
 * call, api/call-frames.ts): {@link encodeProto} writes its bytes, never decoding them.
 */
export class EncodedMessage {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * A repeated field's items already encoded, each with its tag, as {@link encodeProto} writes them
 * in their message: a long list (a range of 100,000 kvs) is encoded a slice at a time, the event
 * loop given back between slices ({@link encodeItemsInSlices}), and the message around it at once.
 */
export class EncodedItems {
  /** `length` is the items' count (a list of none is left out, as an empty one is). */
  constructor(
    readonly bytes: Uint8Array,
    readonly length: number,
  ) {}
}

/**
 * The items of the repeated field `prop` of `schema` (of messages, strings or bytes: a packed list
 * of numbers is one field, not one per item), encoded `sliceItems` at a time, awaiting `pause()`
 * between two slices.
 */
export async function encodeItemsInSlices<T>(
  schema: MessageSchema<T>,
  prop: string,
  items: readonly unknown[],
  sliceItems: number,
  pause: () => Promise<void>,
): Promise<EncodedItems> {
  const f = schema.fields.find((field) => field.prop === prop)
  if (f === undefined || f.kind.t !== 'repeated' || !isLengthDelimited(f.kind.of))
    throw new Error(`proto-wire: ${schema.name}.${prop} is not a list of length-delimited items`)
  const w = new Writer()
  for (let at = 0; at < items.length; at += sliceItems) {
    if (at > 0) await pause()
    writeField(w, f, f.kind, items.slice(at, at + sliceItems), 0)
  }
  return new EncodedItems(w.finish(), items.length)
}

/** The protobuf encoding of `value` (an {@link EncodedMessage}'s own bytes). */
export function encodeProto<T>(schema: MessageSchema<T>, value: T | EncodedMessage): Uint8Array {
  if (value instanceof EncodedMessage) return value.bytes
  const w = new Writer()
  writeRaw(w, schema as MessageSchema<unknown>, value, 0)
  return w.finish()
}

// ---- decoding ---------------------------------------------------------------------------------

class Reader {
  readonly #buf: Uint8Array
  pos: number
  readonly end: number

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.#buf = buf
    this.pos = pos
    this.end = end
  }

  /**
   * A varint: a number when it takes at most seven bytes (so it is below 2^49: tags, lengths,
   * revisions, small IDs), else a bigint of its 64 bits, as written (a small value written with
   * more bytes than it needs comes back as a bigint too; fromVarint takes either).
   */
  varint(): number | bigint {
    const buf = this.#buf
    let result = 0
    let scale = 1
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw malformed(UNEXPECTED_EOF)
      const b = buf[this.pos++] as number
      result += (b & 127) * scale
      if (b < 128) return result
      scale *= 128
    }
    let big = BigInt(result)
    for (let shift = 49n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw malformed(UNEXPECTED_EOF)
      const b = buf[this.pos++] as number
      big |= BigInt(b & 127) << shift
      if (b < 128) return BigInt.asUintN(64, big)
    }
    throw malformed('proto: integer overflow')
  }

  /** A length-delimited part: its bounds, skipped over. */
  part(): [number, number] {
    const v = this.varint()
    // Go reads a length as an int: from 2^63 on it is negative.
    if (typeof v === 'bigint' && v >= 2n ** 63n) throw malformed('proto: negative length found during unmarshaling')
    const len = Number(v)
    const start = this.pos
    if (len > this.end - start) throw malformed(UNEXPECTED_EOF)
    this.pos = start + len
    return [start, start + len]
  }

  bytes(start: number, end: number): Uint8Array {
    return this.#buf.slice(start, end)
  }

  sub(start: number, end: number): Reader {
    return new Reader(this.#buf, start, end)
  }

  /** Skips an unknown field's value; a group (wire type 3) up to its end, groups inside it too. */
  skip(wireType: number): void {
    let depth = 0
    for (let wt = wireType; ; ) {
      switch (wt) {
        case 0: this.varint(); break
        case 1: this.#advance(8); break
        case 2: this.part(); break
        case 3: depth++; break
        case 4:
          if (depth === 0) throw malformed('proto: unexpected end of group')
          depth--
          break
        case 5: this.#advance(4); break
        default: throw malformed(`proto: illegal wireType ${wt}`)
      }
      if (depth === 0) return
      const tag = this.varint()
      wt = typeof tag === 'number' ? tag % 8 : Number(tag & 7n)
    }
  }

  #advance(n: number): void {
    if (n > this.end - this.pos) throw malformed(UNEXPECTED_EOF)
    this.pos += n
  }
}

function malformed(what: string): Error {
  return new ProtoDecodeError(what)
}

/**
 * An int64 held as a JS number (revisions, counts, limits, TTLs: exact up to 2^53): beyond that it
 * is taken as ±(2^53 − 1), so a client's "as far as it goes" (MaxInt64 as a revision or limit)
 * keeps its meaning instead of being rounded to a value out of int64's range.
 */
function safeNumber(v: bigint): number {
  return v > MAX_SAFE ? Number.MAX_SAFE_INTEGER : v < -MAX_SAFE ? -Number.MAX_SAFE_INTEGER : Number(v)
}

/** A varint's value as `kind` holds it; `u` is a number below 2^49 or a bigint of 64 bits (Reader.varint). */
function fromVarint(kind: Kind, u: number | bigint): unknown {
  if (typeof u === 'number') {
    switch (kind.t) {
      case 'bool': return u !== 0
      case 'int64':
      case 'uint64': return u
      case 'int64n':
      case 'uint64n': return BigInt(u)
      case 'uint32': return u % TWO_32
      case 'enum': return enumValue(kind.def, (u % TWO_32) | 0)
      default: throw malformed(`a varint for a ${kind.t} field`)
    }
  }
  switch (kind.t) {
    case 'bool': return u !== 0n
    case 'int64': return safeNumber(BigInt.asIntN(64, u))
    case 'uint64': return safeNumber(u)
    case 'int64n': return BigInt.asIntN(64, u)
    case 'uint64n': return u
    case 'uint32': return Number(BigInt.asUintN(32, u))
    case 'enum': return enumValue(kind.def, Number(BigInt.asIntN(32, u)))
    default: throw malformed(`a varint for a ${kind.t} field`)
  }
}

/** The enum value numbered `n` (an int32): its name, the number itself for an open enum, else refused. */
function enumValue(def: EnumDef, n: number): unknown {
  const name = def.names[n]
  if (name !== undefined) return name
  if (def.open === true) return n
  throw malformed(`${n} is not a ${def.goName}`)
}

/** The value of field `f` (of kind `kind`: f's own, or what f repeats) sent with `wireType`. */
function readValue(r: Reader, f: FieldDef, kind: Kind, wireType: number, depth: number): unknown {
  if (isLengthDelimited(kind)) {
    if (wireType !== 2) throw wrongWireType(wireType, f)
    const [start, end] = r.part()
    if (kind.t === 'bytes') return r.bytes(start, end)
    // Not checked for UTF-8, as etcd's decoder does not check: what is not becomes U+FFFD.
    if (kind.t === 'string') return utf8Decoder.decode(r.bytes(start, end))
    if (kind.t !== 'message') throw malformed(kind.t)
    return readMessage(kind.schema(), r.sub(start, end), depth + 1)
  }
  if (wireType !== 0) throw wrongWireType(wireType, f)
  return fromVarint(kind, r.varint())
}

/** etcd's (gogoproto's) error for a known field sent with another wire type; it names the Go field. */
function wrongWireType(wireType: number, f: FieldDef): Error {
  const goName = f.name.split('_').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')
  return malformed(`proto: wrong wireType = ${wireType} for field ${goName}`)
}

/** The Go type of a message, as etcd's decoder names it: its proto name less the package. */
function goType(schema: MessageSchema<unknown>): string {
  return schema.name.slice(schema.name.lastIndexOf('.') + 1)
}

/** Each schema's fields by number, made once (schemas are fixed). */
const fieldsByNum = new WeakMap<MessageSchema<unknown>, ReadonlyMap<number, FieldDef>>()

function fieldsOf(schema: MessageSchema<unknown>): ReadonlyMap<number, FieldDef> {
  let byNum = fieldsByNum.get(schema)
  if (byNum === undefined) {
    byNum = new Map(schema.fields.map((f) => [f.num, f]))
    fieldsByNum.set(schema, byNum)
  }
  return byNum
}

function readMessage(schema: MessageSchema<unknown>, r: Reader, depth: number): unknown {
  if (depth > MAX_DEPTH) throw malformed('messages nested too deeply')
  const byNum = fieldsOf(schema)
  const raw: Raw = {}
  for (const f of schema.fields) {
    if (f.oneof === null) raw[f.prop] = f.kind.t === 'repeated' ? [] : undefined
    else raw[f.oneof] = null
  }
  while (r.pos < r.end) {
    const tag = r.varint()
    // Go's int32(tag >> 3): a huge tag's field number wraps, and may come out 0 or negative.
    const num = typeof tag === 'number' ? Math.floor(tag / 8) | 0 : Number(BigInt.asIntN(32, tag >> 3n))
    const wireType = typeof tag === 'number' ? tag % 8 : Number(tag & 7n)
    // As etcd's decoder checks, in its order.
    if (wireType === 4) throw malformed(`proto: ${goType(schema)}: wiretype end group for non-group`)
    if (num <= 0) throw malformed(`proto: ${goType(schema)}: illegal tag ${num} (wire type ${tag})`)
    const f = byNum.get(num)
    if (f === undefined) {
      r.skip(wireType)
      continue
    }
    if (f.kind.t === 'repeated') {
      const list = raw[f.prop] as unknown[]
      const of = f.kind.of
      if (!isLengthDelimited(of) && wireType === 2) {
        const [start, end] = r.part()
        const packed = r.sub(start, end)
        while (packed.pos < packed.end) list.push(fromVarint(of, packed.varint()))
      } else {
        list.push(readValue(r, f, of, wireType, depth))
      }
    } else if (f.oneof !== null) {
      raw[f.oneof] = { prop: f.prop, value: readValue(r, f, f.kind, wireType, depth) }
    } else {
      raw[f.prop] = readValue(r, f, f.kind, wireType, depth)
    }
  }
  for (const f of schema.fields) if (f.oneof === null && raw[f.prop] === undefined) raw[f.prop] = defaultOf(f.kind, depth)
  return schema.fromRaw(raw)
}

/**
 * Decodes a protobuf message. Malformed input throws a ProtoDecodeError saying what etcd's decoder
 * says of it; an enum number the schema does not know (refused over JSON too) throws one of its own.
 */
export function decodeProto<T>(schema: MessageSchema<T>, bytes: Uint8Array): T {
  return readMessage(schema as MessageSchema<unknown>, new Reader(bytes), 0) as T
}
