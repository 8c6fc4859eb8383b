/**
 * Mutated requests for the differential check (requests.ts, etcd-diff.ts): a well-formed KV
 * request with one field given a value of another type or range (a number past int64, a float,
 * a string where a number goes, invalid base64, null, an array, an object…) or dropped, or its
 * JSON text edited by a byte or two (a bracket lost, a character inserted, the body cut short).
 * Both systems must answer each alike: the same error, or the same success.
 *
 * Only the KV paths are mutated (not lease grants, whose odd TTLs would expire leases at moments
 * the systems do not share; nor role grants: etcd 3.4.23 crashes on a grant without a
 * permission; nor locks and campaigns, which could wait for ever).
 *
 * @module
 */
import type { Rng } from '../chaos/prng.ts'
import type { GeneratedRequest } from './requests.ts'

/** The paths whose requests may be mutated. */
export const MUTABLE_PATHS: ReadonlySet<string> = new Set(['/v3/kv/put', '/v3/kv/range', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/kv/compaction'])

const ODD_VALUES: readonly unknown[] = [
  -1, '-1', '9223372036854775807', '9223372036854775808', '18446744073709551616', -9223372036854775808, 1e300, 1.5, '1.5',
  '1e3', '0x10', ' 1', '', '!!', 'YQ', 'YQ=\n', 'A'.repeat(300), null, true, 'true', [], [1], {}, { a: 1 }, 0, '0',
]

const TEXT_EDITS: readonly string[] = ['"', '{', '}', '[', ']', ',', ':', '\\', 'u', '0', '-', '.', 'e', ' ', 'n', 'x', '\u00e9', '\u0000', '/', '=']

/** `request` mutated once (see the module doc), or as it is when its path is not mutable. */
export function mutateRequest(rng: Rng, request: GeneratedRequest): GeneratedRequest {
  if (!MUTABLE_PATHS.has(request.path) || request.raw !== undefined || typeof request.body !== 'object' || request.body === null) return request
  const text = JSON.stringify(request.body)
  // Text edits only for a body without lease references: those are replaced per system in the object.
  if (rng.chance(0.4) && !text.includes('$lease')) return { ...request, body: null, raw: editText(rng, text) }
  return { ...request, body: mutateField(rng, request.body) }
}

/** A copy of `value` with one field (at any depth) given another, odd value, or dropped. */
function mutateField(rng: Rng, value: object): unknown {
  const slots: Array<{ readonly holder: Record<string, unknown> | unknown[]; readonly key: string | number }> = []
  const copy = structuredClone(value) as Record<string, unknown>
  const visit = (holder: Record<string, unknown> | unknown[]): void => {
    const entries: Array<[string | number, unknown]> = Array.isArray(holder) ? holder.map((v, i) => [i, v]) : Object.entries(holder)
    for (const [key, v] of entries) {
      if (typeof v === 'object' && v !== null && '$lease' in v) continue
      slots.push({ holder, key })
      if (typeof v === 'object' && v !== null) visit(v as Record<string, unknown> | unknown[])
    }
  }
  visit(copy)
  if (slots.length === 0) return copy
  const { holder, key } = rng.pick(slots)
  if (!Array.isArray(holder) && rng.chance(0.2)) delete holder[key as string]
  else {
    const now = JSON.stringify((holder as Record<string | number, unknown>)[key])
    ;(holder as Record<string | number, unknown>)[key] = rng.pick(ODD_VALUES.filter((v) => JSON.stringify(v) !== now))
  }
  return copy
}

/** `text` with one or two bytes inserted, removed or replaced, or cut short. */
function editText(rng: Rng, text: string): string {
  let edited = text
  for (let n = rng.int(1, 3); n > 0; n--) {
    const at = rng.int(0, edited.length)
    const kind = rng.int(0, 3)
    if (kind === 0) edited = edited.slice(0, at) + rng.pick(TEXT_EDITS) + edited.slice(at)
    else if (kind === 1) edited = edited.slice(0, at) + edited.slice(at + 1)
    else if (kind === 2) edited = edited.slice(0, at) + rng.pick(TEXT_EDITS) + edited.slice(at + 1)
    else edited = edited.slice(0, at)
  }
  return edited
}
