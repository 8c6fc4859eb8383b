/**
 * etcd's watch fragmentation (`fragment: true` on a create request): a response whose protobuf
 * size reaches the limit is sent as several, each with as many of its events as fit (at least
 * one), all but the last marked `fragment`. The limit is etcd's: --max-request-bytes plus its
 * allowance for gRPC framing (size-limits.ts GRPC_OVERHEAD_BYTES). A response of fewer than two
 * events is never split.
 *
 * @module
 */
import { protoSize } from './proto-size.ts'
import { WatchResponseSchema, type WatchResponse } from './watch.ts'

/** `r` as the responses etcd sends for it when the watcher asked for fragments (see the module's comment). */
export function fragments(r: WatchResponse, limit: number): WatchResponse[] {
  if (r.events.length < 2 || protoSize(WatchResponseSchema, r) < limit) return [r]
  // Sizes add up field by field: an empty fragment's size, then each event's own share.
  const base = protoSize(WatchResponseSchema, { ...r, events: [], fragment: true })
  const share = r.events.map((e) => protoSize(WatchResponseSchema, { ...r, events: [e], fragment: true }) - base)
  const out: WatchResponse[] = []
  let from = 0
  while (from < r.events.length) {
    let to = from + 1
    let size = base + (share[from] as number)
    while (to < r.events.length && size + (share[to] as number) < limit) size += share[to++] as number
    out.push({ ...r, events: r.events.slice(from, to), fragment: to < r.events.length })
    from = to
  }
  return out
}
