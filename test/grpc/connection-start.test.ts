/**
 * connection-start.ts on hand-made client bytes: where a connection goes (Node's HTTP/2 server on
 * the socket, or the mending stream), when the port must send its own SETTINGS, and that the
 * bytes handed on are the client's, less exactly the ACK of those SETTINGS, however they are cut.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import hpack from 'hpack.js'
import { ConnectionStart, type StartRoute } from '../../src/grpc/connection-start.ts'
import { callFields, frame, PREFACE } from './h2-bytes.ts'

const SETTINGS = frame(0x4, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff]))
const WINDOW_UPDATE = frame(0x8, 0, 0, Buffer.from([0, 0x0e, 0, 0x01]))
const ACK = frame(0x4, 0x1, 0, Buffer.alloc(0))
const PING = frame(0x6, 0, 0, Buffer.alloc(8))
const DATA = frame(0x0, 0x1, 1, Buffer.from([0, 0, 0, 0, 0]))

/** A request's header block, encoded as a fresh client would (its first block on the connection). */
function block(authority: string): Buffer {
  const encoder = hpack.compressor.create({ table: { maxSize: 4096 } })
  encoder.write(callFields('/etcdserverpb.KV/Range', authority))
  return encoder.read() as Buffer
}

/** The block as one HEADERS frame (END_HEADERS), or split into HEADERS and CONTINUATIONs of `size` bytes. */
function headers(authority: string, size = Infinity): Buffer {
  const whole = block(authority)
  if (size >= whole.length) return frame(0x1, 0x4, 1, whole)
  const parts: Buffer[] = []
  for (let at = 0; at < whole.length; at += size) {
    const last = at + size >= whole.length
    parts.push(frame(at === 0 ? 0x1 : 0x9, last ? 0x4 : 0, 1, whole.subarray(at, at + size)))
  }
  return Buffer.concat(parts)
}

/** Feeds `bytes` in pieces of `cut` bytes; after each piece, sends SETTINGS when asked if `answer`. */
function feed(start: ConnectionStart, bytes: Buffer, cut: number, answer: boolean): StartRoute {
  for (let at = 0; at < bytes.length; at += cut) {
    start.push(bytes.subarray(at, at + cut))
    if (answer && start.route === 'wait' && start.wantsSettings) start.settingsSent()
  }
  return start.route
}

test('a first request with a host:port authority goes natively, one with a URL is mended', () => {
  for (const [authority, route] of [['127.0.0.1:2379', 'native'], ['localhost', 'native'], ['http://127.0.0.1:2379', 'mend'], ['https://h:1/x', 'mend']] as const) {
    const bytes = Buffer.concat([PREFACE, SETTINGS, WINDOW_UPDATE, headers(authority), DATA])
    const start = new ConnectionStart()
    start.push(bytes)
    assert.equal(start.route, route, authority)
    assert.equal(start.wantsSettings, false)
    assert.deepEqual(start.bytes(), bytes)
  }
})

test('a block without :authority goes natively (the server takes Host or nothing)', () => {
  const encoder = hpack.compressor.create({ table: { maxSize: 4096 } })
  encoder.write([{ name: ':method', value: 'POST', neverIndex: false }, { name: ':path', value: '/x', neverIndex: false }])
  const start = new ConnectionStart()
  start.push(Buffer.concat([PREFACE, SETTINGS, frame(0x1, 0x4, 1, encoder.read() as Buffer)]))
  assert.equal(start.route, 'native')
})

test("a client that waits for the server's preface gets the port's SETTINGS, and its ACK is dropped", () => {
  const start = new ConnectionStart()
  assert.equal(start.wantsSettings, false, 'not before the preface is whole')
  start.push(PREFACE.subarray(0, 10))
  assert.equal(start.wantsSettings, false)
  start.push(Buffer.concat([PREFACE.subarray(10), SETTINGS, WINDOW_UPDATE]))
  assert.equal(start.route, 'wait')
  assert.equal(start.wantsSettings, true)
  start.settingsSent()
  assert.equal(start.wantsSettings, false, 'once only')
  assert.equal(start.ackDue, true)
  start.push(ACK)
  assert.equal(start.ackDue, false)
  assert.equal(start.route, 'wait', 'no request yet')
  start.push(Buffer.concat([headers('127.0.0.1:2379'), DATA]))
  assert.equal(start.route, 'native')
  assert.deepEqual(start.bytes(), Buffer.concat([PREFACE, SETTINGS, WINDOW_UPDATE, headers('127.0.0.1:2379'), DATA]))
})

test('a request that came before the ACK waits for it; a second ACK is the server\'s, kept', () => {
  const start = new ConnectionStart()
  start.push(Buffer.concat([PREFACE, SETTINGS]))
  start.settingsSent()
  start.push(Buffer.concat([headers('127.0.0.1:2379'), DATA]))
  assert.equal(start.route, 'wait')
  start.push(Buffer.concat([ACK, ACK]))
  assert.equal(start.route, 'native')
  assert.deepEqual(start.bytes(), Buffer.concat([PREFACE, SETTINGS, headers('127.0.0.1:2379'), DATA, ACK]))
})

test('anything unexpected before the first request is mended, once the ACK due is in', () => {
  const ping = new ConnectionStart()
  ping.push(Buffer.concat([PREFACE, SETTINGS, PING, headers('127.0.0.1:2379')]))
  assert.equal(ping.route, 'mend')

  const waiting = new ConnectionStart()
  waiting.push(Buffer.concat([PREFACE, SETTINGS]))
  waiting.settingsSent()
  waiting.push(PING)
  assert.equal(waiting.route, 'wait', 'the ACK must be dropped first')
  waiting.push(ACK)
  assert.equal(waiting.route, 'mend')
  assert.deepEqual(waiting.bytes(), Buffer.concat([PREFACE, SETTINGS, PING]))

  const unasked = new ConnectionStart()
  unasked.push(Buffer.concat([PREFACE, ACK]))
  assert.equal(unasked.route, 'mend', 'an ACK nobody asked for')

  const oversized = new ConnectionStart()
  oversized.push(Buffer.concat([PREFACE, frame(0x0, 0, 1, Buffer.alloc(16_385))]))
  assert.equal(oversized.route, 'mend')

  const malformed = new ConnectionStart()
  malformed.push(Buffer.concat([PREFACE, frame(0x1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff]))]))
  assert.equal(malformed.route, 'mend')

  const interrupted = new ConnectionStart()
  interrupted.push(Buffer.concat([PREFACE, headers('127.0.0.1:2379', 8).subarray(0, 17), PING]))
  assert.equal(interrupted.route, 'mend', 'a header block interrupted by another frame')

  const flood = new ConnectionStart()
  flood.push(Buffer.concat([PREFACE, SETTINGS]))
  flood.settingsSent()
  for (let i = 0; i < 20; i++) flood.push(frame(0x0, 0, 1, Buffer.alloc(16_384)))
  assert.equal(flood.route, 'refuse', 'no ACK within the bytes a start may take: handed on, it would reach the server')
})

test('any cut of the bytes, any split of the header block: the same route and the same bytes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('127.0.0.1:2379', 'http://127.0.0.1:2379', 'passthrough-host:1'),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 8, max: 120 }), // at most 8 CONTINUATIONs, as nghttp2 takes
      fc.boolean(),
      (authority, cut, split, waits) => {
        const start = new ConnectionStart()
        const opening = Buffer.concat([PREFACE, SETTINGS, WINDOW_UPDATE])
        const request = Buffer.concat([headers(authority, split), DATA])
        // No request in the opening: the port sends its SETTINGS. A client that waits for them sends
        // its request after the ACK; one that does not may send it first.
        assert.equal(feed(start, opening, cut, true), 'wait')
        assert.equal(start.ackDue, true)
        const rest = waits ? Buffer.concat([ACK, request]) : Buffer.concat([request, ACK])
        const route = feed(start, rest, cut, true)
        assert.equal(route, authority.startsWith('http://') ? 'mend' : 'native')
        assert.deepEqual(start.bytes(), Buffer.concat([opening, request]))
      },
    ),
  )
})
