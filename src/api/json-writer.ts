/**
 * Typed object + schema → JSON text, as grpc-gateway's jsonpb marshaler (OrigName, no defaults)
 * prints it: fields in declaration order under their proto names, zero values left out, int64 and
 * uint64 as strings, uint32 as a number, enums by name, bytes as padded standard base64, strings
 * escaped like Go's json.Marshal. A oneof member that is set is printed even when zero, and a
 * present sub-message with nothing in it prints as `{}`.
 *
 * A repeated field's items may come already written ({@link WrittenItems}): a long list (a range
 * of 100,000 kvs) is written a slice at a time, the event loop given back between slices
 * ({@link writeItemsInSlices}), and the rest of the message around it at once.
 *
 * @module
 */

import { encodeBase64 } from './base64.ts'
import { jsonString } from './go-strings.ts'
import { isZero, type Kind, type MessageSchema, type OneofChoice, type Raw } from './schema.ts'

/** A repeated field's items, already written: their JSON, joined by commas. */
export class WrittenItems {
  /** `length` is the items' count (a list of none is left out, as an empty array is). */
  constructor(
    readonly json: string,
    readonly length: number,
  ) {}
}

/**
 * The items of a repeated message field written as {@link writeMessage} writes them in the
 * list, `sliceItems` at a time, awaiting `pause()` between two slices.
 */
export async function writeItemsInSlices<T>(
  schema: MessageSchema<T>,
  items: readonly T[],
  sliceItems: number,
  pause: () => Promise<void>,
): Promise<WrittenItems> {
  const slices: string[] = []
  for (let at = 0; at < items.length; at += sliceItems) {
    if (at > 0) await pause()
    slices.push(items.slice(at, at + sliceItems).map((item) => writeMessage(schema, item)).join(','))
  }
  return new WrittenItems(slices.join(','), items.length)
}

function writeKind(kind: Kind, v: unknown): string {
  switch (kind.t) {
    case 'bytes': return '"' + encodeBase64(v as Uint8Array) + '"'
    case 'string': return jsonString(v as string)
    case 'bool': return v ? 'true' : 'false'
    case 'int64': case 'uint64': case 'int64n': case 'uint64n': return '"' + String(v) + '"'
    case 'uint32': return String(v)
    case 'enum': return '"' + (v as string) + '"'
    case 'message': return v === null || v === undefined ? '{}' : writeMessage(kind.schema(), v)
    case 'repeated': {
      if (v instanceof WrittenItems) return '[' + v.json + ']'
      const of = kind.of.t === 'message' ? { ...kind.of, present: true } : kind.of
      return '[' + (v as readonly unknown[]).map((item) => writeKind(of, item)).join(',') + ']'
    }
  }
}

function writeRaw(schema: MessageSchema<unknown>, raw: Raw): string {
  let out = ''
  for (const f of schema.fields) {
    let v: unknown
    if (f.oneof !== null) {
      const choice = raw[f.oneof] as OneofChoice | null | undefined
      if (choice === null || choice === undefined || choice.prop !== f.prop) continue
      v = choice.value
    } else {
      v = raw[f.prop]
      if (isZero(f.kind, v)) continue
    }
    out += (out === '' ? '"' : ',"') + f.name + '":' + writeKind(f.kind, v)
  }
  return '{' + out + '}'
}

export function writeMessage<T>(schema: MessageSchema<T>, value: T): string {
  return writeRaw(schema as MessageSchema<unknown>, schema.toRaw(value))
}
