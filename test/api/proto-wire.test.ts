/**
 * Protobuf encoding from the schemas (src/api/proto-wire.ts) against bytes worked out by hand from
 * the protobuf wire format and etcd's field numbers, then round trips of every endpoint's
 * messages as the JSON tests build them, and malformed input.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  decodeRequest, ENDPOINTS, kvDeleteRange, kvRange, kvTxn, leaseGrant, leaseRevoke, leaseTimeToLive, maintenanceHash, ProtoDecodeError, roleGet, watch, type AnyEndpoint,
} from '../../src/api/index.ts'
import { ResponseHeaderSchema } from '../../src/api/header.ts'
import { decodeProto, encodeProto } from '../../src/api/proto-wire.ts'
import { KeyValueSchema, PutRequestSchema, RangeResponseSchema } from '../../src/api/kv-schemas.ts'
import { EtcdError } from '../../src/mvcc/index.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/ /g, ''), 'hex'))
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('protobuf wire format from the schemas', () => {
  test('a put: bytes fields, a varint, zero fields left out', () => {
    const put = decodeRequest(ENDPOINTS.find((e) => e.name === 'kv.put')!, '{"key":"YQ==","value":"Yg==","lease":"5"}')
    // key = 1 (0a), value = 2 (12), lease = 3 (18); prev_kv etc. are false: not written.
    assert.equal(hex(encodeProto(PutRequestSchema, put)), '0a0161' + '120162' + '1805')
    assert.deepEqual(decodeProto(PutRequestSchema, bytes('0a0161 120162 1805')), put)
  })

  test('a negative int64 takes ten bytes; enums are their numbers', () => {
    const range = decodeRequest(kvRange, '{"key":"YQ==","revision":"-1","sort_order":"DESCEND","sort_target":"MOD"}')
    // revision = 4 → 20 + ten bytes of two's complement; sort_order = 5 (28) 2; sort_target = 6 (30) 3.
    assert.equal(hex(encodeProto(kvRange.request, range)), '0a0161' + '20ffffffffffffffffff01' + '2802' + '3003')
    assert.deepEqual(decodeProto(kvRange.request, encodeProto(kvRange.request, range)), range)
  })

  test('a watch create request: a oneof, packed enums (either packing is read)', () => {
    const create = decodeRequest(watch, '{"create_request":{"key":"YQ==","filters":["NODELETE"],"prev_kv":true}}')
    // create_request = 1 (0a, length 8): key = 1, filters = 5 packed (2a 01 01), prev_kv = 6 (30 01).
    assert.equal(hex(encodeProto(watch.request, create)), '0a08' + '0a0161' + '2a0101' + '3001')
    assert.deepEqual(decodeProto(watch.request, bytes('0a07 0a0161 2801 3001')), create, 'filters unpacked')
  })

  test('a txn: nested messages and oneofs, in and out', () => {
    const txn = decodeRequest(kvTxn, JSON.stringify({
      compare: [{ key: 'YQ==', target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
      success: [{ request_put: { key: 'YQ==', value: 'Yg==' } }],
      failure: [{ request_range: { key: 'YQ==' } }],
    }))
    const wire = encodeProto(kvTxn.request, txn)
    // compare = 1 (0a, 7): target = 2 CREATE (10 01), key = 3 (1a 01 61), create_revision = 5 set to 0 (28 00).
    assert.equal(hex(wire).slice(0, 18), '0a07' + '1001' + '1a0161' + '2800')
    assert.deepEqual(decodeProto(kvTxn.request, wire), txn)
  })

  test('nested messages of every length class: tag, the length as a varint, then the message itself', () => {
    const varint = (n: number): string => {
      let out = ''
      for (; n >= 128; n = Math.floor(n / 128)) out += ((n % 128) | 128).toString(16).padStart(2, '0')
      return out + n.toString(16).padStart(2, '0')
    }
    const kv = (size: number) => ({ key: text('k'), createRevision: 1, modRevision: 2, version: 1, value: new Uint8Array(size).fill(7), lease: 0n })
    const header = hex(encodeProto(RangeResponseSchema as never, { header: { revision: 9 }, kvs: [], more: false, count: 0 } as never))
    const check = (list: readonly number[]): void => {
      const kvs = list.map(kv)
      const response = { header: { revision: 9 }, kvs, more: false, count: kvs.length }
      const encoded = encodeProto(RangeResponseSchema as never, response as never)
      // Each kv, encoded alone, follows its tag (field 2: 12) and its length; count (field 4: 20) last.
      const expected = kvs.map((k) => {
        const body = hex(encodeProto(KeyValueSchema, k))
        return '12' + varint(body.length / 2) + body
      })
      assert.equal(hex(encoded), header + expected.join('') + (kvs.length > 0 ? '20' + varint(kvs.length) : ''), `values of ${list.join(', ')} bytes`)
    }
    // One kv ending at every offset around the writer's first buffer sizes (256, 512 bytes).
    for (let size = 0; size < 600; size++) check([size])
    const sizes = fc.oneof(fc.constantFrom(0, 116, 117, 118, 16_371, 16_372, 16_373, 2_097_140), fc.integer({ min: 0, max: 40_000 }))
    fc.assert(fc.property(fc.array(sizes, { maxLength: 4 }), check), { numRuns: 60 })
  })

  test('varints over the whole 64-bit range: the bytes of the wire format, and the same values read back', () => {
    // The wire format's rule, one BigInt at a time: 7 bits per byte, low first, of the two's complement.
    const reference = (v: bigint): string => {
      let u = BigInt.asUintN(64, v)
      const out: number[] = []
      while (u >= 128n) {
        out.push(Number(u & 127n) | 128)
        u >>= 7n
      }
      out.push(Number(u))
      return Buffer.from(out).toString('hex')
    }
    const edges = [0n, 1n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n]
    const unsigned = fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 40n }))
    fc.assert(
      fc.property(unsigned, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (id, revision) => {
        // cluster_id (1) is a uint64 kept as a bigint, revision (3) an int64 kept as a number.
        const header = { clusterId: id, memberId: 0n, revision, raftTerm: 0 }
        const expected = (id === 0n ? '' : '08' + reference(id)) + (revision === 0 ? '' : '18' + reference(BigInt(revision)))
        const encoded = encodeProto(ResponseHeaderSchema, header)
        assert.equal(hex(encoded), expected)
        assert.deepEqual(decodeProto(ResponseHeaderSchema, encoded), header)
      }),
      { numRuns: 500 },
    )
    // Signed: a lease ID (an int64 kept as a bigint) of any sign.
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(-1n, -(2n ** 63n), -(2n ** 49n))), (id) => {
        const grant = { ttl: 0, id }
        const encoded = encodeProto(leaseGrant.request, grant)
        assert.equal(hex(encoded), id === 0n ? '' : '10' + reference(id))
        assert.deepEqual(decodeProto(leaseGrant.request, encoded), grant)
      }),
      { numRuns: 500 },
    )
  })

  test('an int64 beyond 2^53 (MaxInt64 as a revision) is taken as 2^53 - 1, not rounded out of range', () => {
    const range = decodeProto(kvRange.request, bytes('0a0161 20ffffffffffffffff7f'))
    assert.equal(range.revision, Number.MAX_SAFE_INTEGER)
    assert.equal(decodeProto(kvRange.request, bytes('0a0161 2080808080808080808001')).revision, -Number.MAX_SAFE_INTEGER)
  })

  test('unknown fields are skipped (every wire type); the last value of a field wins', () => {
    const got = decodeProto(PutRequestSchema, bytes('0a0178 f80701 fd0701020304 f9070102030405060708 fa0701ff 0a0161 120162'))
    assert.deepEqual([...got.key], [...text('a')])
    assert.deepEqual([...got.value], [...text('b')])
  })

  test('every endpoint: an empty message decodes to the schema defaults and encodes to nothing', () => {
    for (const ep of ENDPOINTS) {
      if (ep.name === 'watch') continue // its empty message means "no request"
      const empty = decodeProto(ep.request, new Uint8Array(0))
      assert.equal(encodeProto(ep.request, empty).length, 0, ep.name)
    }
  })

  test('malformed input is an EtcdError, never a crash', () => {
    for (const bad of ['0a05616263', '18ffffffffffffffffffff01', '0f', '1a02ff', 'c0']) {
      assert.throws(() => decodeProto(kvRange.request, bytes(bad)), (err: unknown) => err instanceof EtcdError && err.code === 13, bad)
    }
    // An enum number must be known where etcd crashed on one (the sort target).
    assert.throws(() => decodeProto(kvRange.request, bytes('3009')), EtcdError)
  })
})

test('enum numbers without a name: taken where etcd serves them (as over JSON), refused where etcd crashed', () => {
  const key = [0x0a, 0x01, 0x61]
  const range = decodeProto(kvRange.request, Uint8Array.from([...key, 0x28, 0x09, 0x30, 0x02]))
  assert.deepEqual([range.sortOrder, range.sortTarget], ['NONE', 'KEY'])
  // sort_order -1 travels as a ten-byte varint.
  const negative = decodeProto(kvRange.request, Uint8Array.from([...key, 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
  assert.equal(negative.sortOrder, 'NONE')
  const compare = [0x08, 0x09, 0x10, 0x03, ...key.map((b, i) => (i === 0 ? 0x1a : b))]
  const txn = decodeProto(kvTxn.request, Uint8Array.from([0x0a, compare.length, ...compare]))
  assert.deepEqual(txn.compare.map((c) => [c.target, c.result, c.createRevision]), [['CREATE', 'GREATER', 0]], 'VALUE with no result: holds where a key is')
  assert.deepEqual(decodeRequest(kvTxn, '{"compare":[{"key":"YQ==","target":"VALUE","result":9}]}').compare, txn.compare, 'the same as over JSON')
})

test('varints written longer than they need (any encoder may): the same values, whichever way they are read', () => {
  // 8 bytes for a value below 128: past the seven a number holds, so read as a bigint.
  const long = (v: number): number[] => [v | 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]
  // key (1) "a", sort_order (5) DESCEND, serializable (7) true, limit (3) 5.
  const canonical = [0x0a, 0x01, 0x61, 0x28, 0x02, 0x38, 0x01, 0x18, 0x05]
  const stretched = [...long(0x0a), ...long(0x01), 0x61, ...long(0x28), ...long(0x02), 0x38, ...long(0x01), 0x18, ...long(0x05)]
  const expected = decodeProto(kvRange.request, Uint8Array.from(canonical))
  assert.deepEqual([expected.sortOrder, expected.serializable, expected.limit], ['DESCEND', true, 5])
  assert.deepEqual(decodeProto(kvRange.request, Uint8Array.from(stretched)), expected)
  // An int32 of -1 as five bytes (its 32 bits) reads as the ten-byte form does.
  const five = decodeProto(kvRange.request, Uint8Array.from([0x0a, 0x01, 0x61, 0x28, 0xff, 0xff, 0xff, 0xff, 0x0f]))
  const ten = decodeProto(kvRange.request, Uint8Array.from([0x0a, 0x01, 0x61, 0x28, ...Array(9).fill(0xff), 0x01]))
  assert.deepEqual(five, ten)
  // Cut off inside the eighth byte's run: truncated, an EtcdError.
  assert.throws(() => decodeProto(kvRange.request, Uint8Array.from([0x0a, 0x01, 0x61, 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])), EtcdError)
})

test("bytes that do not decode: etcd 3.4's words for them, byte for byte (each observed on etcd over gRPC)", () => {
  const cases: Array<[AnyEndpoint, string, string]> = [
    [kvRange, '0a270161aa126a62', 'unexpected EOF'],
    [kvRange, '7b', 'unexpected EOF'],
    [kvDeleteRange, '0805', 'proto: wrong wireType = 0 for field Key'],
    [kvRange, '1b0a01611c', 'proto: wrong wireType = 3 for field Limit'],
    [leaseRevoke, '0a01c8c5026f01', 'proto: wrong wireType = 2 for field ID'],
    [kvRange, '0a01617e022001', 'proto: illegal wireType 6'],
    [leaseTimeToLive, 'b4086305', 'proto: LeaseTimeToLiveRequest: wiretype end group for non-group'],
    [kvRange, '7c', 'proto: RangeRequest: wiretype end group for non-group'],
    [kvRange, '0a0161182902', 'proto: RangeRequest: illegal tag 0 (wire type 2)'],
    [maintenanceHash, '050afa016112018e', 'proto: HashRequest: illegal tag 0 (wire type 5)'],
    [kvRange, '808080808001', 'proto: RangeRequest: illegal tag 0 (wire type 34359738368)'],
    [kvRange, '18ffffffffffffffffffff01', 'proto: integer overflow'],
    [kvRange, '0affffffffffffffffff01', 'proto: negative length found during unmarshaling'],
    [kvRange, '0a8080808080808080800161', 'proto: negative length found during unmarshaling'],
  ]
  for (const [ep, hex, detail] of cases) {
    assert.throws(
      () => decodeProto(ep.request, Buffer.from(hex, 'hex')),
      (err: unknown) => {
        assert.ok(err instanceof ProtoDecodeError, hex)
        assert.equal(err.message, `grpc: error unmarshalling request: ${detail}`, hex)
        assert.equal(err.inStream, `grpc: failed to unmarshal the received message ${detail}`, hex)
        return true
      },
    )
  }
  // What etcd reads without a word: an unknown field's group, skipped with the groups inside it;
  // a string that is not UTF-8 (gogoproto does not check), its bad bytes read as U+FFFD.
  const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
  assert.deepEqual(decodeProto(kvRange.request, hex('7b0a01617c0a0162')).key, Uint8Array.from([0x62]))
  assert.equal(decodeProto(roleGet.request, hex('0a03b16162')).role, '\ufffdab')
})
