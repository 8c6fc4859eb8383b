/**
 * Reading a request body with a cap, so an oversized or endless body cannot exhaust memory: past
 * `maxBytes` the read stops and the request is refused with gRPC's "message larger than max"
 * error (429 / 8), as etcd's gateway refuses it.
 *
 * @module
 */
import { receiveLimitError } from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'

/** Base64 JSON of a request of `maxRequestBytes` is at most about 4/3 of it, plus field names. */
export function bodyCap(maxRequestBytes: number): number {
  return Math.ceil(((maxRequestBytes + 512 * 1024) * 4) / 3) + 64 * 1024
}

export async function readBody(request: Request, maxBytes: number, maxRequestBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw (
        receiveLimitError(size, maxRequestBytes) ??
        new EtcdError(GrpcCode.ResourceExhausted, `grpc: received message larger than max (${size} vs. ${maxBytes})`)
      )
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
