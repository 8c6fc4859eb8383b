/** Hand-made HTTP/2 bytes for the gRPC port's tests: the client preface, frames, a call's header fields. */
import type { HeaderField } from 'hpack.js'

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/** A frame: its 9-byte header (length, type, flags, stream), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(streamId, 5)
  return Buffer.concat([header, payload])
}

/** The header fields of a gRPC call to `path` at `authority`, as a client sends them (for an HPACK encoder). */
export function callFields(path: string, authority: string, scheme = 'http'): HeaderField[] {
  return [
    { name: ':method', value: 'POST', neverIndex: false },
    { name: ':scheme', value: scheme, neverIndex: false },
    { name: ':path', value: path, neverIndex: false },
    { name: ':authority', value: authority, neverIndex: false },
    { name: 'content-type', value: 'application/grpc', neverIndex: false },
  ]
}
