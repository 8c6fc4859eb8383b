/**
 * fast-check generators and fixtures for Raft messages, shared by the mesh tests.
 *
 * @module
 */
import fc from 'fast-check'
import type { Entry, Message, NodeId, Snapshot } from '../../src/raft/types.ts'
import { ENTRY_TYPES } from '../../src/mesh/codec.ts'
import { MESSAGE_TYPES } from '../../src/raft/types.ts'

const count = fc.oneof(fc.nat(1000), fc.maxSafeNat())
const bytes = fc.uint8Array({ maxLength: 64 })

export const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: count,
  index: count,
  type: fc.constantFrom(...ENTRY_TYPES),
  data: bytes,
})

export const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  metadata: fc.record({
    index: count,
    term: count,
    confState: fc.record({ voters: fc.array(count, { maxLength: 5 }), learners: fc.array(count, { maxLength: 3 }) }),
  }),
  data: bytes,
})

export const messageArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...MESSAGE_TYPES),
  from: count,
  to: count,
  term: count,
  logTerm: count,
  index: count,
  commit: count,
  entries: fc.array(entryArb, { maxLength: 4 }),
  reject: fc.boolean(),
  rejectHint: count,
  snapshot: fc.option(snapshotArb, { nil: null }),
  context: bytes,
})

/** A message with every unused field zero, as Raft builds them. */
export function message(fields: Partial<Message> & Pick<Message, 'from' | 'to'>): Message {
  return {
    type: 'MsgHeartbeat',
    term: 1,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: new Uint8Array(0),
    ...fields,
  }
}

/** A MsgApp with `n` entries of `payload` bytes each: the benchmark's unit of work. */
export function appendMessage(from: NodeId, to: NodeId, index: number, n: number, payload: number): Message {
  const entries: Entry[] = []
  for (let i = 0; i < n; i++) {
    entries.push({ term: 3, index: index + i, type: 'normal', data: new Uint8Array(payload).fill(i & 0xff) })
  }
  return message({ type: 'MsgApp', from, to, term: 3, logTerm: 3, index: index - 1, commit: index - 1, entries })
}
