/**
 * authority-mend.ts on hand-made HTTP/2 bytes: a URL authority becomes host:port, anything else
 * passes byte for byte, frames may arrive cut anywhere, a malformed header block is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import hpack from 'hpack.js'
import { AuthorityMend, mendedAuthority } from '../../src/grpc/authority-mend.ts'
import { frame, PREFACE } from './h2-bytes.ts'

/** A client's bytes: preface, SETTINGS, then one request's HEADERS (END_HEADERS) and DATA per authority. */
function clientBytes(authorities: readonly string[]): Buffer {
  const encoder = hpack.compressor.create({ table: { maxSize: 4096 } })
  const parts = [PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))]
  authorities.forEach((authority, i) => {
    encoder.write([
      { name: ':method', value: 'POST', neverIndex: false },
      { name: ':path', value: '/etcdserverpb.KV/Range', neverIndex: false },
      { name: ':authority', value: authority, neverIndex: false },
      { name: 'content-type', value: 'application/grpc', neverIndex: false },
    ])
    const stream = 1 + 2 * i
    parts.push(frame(0x1, 0x4, stream, encoder.read() as Buffer), frame(0x0, 0x1, stream, Buffer.from([0, 0, 0, 0, 0])))
  })
  return Buffer.concat(parts)
}

/** Every `cut` bytes through one mend, the output joined. */
function mended(bytes: Buffer, cut: number): Buffer {
  const mend = new AuthorityMend()
  const out: Buffer[] = []
  for (let at = 0; at < bytes.length; at += cut) out.push(...mend.push(bytes.subarray(at, at + cut)))
  return Buffer.concat(out)
}

/** The authorities of the requests in `bytes` (client bytes as above), as a server decodes them. */
function authorities(bytes: Buffer): string[] {
  const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } })
  const found: string[] = []
  for (let at = PREFACE.length; at < bytes.length; ) {
    const length = bytes.readUIntBE(at, 3)
    if (bytes[at + 3] === 0x1) {
      decoder.write(bytes.subarray(at + 9, at + 9 + length))
      decoder.execute()
      for (let f = decoder.read(); f !== null; f = decoder.read()) if (f.name === ':authority') found.push(f.value)
    }
    at += 9 + length
  }
  return found
}

test('mendedAuthority: the host:port of a URL, null for an authority', () => {
  assert.equal(mendedAuthority('http://127.0.0.1:2379'), '127.0.0.1:2379')
  assert.equal(mendedAuthority('https://etcd.example:2379/x?y'), 'etcd.example:2379')
  assert.equal(mendedAuthority('127.0.0.1:2379'), null)
  assert.equal(mendedAuthority('localhost'), null)
})

test('well-formed authorities pass byte for byte, however the bytes are cut', () => {
  const bytes = clientBytes(['127.0.0.1:2379', '127.0.0.1:2379', 'other:1'])
  for (const cut of [1, 7, 9, 64, bytes.length]) assert.deepEqual(mended(bytes, cut), bytes)
})

test('URL authorities become host:port, and later blocks stay decodable', () => {
  const bytes = clientBytes(['127.0.0.1:2379', 'http://127.0.0.1:2379', 'http://127.0.0.1:2379', 'plain:1'])
  for (const cut of [1, 13, bytes.length]) {
    assert.deepEqual(authorities(mended(bytes, cut)), ['127.0.0.1:2379', '127.0.0.1:2379', '127.0.0.1:2379', 'plain:1'])
  }
})

test("a frame over the server's maximum size, or a header block of more than 8 CONTINUATIONs, is refused at once", () => {
  const huge = Buffer.concat([PREFACE, Buffer.from([0xff, 0xff, 0xff, 0x0, 0x0, 0, 0, 0, 1])])
  assert.throws(() => new AuthorityMend().push(huge), /over the server's maximum/)
  const mend = new AuthorityMend()
  mend.push(Buffer.concat([PREFACE, frame(0x1, 0, 1, Buffer.from([0x82]))]))
  for (let i = 0; i < 8; i++) assert.deepEqual(mend.push(frame(0x9, 0, 1, Buffer.alloc(100))), [], 'held until the block ends')
  assert.throws(() => mend.push(frame(0x9, 0, 1, Buffer.alloc(100))), /too many CONTINUATION/)
})

test('a malformed header block, or one interrupted by another frame, is refused', () => {
  const bad = Buffer.concat([PREFACE, frame(0x1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))])
  assert.throws(() => new AuthorityMend().push(bad))
  const open = Buffer.concat([PREFACE, frame(0x1, 0, 1, Buffer.from([0x82])), frame(0x0, 0x1, 1, Buffer.alloc(0))])
  assert.throws(() => new AuthorityMend().push(open), /interrupted/)
})
