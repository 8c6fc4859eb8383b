/**
 * `POST /v3/maintenance/snapshot`: the member's database as a stream of `{"result":{"blob":…,
 * "remaining_bytes":…}}` messages, then one last message whose blob is the SHA-256 of everything
 * before it (as etcd ends its snapshot stream), so a restore can check it arrived whole.
 *
 * @module
 */
import { encodeStreamResponse, JSON_HEADERS, maintenanceSnapshot } from '../api/index.ts'
import { databaseImage } from '../storage/index.ts'
import { headerContext, type MemberContext } from './member-context.ts'

const CHUNK = 64 * 1024

export async function handleSnapshot(m: MemberContext): Promise<Response> {
  const image = databaseImage(m.actor.db)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', image as Uint8Array<ArrayBuffer>))
  const ctx = headerContext(m)
  const encoder = new TextEncoder()
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (at >= image.length) {
        c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: 0, blob: digest }, ctx)))
        c.close()
        return
      }
      const blob = image.subarray(at, at + CHUNK)
      at += blob.length
      const remainingBytes = image.length - at
      c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes, blob }, ctx)))
    },
  })
  return new Response(body, { status: 200, headers: JSON_HEADERS })
}
