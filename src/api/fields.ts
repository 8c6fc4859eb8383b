/**
 * The field-decoding toolkit: a JSON tree + a message schema → the typed object, with the errors
 * grpc-gateway's jsonpb (golang/protobuf 1.3, AllowUnknownFields) and Go's encoding/json give:
 *
 * - a field is found by its proto name or its lowerCamelCase JSON name (the JSON name wins when
 *   both are there); anything else (`KeysOnly`, `ttl`) is ignored; `null` means absent;
 * - regular fields are decoded in declaration order, then oneof members, so the first error in
 *   that order is the one reported;
 * - bytes: standard base64 (or, as Go allows, an array of numbers 0..255);
 * - int64/uint64: a number, or a string whose *raw* text is parsed again as JSON (so `"abc"`
 *   fails with `invalid character 'a' looking for beginning of value`);
 * - enums: the exact name (raw text) or a number; unlike etcd, a number with no name is a 400;
 * - a type mismatch: `json: cannot unmarshal <json kind> into Go value of type <go type>`.
 *
 * Every error is an EtcdError with code InvalidArgument (HTTP 400).
 *
 * @module
 */

import { EtcdError, Errors } from '../mvcc/errors.ts'
import { ApiErrors } from './api-errors.ts'
import { decodeBase64 } from './base64.ts'
import { parseJson, type JsonValue } from './go-json.ts'
import { goQuote } from './go-strings.ts'
import type { EnumDef, FieldDef, Kind, MessageSchema, Raw } from './schema.ts'

/**
 * Message nesting deeper than this is refused. Only TxnRequest nests without bound, and etcd
 * refuses a txn nested deeper than max-txn-ops with "too many operations", so that is the answer.
 */
const MAX_DEPTH = 1000

const EMPTY_OBJECT: JsonValue = { kind: 'object', entries: new Map() }

const JSON_KIND_NAMES: Record<JsonValue['kind'], string> = {
  object: 'object', array: 'array', string: 'string', number: 'number', bool: 'bool', null: 'null',
}

function typeError(v: JsonValue, goType: string): EtcdError {
  return ApiErrors.badJson(`json: cannot unmarshal ${JSON_KIND_NAMES[v.kind]} into Go value of type ${goType}`)
}

function numberError(text: string, goType: string): EtcdError {
  return ApiErrors.badJson(`json: cannot unmarshal number ${text} into Go value of type ${goType}`)
}

interface IntRange {
  readonly min: bigint
  readonly max: bigint
  readonly goType: string
}

const INT64: IntRange = { min: -(2n ** 63n), max: 2n ** 63n - 1n, goType: 'int64' }
const UINT64: IntRange = { min: 0n, max: 2n ** 64n - 1n, goType: 'uint64' }
const UINT32: IntRange = { min: 0n, max: 2n ** 32n - 1n, goType: 'uint32' }
const UINT8: IntRange = { min: 0n, max: 255n, goType: 'uint8' }
const INTEGER = /^-?(0|[1-9][0-9]*)$/

/** Go's ParseInt/ParseUint + overflow check on a JSON number's text. */
function parseInteger(text: string, range: IntRange): bigint {
  if (!INTEGER.test(text) || (range.min === 0n && text.startsWith('-'))) throw numberError(text, range.goType)
  const n = BigInt(text)
  if (n < range.min || n > range.max) throw numberError(text, range.goType)
  return n
}

/**
 * An integer field: a number, or a string whose raw text is decoded again (jsonpb). A string of
 * plain integer text (the usual case: int64 fields travel as `"123"`) is that number as it
 * stands, so it is read without a second JSON parse, which would give the same number text.
 */
function decodeInteger(v: JsonValue, range: IntRange): bigint {
  if (v.kind === 'string' && INTEGER.test(v.raw)) return parseInteger(v.raw, range)
  const inner = v.kind === 'string' ? parseJson(v.raw) : v
  switch (inner.kind) {
    case 'number': return parseInteger(inner.text, range)
    case 'null': return 0n
    default: throw typeError(inner, range.goType)
  }
}

/** A name of `def`, or, for an open enum, a number it has no name for (schema.ts EnumDef). */
function decodeEnum(v: JsonValue, def: EnumDef): string | number {
  const { names, goName } = def
  if (v.kind === 'string') {
    if (names.includes(v.raw)) return v.raw
    throw ApiErrors.badJson(`unknown value ${goQuote(v.raw)} for enum ${goName}`)
  }
  if (v.kind !== 'number') throw typeError(v, goName)
  const n = parseInteger(v.text, { min: -(2n ** 31n), max: 2n ** 31n - 1n, goType: goName })
  const name = names[Number(n)]
  if (name !== undefined) return name
  if (def.open === true) return Number(n)
  throw ApiErrors.badJson(`unknown value ${n} for enum ${goName}`)
}

function decodeBytes(v: JsonValue): Uint8Array {
  switch (v.kind) {
    case 'string': return decodeBase64(v.value)
    case 'array': {
      const out = new Uint8Array(v.items.length)
      v.items.forEach((item, i) => {
        if (item.kind === 'number') out[i] = Number(parseInteger(item.text, UINT8))
        else if (item.kind !== 'null') throw typeError(item, 'uint8')
      })
      return out
    }
    default: throw typeError(v, '[]uint8')
  }
}

/** The value of an absent (or null) field. */
export function defaultOf(kind: Kind, depth: number): unknown {
  switch (kind.t) {
    case 'bytes': return new Uint8Array(0)
    case 'string': return ''
    case 'bool': return false
    case 'int64': case 'uint64': case 'uint32': return 0
    case 'int64n': case 'uint64n': return 0n
    case 'enum': return kind.def.names[0]
    case 'message': return kind.present ? decodeMessage(kind.schema(), EMPTY_OBJECT, depth + 1) : null
    case 'repeated': return []
  }
}

function decodeKind(kind: Kind, v: JsonValue | undefined, depth: number): unknown {
  if (v === undefined || v.kind === 'null') return defaultOf(kind, depth)
  switch (kind.t) {
    case 'bytes': return decodeBytes(v)
    case 'string':
      if (v.kind !== 'string') throw typeError(v, 'string')
      return v.value
    case 'bool':
      if (v.kind !== 'bool') throw typeError(v, 'bool')
      return v.value
    case 'int64': return Number(decodeInteger(v, INT64))
    case 'uint64': return Number(decodeInteger(v, UINT64))
    case 'uint32': return Number(decodeInteger(v, UINT32))
    case 'int64n': return decodeInteger(v, INT64)
    case 'uint64n': return decodeInteger(v, UINT64)
    case 'enum': return decodeEnum(v, kind.def)
    case 'message':
      if (v.kind !== 'object') throw typeError(v, 'map[string]json.RawMessage')
      return decodeMessage(kind.schema(), v, depth + 1)
    case 'repeated': {
      if (v.kind !== 'array') throw typeError(v, '[]json.RawMessage')
      // A null element of a message list is an empty message (etcd: "empty op / nil entry").
      const of = kind.of.t === 'message' ? { ...kind.of, present: true } : kind.of
      return v.items.map((item) => decodeKind(of, item, depth))
    }
  }
}

function lookup(entries: ReadonlyMap<string, JsonValue>, f: FieldDef): JsonValue | undefined {
  return entries.get(f.json) ?? entries.get(f.name)
}

/** Decodes `value` (an object, or null for an empty message) into the schema's typed shape. */
export function decodeMessage<T>(schema: MessageSchema<T>, value: JsonValue, depth = 0): T {
  if (depth > MAX_DEPTH) throw Errors.tooManyOps()
  if (value.kind === 'null') return decodeMessage(schema, EMPTY_OBJECT, depth)
  if (value.kind !== 'object') throw typeError(value, 'map[string]json.RawMessage')
  const raw: Raw = {}
  for (const f of schema.fields) {
    if (f.oneof === null) raw[f.prop] = decodeKind(f.kind, lookup(value.entries, f), depth)
    else raw[f.oneof] = null
  }
  for (const f of schema.fields) {
    if (f.oneof === null) continue
    const v = lookup(value.entries, f)
    if (v === undefined || v.kind === 'null') continue
    raw[f.oneof] = { prop: f.prop, value: decodeKind(f.kind, v, depth) }
  }
  return schema.fromRaw(raw)
}
