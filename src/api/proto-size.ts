/**
 * The protobuf wire size of a typed message, from the same schema: what gRPC's receive limit and
 * etcd's max-request-bytes are measured against (the gateway turns JSON into protobuf before
 * either check, so base64 text does not count, decoded bytes do).
 *
 * @module
 */

import { utf8Length } from './go-strings.ts'
import { isZero, type Kind, type MessageSchema, type OneofChoice, type Raw } from './schema.ts'

/** Bytes of `v` as a protobuf varint (negative int64: 10). */
export function varintSize(v: number | bigint): number {
  if (typeof v === 'bigint') {
    if (v < 0n) return 10
    let n = 1
    while (v >= 128n) {
      v >>= 7n
      n++
    }
    return n
  }
  if (v < 0) return 10
  let n = 1
  while (v >= 128) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

function payloadSize(kind: Kind, v: unknown): number {
  switch (kind.t) {
    case 'bytes': return (v as Uint8Array).length
    case 'string': return utf8Length(v as string)
    case 'message': return v === null || v === undefined ? 0 : protoSize(kind.schema(), v)
    case 'bool': return 1
    case 'enum': return varintSize(kind.def.names.indexOf(v as string))
    default: return varintSize(v as number | bigint)
  }
}

/** Kinds written as a length and their bytes (wire type 2). */
export const isLengthDelimited = (kind: Kind): boolean => kind.t === 'bytes' || kind.t === 'string' || kind.t === 'message'

function fieldSize(num: number, kind: Kind, v: unknown): number {
  const tag = varintSize(num << 3)
  if (kind.t === 'repeated') {
    const items = v as readonly unknown[]
    if (isLengthDelimited(kind.of)) return items.reduce((n: number, item) => n + fieldSize(num, kind.of, item), 0)
    const packed = items.reduce((n: number, item) => n + payloadSize(kind.of, item), 0)
    return tag + varintSize(packed) + packed
  }
  const size = payloadSize(kind, v)
  return tag + (isLengthDelimited(kind) ? varintSize(size) : 0) + size
}

function rawSize(schema: MessageSchema<unknown>, raw: Raw): number {
  let n = 0
  for (const f of schema.fields) {
    if (f.oneof !== null) {
      const choice = raw[f.oneof] as OneofChoice | null | undefined
      if (choice?.prop === f.prop) n += fieldSize(f.num, f.kind, (choice as OneofChoice).value)
    } else if (!isZero(f.kind, raw[f.prop])) {
      n += fieldSize(f.num, f.kind, raw[f.prop])
    }
  }
  return n
}

/** Bytes of the message's protobuf encoding. */
export function protoSize<T>(schema: MessageSchema<T>, value: T): number {
  return rawSize(schema as MessageSchema<unknown>, schema.toRaw(value))
}
