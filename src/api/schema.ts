/**
 * Message schemas: each etcd proto message is described once, field by field, in declaration
 * order, and that one description drives decoding (fields.ts), JSON printing (json-writer.ts) and
 * protobuf sizing (proto-size.ts).
 *
 * A field has its proto number, its proto name (what responses print and requests accept), its
 * lowerCamelCase JSON name (also accepted in requests), the property of the typed object it maps
 * to, and a kind. Members of a `oneof` share a group; the raw record holds the group's choice as
 * a {@link OneofChoice} (or null) and the schema's `fromRaw`/`toRaw` turn that into the typed shape.
 *
 * @module
 */

/** An enum by its Go type name (used in error messages) and its value names, by number. */
export interface EnumDef {
  readonly goName: string
  readonly names: readonly string[]
  /**
   * Takes any int32, as proto3 and etcd do, where etcd serves a number it has no name for: such a
   * number decodes as itself (a JS number), for its message's fromRaw to turn into what etcd does
   * with it. Otherwise (where etcd would crash on one) it is refused, as `unknown value N for enum`.
   */
  readonly open?: boolean
}

/**
 * `int64`/`uint64` map to JS numbers (revisions, counts, TTLs); `int64n`/`uint64n` to bigints
 * (lease IDs, member and cluster IDs, which use all 64 bits).
 */
export type Kind =
  | { readonly t: 'bytes' }
  | { readonly t: 'string' }
  | { readonly t: 'bool' }
  | { readonly t: 'int64' }
  | { readonly t: 'uint64' }
  | { readonly t: 'int64n' }
  | { readonly t: 'uint64n' }
  | { readonly t: 'uint32' }
  | { readonly t: 'enum'; readonly def: EnumDef }
  /** `present`: always there (absent decodes to the empty message, and it is always printed). */
  | { readonly t: 'message'; readonly schema: () => MessageSchema<unknown>; readonly present: boolean }
  | { readonly t: 'repeated'; readonly of: Kind }

export interface FieldDef {
  readonly num: number
  readonly name: string
  readonly json: string
  readonly prop: string
  readonly kind: Kind
  readonly oneof: string | null
}

export type Raw = Record<string, unknown>

export interface OneofChoice {
  readonly prop: string
  readonly value: unknown
}

export interface MessageSchema<T> {
  /** Proto full name, e.g. `etcdserverpb.RangeRequest`. */
  readonly name: string
  readonly fields: readonly FieldDef[]
  readonly fromRaw: (raw: Raw) => T
  readonly toRaw: (value: T) => Raw
}

export const K = {
  bytes: { t: 'bytes' },
  string: { t: 'string' },
  bool: { t: 'bool' },
  int64: { t: 'int64' },
  uint64: { t: 'uint64' },
  int64n: { t: 'int64n' },
  uint64n: { t: 'uint64n' },
  uint32: { t: 'uint32' },
} as const satisfies Record<string, Kind>

export function enumOf(def: EnumDef): Kind {
  return { t: 'enum', def }
}

export function messageOf<T>(schema: () => MessageSchema<T>, present = false): Kind {
  return { t: 'message', schema: schema as () => MessageSchema<unknown>, present }
}

export function repeated(of: Kind): Kind {
  return { t: 'repeated', of }
}

/** protoc's json_name: `range_end` → `rangeEnd`; `TTL`, `peerURLs` unchanged. */
export function jsonName(name: string): string {
  return name.replace(/_(.)/g, (_, c: string) => c.toUpperCase())
}

/** A field; the typed property defaults to the JSON name. */
export function field(num: number, name: string, kind: Kind, prop: string = jsonName(name)): FieldDef {
  return { num, name, json: jsonName(name), prop, kind, oneof: null }
}

/** A member of the oneof `group`; `prop` names the choice in the raw record. */
export function oneofField(group: string, num: number, name: string, kind: Kind, prop: string = jsonName(name)): FieldDef {
  return { num, name, json: jsonName(name), prop, kind, oneof: group }
}

export function message<T>(
  name: string,
  fields: readonly FieldDef[],
  convert?: { fromRaw: (raw: Raw) => T; toRaw: (value: T) => Raw },
): MessageSchema<T> {
  return {
    name,
    fields,
    fromRaw: convert?.fromRaw ?? ((raw) => raw as T),
    toRaw: convert?.toRaw ?? ((value) => value as Raw),
  }
}

/** A request without fields (status, member list, …). */
export type EmptyRequest = Readonly<Record<string, never>>

export function emptyMessage(name: string): MessageSchema<EmptyRequest> {
  return message<EmptyRequest>(name, [])
}

/** proto3's "not set": zero scalars, empty bytes/strings/lists, absent messages. */
export function isZero(kind: Kind, v: unknown): boolean {
  if (v === undefined || v === null) return !(kind.t === 'message' && kind.present)
  switch (kind.t) {
    case 'bytes': return (v as Uint8Array).length === 0
    case 'repeated': return (v as readonly unknown[]).length === 0
    case 'enum': return v === kind.def.names[0]
    case 'message': return false
    default: return v === 0 || v === 0n || v === '' || v === false
  }
}
