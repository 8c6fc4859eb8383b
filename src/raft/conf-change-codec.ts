/**
 * The byte encoding of a ConfChange inside a `conf-change` log entry. Hand-written so the core
 * needs no serialization library; the layout is fixed and versioned:
 *
 *   byte 0      format version (1)
 *   byte 1      type: 1 add-voter, 2 add-learner, 3 remove
 *   bytes 2-9   node ID, unsigned 64-bit big-endian (must be a safe integer, never 0)
 *   bytes 10-   context, opaque
 *
 * @module
 */
import type { ConfChange } from './types.ts'

const VERSION = 1
const HEADER = 10
const TYPES: readonly ConfChange['type'][] = ['add-voter', 'add-learner', 'remove']
const TWO_32 = 2 ** 32

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
    throw new Error(`raft: bad conf change node ID ${cc.nodeId}`)
  }
  const code = TYPES.indexOf(cc.type) + 1
  if (code === 0) throw new Error(`raft: bad conf change type ${String(cc.type)}`)
  const out = new Uint8Array(HEADER + cc.context.length)
  const view = new DataView(out.buffer)
  out[0] = VERSION
  out[1] = code
  view.setUint32(2, Math.floor(cc.nodeId / TWO_32))
  view.setUint32(6, cc.nodeId % TWO_32)
  out.set(cc.context, HEADER)
  return out
}

/** Decodes bytes written by {@link encodeConfChange}; throws on anything else. */
export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (bytes.length < HEADER) throw new Error(`raft: conf change too short (${bytes.length} bytes)`)
  if (bytes[0] !== VERSION) throw new Error(`raft: unknown conf change version ${bytes[0]}`)
  const type = TYPES[(bytes[1] as number) - 1]
  if (type === undefined) throw new Error(`raft: unknown conf change type code ${bytes[1]}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const nodeId = view.getUint32(2) * TWO_32 + view.getUint32(6)
  if (!Number.isSafeInteger(nodeId) || nodeId === 0) throw new Error(`raft: bad conf change node ID ${nodeId}`)
  return { type, nodeId, context: bytes.slice(HEADER) }
}
