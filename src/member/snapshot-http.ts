/**
 * `POST /v3/maintenance/snapshot`: the member's state as etcd's backend, a bbolt database
 * (etcd-backend.ts, storage's bolt-writer.ts), in a stream of `{"result":{"blob":…,
 * "remaining_bytes":…}}` messages, then one last message whose blob is the SHA-256 of everything
 * before it, as etcd ends its snapshot stream. So `etcdctl snapshot save` writes the file etcd's
 * would be, `etcdctl snapshot status` and `restore` read it, and a restore can check it arrived
 * whole.
 *
 * The database is built at once from the state as of the request (a consistent copy: nothing is
 * applied meanwhile), then sent a message at a time as the client takes it.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { encodeStreamResponse, JSON_HEADERS, maintenanceSnapshot } from '../api/index.ts'
import { writeBolt } from '../storage/index.ts'
import { backendBuckets } from './etcd-backend.ts'
import { headerContext, type MemberContext } from './member-context.ts'

const CHUNK = 64 * 1024

/** The member's state as a bbolt database, as `snapshot` sends it. */
export function backendImage(m: MemberContext): Uint8Array {
  const { actor } = m
  const buckets = backendBuckets({
    store: actor.store,
    auth: actor.auth,
    members: actor.members(),
    removedIds: actor.removedIds(),
  })
  return writeBolt(buckets, Math.max(actor.store.appliedIndex(), 1))
}

export function handleSnapshot(m: MemberContext): Response {
  const image = backendImage(m)
  const digest = createHash('sha256')
  const ctx = headerContext(m)
  const encoder = new TextEncoder()
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (at >= image.length) {
        c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: 0, blob: digest.digest() }, ctx)))
        c.close()
        return
      }
      const blob = image.subarray(at, Math.min(at + CHUNK, image.length))
      at += blob.length
      digest.update(blob)
      c.enqueue(encoder.encode(encodeStreamResponse(maintenanceSnapshot, { remainingBytes: image.length - at, blob }, ctx)))
    },
  })
  return new Response(body, { status: 200, headers: JSON_HEADERS })
}
