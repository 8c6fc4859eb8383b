/**
 * `POST /v3/maintenance/snapshot`: the member's state as etcd's backend, a bbolt database
 * (etcd-backend.ts, storage's bolt-writer.ts), in a stream of `{"result":{"blob":…,
 * "remaining_bytes":…}}` messages, then one last message whose blob is the SHA-256 of everything
 * before it, as etcd ends its snapshot stream. So `etcdctl snapshot save` writes a file etcd's
 * tools read and etcd restores from, and a restore can check it arrived whole.
 *
 * The database is built first, as of the request, while the member goes on (the history is read
 * a page at a time, yielding to the event loop between pages), then sent a message at a time as
 * the client takes it. A compaction or a leader's snapshot installed while it is built refuses
 * the call (Unavailable: try again).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import { encodeStreamResponse, JSON_HEADERS, maintenanceSnapshot } from '../api/index.ts'
import { EtcdError, GrpcCode } from '../mvcc/index.ts'
import { BoltBuilder } from '../storage/index.ts'
import { BackendChangedError, writeBackend, type BackendSource } from './etcd-backend.ts'
import { headerContext, type MemberContext } from './member-context.ts'

const CHUNK = 64 * 1024

/** The member's state as a bbolt database, as `snapshot` sends it. */
export async function backendImage(source: BackendSource): Promise<Uint8Array> {
  const builder = new BoltBuilder()
  const txid = Math.max(source.store.appliedIndex(), 1)
  await writeBackend(builder, source, () => setImmediate())
  return builder.finish(txid)
}

/** The snapshot stream; an EtcdError when the state changed under it while it was built. */
export async function handleSnapshot(m: MemberContext): Promise<Response | EtcdError> {
  let image: Uint8Array
  try {
    image = await backendImage(m.actor)
  } catch (err) {
    if (!(err instanceof BackendChangedError)) throw err
    return new EtcdError(GrpcCode.Unavailable, `etcdserver: snapshot interrupted: ${err.message}; try again`)
  }
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
