/**
 * `POST /v3/maintenance/snapshot`: the member's database as a stream of `{"result":{"blob":…,
 * "remaining_bytes":…}}` messages, then one last message whose blob is the SHA-256 of everything
 * before it (as etcd ends its snapshot stream), so a restore can check it arrived whole.
 *
 * The database as of the request is a copy-on-write snapshot (storage's DatabaseSnapshot), read
 * a message at a time as the client takes them: the member neither stops to copy a whole
 * database nor holds a second copy of it, only the pages written while the download runs (and
 * not those already sent). Writes go on meanwhile. If the member replaces its database (a
 * leader's snapshot installed) before the download ends, the stream fails, and the client sees
 * an incomplete snapshot.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { encodeStreamResponse, JSON_HEADERS, maintenanceSnapshot } from '../api/index.ts'
import { snapshotDatabase } from '../storage/index.ts'
import { headerContext, type MemberContext } from './member-context.ts'

const CHUNK = 64 * 1024

export function handleSnapshot(m: MemberContext): Response {
  const image = snapshotDatabase(m.actor.db)
  const digest = createHash('sha256')
  const ctx = headerContext(m)
  const encoder = new TextEncoder()
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (at >= image.length) {
        image.release()
        c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: 0, blob: digest.digest() }, ctx)))
        c.close()
        return
      }
      let blob: Uint8Array
      try {
        blob = image.read(at, Math.min(at + CHUNK, image.length))
      } catch (err) {
        image.release()
        throw err
      }
      at += blob.length
      image.discardBefore(at)
      digest.update(blob)
      c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: image.length - at, blob }, ctx)))
    },
    cancel: () => image.release(),
  })
  return new Response(body, { status: 200, headers: JSON_HEADERS })
}
