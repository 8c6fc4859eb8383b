/**
 * A repeated field's items written ahead as JSON, or encoded ahead as protobuf, a slice at a time
 * (json-writer.ts's writeItemsInSlices, proto-wire.ts's encodeItemsInSlices: what a member does
 * for a range answer of many kvs), come out exactly as the list written at once: random kvs
 * (empty and binary keys and values, leases, zero revisions), any slice size; a list of none is
 * left out as an empty one is; and the pause comes once between two slices.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeResponse, KeyValueSchema, writeItemsInSlices } from '../../src/api/index.ts'
import { kvRange } from '../../src/api/kv-endpoints.ts'
import { encodeItemsInSlices, encodeProto } from '../../src/api/proto-wire.ts'
import type { KeyValue, RangeResponse } from '../../src/mvcc/kv.ts'
import { CTX } from './helpers.ts'

const kvArb: fc.Arbitrary<KeyValue> = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  createRevision: fc.nat(50),
  modRevision: fc.nat(50),
  version: fc.nat(5),
  value: fc.uint8Array({ maxLength: 8 }),
  lease: fc.constantFrom(0n, 7n, 2n ** 62n),
})

test('property: kvs written a slice at a time print as kvs written at once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(kvArb, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), async (kvs, slice, more) => {
      const res: RangeResponse = { header: { revision: 9 }, kvs, more, count: kvs.length + 3 }
      let pauses = 0
      const written = await writeItemsInSlices(KeyValueSchema, kvs, slice, async () => void pauses++)
      assert.equal(encodeResponse(kvRange, { ...res, kvs: written as unknown as KeyValue[] }, CTX), encodeResponse(kvRange, res, CTX))
      assert.equal(pauses, Math.max(0, Math.ceil(kvs.length / slice) - 1))
    }),
    { numRuns: 300 },
  )
})

test('property: kvs encoded as protobuf a slice at a time encode as kvs encoded at once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(kvArb, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), async (kvs, slice, more) => {
      const res: RangeResponse = { header: { revision: 9 }, kvs, more, count: kvs.length + 3 }
      let pauses = 0
      const encoded = await encodeItemsInSlices(kvRange.response, 'kvs', kvs, slice, async () => void pauses++)
      assert.deepEqual(encodeProto(kvRange.response, { ...res, kvs: encoded as unknown as KeyValue[] }), encodeProto(kvRange.response, res))
      assert.equal(pauses, Math.max(0, Math.ceil(kvs.length / slice) - 1))
    }),
    { numRuns: 300 },
  )
})

test('only lists of length-delimited items are encoded ahead (a packed list of numbers is one field)', async () => {
  await assert.rejects(encodeItemsInSlices(kvRange.response, 'count', [1], 1, async () => undefined), /not a list of length-delimited items/)
})
