/**
 * The gRPC load generator: h2load (nghttp2's HTTP/2 benchmark, Debian's nghttp2-client) sending
 * etcd's unary gRPC calls, as etcd's own clients (etcdctl, clientv3, python-etcd3, jetcd) reach a
 * server. Every request of a run carries the same message (h2load posts one body), so the put load
 * writes one key (a fresh one per run) over and over; each put is still a new revision.
 *
 * `concurrency` calls are in flight at once, over min(concurrency, 4) connections, as a gRPC
 * client multiplexes its calls over few connections. h2load's per-request log gives the latency
 * percentiles. It counts HTTP statuses only: a gRPC error travels in an HTTP 200's trailers, so
 * the put load's answer is checked against the revisions it made (see countedErrors).
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutRequestSchema, RangeRequestSchema } from '../../src/api/kv-schemas.ts'
import { encodeProto } from '../../src/api/proto-wire.ts'
import { runGenerator, type LoadRun } from './generator.ts'
import { GET_KEY_B64, VALUE_BYTES } from './wrk.ts'

export const GRPC_LOAD_NAMES = ['grpc-put', 'grpc-get-linearizable', 'grpc-get-serializable'] as const
export type GrpcLoadName = (typeof GRPC_LOAD_NAMES)[number]

/** The gRPC method and request message of one load; `key` is the put load's key. */
function call(load: GrpcLoadName, key: Uint8Array): { path: string; message: Uint8Array } {
  const getKey = Buffer.from(GET_KEY_B64, 'base64')
  switch (load) {
    case 'grpc-put':
      return { path: '/etcdserverpb.KV/Put', message: encodeProto(PutRequestSchema, { key, value: Buffer.alloc(VALUE_BYTES, 'v') } as never) }
    case 'grpc-get-linearizable':
      return { path: '/etcdserverpb.KV/Range', message: encodeProto(RangeRequestSchema, { key: getKey } as never) }
    case 'grpc-get-serializable':
      return { path: '/etcdserverpb.KV/Range', message: encodeProto(RangeRequestSchema, { key: getKey, serializable: true } as never) }
  }
}

/** A gRPC message as it goes on the wire: uncompressed flag, 4-byte length, the message. */
function framed(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

/** The latency (ms) at percentile `p` of ascending `sorted` µs. */
function percentileMs(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number) / 1000
}

/** Starts h2load running `load` against `baseUrl` (http://host:port) for `durationS`; `key`: the put load's key. */
export function startH2load(baseUrl: string, load: GrpcLoadName, key: Uint8Array, concurrency: number, durationS: number): LoadRun {
  const dir = mkdtempSync(join(tmpdir(), 'bench-h2load-'))
  const body = join(dir, 'body')
  const logFile = join(dir, 'log')
  const { path, message } = call(load, key)
  writeFileSync(body, framed(message))
  const connections = Math.min(concurrency, 4)
  const streams = Math.ceil(concurrency / connections)
  const args = ['-t', '1', '-c', String(connections), '-m', String(streams), '-D', String(durationS), '-d', body, '--log-file', logFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', `${baseUrl}${path}`]
  return runGenerator('h2load', args, (out, code) => {
    // Log lines: start time (µs since the run began), HTTP status, duration (µs).
    let log = ''
    try {
      log = readFileSync(logFile, 'utf8')
    } catch {}
    rmSync(dir, { recursive: true, force: true })
    const finished = /finished in ([\d.]+)(m?s)/.exec(out)
    const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)
    if (finished === null || counts === null) throw new Error(`h2load exited ${code} without results:\n${out}`)
    const durationS = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1)
    const statuses = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)
    const latencies = log
      .split('\n')
      .map((line) => Number(line.split('\t')[2]))
      .filter((us) => Number.isFinite(us) && us > 0)
      .sort((a, b) => a - b)
    const done = Number(counts[2])
    return {
      requests: done,
      durationS,
      rps: done / durationS,
      p50Ms: percentileMs(latencies, 50),
      p90Ms: percentileMs(latencies, 90),
      p99Ms: percentileMs(latencies, 99),
      maxMs: percentileMs(latencies, 100),
      non2xx: statuses === null ? 0 : Number(statuses[3]) + Number(statuses[4]),
      socketErrors: Number(counts[5]) + Number(counts[6]),
    }
  })
}
