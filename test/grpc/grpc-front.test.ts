/**
 * The gRPC front (src/grpc) at the edges, with grpc-js as a bare client and the protobuf codec of
 * src/api: a watch cancelled by its client ends the watchers it opened (through the gateway and on
 * a member); malformed protobuf and unknown methods get gRPC statuses; a connection that sends
 * HTTP/2's preface and then garbage is dropped while the port keeps serving both protocols; a
 * member's unary answers (which it gives straight from the decoded request) are its JSON answers.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import { b64, call, eventually, useCluster } from '../e2e/cluster-harness.ts'
import {
  decodeRequest, decodeResponse, encodeRequest, kvDeleteRange, kvRange, kvTxn, lockLock, maintenanceStatus, watch, type AnyEndpoint,
} from '../../src/api/index.ts'
import { decodeProto, encodeProto } from '../../src/api/proto-wire.ts'

describe('gRPC front', { timeout: 90_000 }, () => {
  const cluster = useCluster({ gateway: true })

  /** Watchers open on all members together (etcd_debugging_mvcc_watcher_total). */
  async function watchers(): Promise<number> {
    let n = 0
    for (const name of cluster.memberNames) {
      const text = await (await fetch(`${cluster.url(name)}/metrics`)).text()
      n += Number(/^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(text)?.[1] ?? NaN)
    }
    return n
  }

  test('a watch the client cancels ends its watchers, through the gateway and on a member', async () => {
    for (const base of [cluster.gatewayUrl, cluster.url('m2')]) {
      const before = await watchers()
      const client = new grpc.Client(new URL(base).host, grpc.credentials.createInsecure())
      try {
        const stream = client.makeBidiStreamRequest(
          '/etcdserverpb.Watch/Watch',
          (v: unknown) => Buffer.from(encodeProto(watch.request, v as never)),
          (b: Buffer) => decodeProto(watch.response, b),
        )
        stream.on('error', () => undefined) // the cancel below ends it with CANCELLED
        const created = new Promise((resolve) => stream.once('data', resolve))
        for (const key of ['g/a', 'g/b']) stream.write({ type: 'create', request: { key: new TextEncoder().encode(key), rangeEnd: new Uint8Array(0), startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, fragment: false } })
        const first = (await created) as { created: boolean }
        assert.equal(first.created, true)
        await eventually('both watchers are open', async () => assert.equal(await watchers(), before + 2))
        stream.cancel()
        await eventually(`the watchers end once the client cancels (${base})`, async () => assert.equal(await watchers(), before))
      } finally {
        client.close()
      }
    }
  })

  test('an empty WatchRequest on a Watch stream is ignored, as etcd ignores it; the requests after it are served', async () => {
    for (const base of [cluster.gatewayUrl, cluster.url('m2')]) {
      const client = new grpc.Client(new URL(base).host, grpc.credentials.createInsecure())
      try {
        const stream = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', (b: Buffer) => b, (b: Buffer) => decodeProto(watch.response, b))
        stream.on('error', () => undefined) // the cancel below ends it with CANCELLED
        const answers: Array<{ watchId: number; created: boolean }> = []
        stream.on('data', (m: { watchId: number; created: boolean }) => answers.push(m))
        const create = (key: string): Buffer => Buffer.from(encodeProto(watch.request, { type: 'create', request: { key: new TextEncoder().encode(key), rangeEnd: new Uint8Array(0), startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, fragment: false } } as never))
        stream.write(Buffer.alloc(0))
        stream.write(create('e/a'))
        stream.write(Buffer.alloc(0))
        stream.write(create('e/b'))
        await eventually(`both watches are created after the empty requests (${base})`, async () =>
          assert.deepEqual(answers.map((a) => [a.watchId, a.created]), [[0, true], [1, true]]))
        stream.cancel()
      } finally {
        client.close()
      }
    }
  })

  /** One unary call with raw bytes in and out: the answer's bytes, or its error. */
  function unary(client: grpc.Client, path: string, bytes: Buffer, options: grpc.CallOptions = {}): Promise<grpc.ServiceError | Buffer> {
    return new Promise((resolve) =>
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, options, (err, value) => resolve(err ?? (value as Buffer))),
    )
  }

  test("a lock waiting past the call's deadline is DEADLINE_EXCEEDED and leaves the line, through the gateway and on a follower", async () => {
    const g = cluster.gatewayUrl
    for (const id of [7401, 7402, 7403]) await call(g, '/v3/lease/grant', { TTL: 30, ID: id })
    const held = await call(g, '/v3/lock/lock', { name: b64('gdl'), lease: 7401 })
    const keys = async (): Promise<string> => (await call(g, '/v3/kv/range', { key: b64('gdl/'), range_end: b64('gdl0'), count_only: true })).count ?? '0'
    const leader = (await cluster.leader()).name
    const follower = cluster.url(cluster.memberNames.find((n) => n !== leader) as string)
    for (const [base, lease] of [[g, 7402], [follower, 7403]] as const) {
      const client = new grpc.Client(new URL(base).host, grpc.credentials.createInsecure())
      try {
        const request = Buffer.from(encodeProto(lockLock.request, { name: new TextEncoder().encode('gdl'), lease: BigInt(lease) }))
        const err = await unary(client, '/v3lockpb.Lock/Lock', request, { deadline: Date.now() + 500 })
        assert.equal((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED, base)
        await eventually('the waiter left the line', async () => assert.equal(await keys(), '1'))
      } finally {
        client.close()
      }
    }
    await call(g, '/v3/lock/unlock', { key: held.key })
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(await keys(), '0', 'a waiter that gave up got the lock')
  })

  test('malformed protobuf is INTERNAL, an unknown method UNIMPLEMENTED, a missing key etcd\'s error', async () => {
    const client = new grpc.Client(new URL(cluster.gatewayUrl).host, grpc.credentials.createInsecure())
    try {
      const truncated = await unary(client, '/etcdserverpb.KV/Range', Buffer.from('0a05616263', 'hex'))
      assert.equal((truncated as grpc.ServiceError).code, grpc.status.INTERNAL)
      assert.equal((truncated as grpc.ServiceError).details, 'grpc: error unmarshalling request: unexpected EOF', "etcd's words")
      // The same in a watch stream's message, in grpc-go's words for a stream.
      const watch = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', (b: Buffer) => b, (b: Buffer) => b)
      const ended = new Promise<grpc.ServiceError>((resolve) => watch.on('error', resolve))
      watch.on('data', () => undefined)
      watch.write(Buffer.from('00', 'hex'))
      const status = await ended
      assert.deepEqual([status.code, status.details], [grpc.status.INTERNAL, 'grpc: failed to unmarshal the received message proto: WatchRequest: illegal tag 0 (wire type 0)'])
      const unknown = await unary(client, '/etcdserverpb.KV/Nope', Buffer.alloc(0))
      assert.equal((unknown as grpc.ServiceError).code, grpc.status.UNIMPLEMENTED)
      const empty = await unary(client, '/etcdserverpb.KV/Put', Buffer.alloc(0))
      assert.equal((empty as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT)
      assert.equal((empty as grpc.ServiceError).details, 'etcdserver: key is not provided')
      assert.ok(Buffer.isBuffer(await unary(client, '/etcdserverpb.KV/Range', Buffer.from('0a0161', 'hex'))))
    } finally {
      client.close()
    }
  })

  test('a member answers unary calls over gRPC as over JSON: results and etcd errors, on the leader and a follower', async () => {
    await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('d/a'), value: b64('1') })
    await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('d/b'), value: b64('2') })
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const cases: Array<[AnyEndpoint, string, unknown]> = [
      [kvRange, 'etcdserverpb.KV/Range', { key: b64('d/'), range_end: b64('d0'), limit: 1 }],
      [kvRange, 'etcdserverpb.KV/Range', { key: b64('d/a'), serializable: true, keys_only: true }],
      [kvRange, 'etcdserverpb.KV/Range', { key: b64('d/a'), revision: 999999 }],
      [kvTxn, 'etcdserverpb.KV/Txn', { compare: [{ key: b64('d/a'), target: 'VALUE', value: b64('1') }], success: [{ request_range: { key: b64('d/b') } }] }],
      [kvDeleteRange, 'etcdserverpb.KV/DeleteRange', { key: b64('d/none') }],
      [maintenanceStatus, 'etcdserverpb.Maintenance/Status', {}],
    ]
    for (const base of [leader.url, cluster.url(follower)]) {
      const client = new grpc.Client(new URL(base).host, grpc.credentials.createInsecure())
      try {
        for (const [ep, path, body] of cases) {
          const request = decodeRequest(ep, JSON.stringify(body))
          const overGrpc = await new Promise<unknown>((resolve) =>
            client.makeUnaryRequest(
              `/${path}`,
              (v: unknown) => Buffer.from(encodeProto(ep.request, v as never)),
              (b: Buffer) => decodeProto(ep.response, b),
              request,
              (err, value) => resolve(err === null ? value : { code: err.code, details: err.details }),
            ),
          )
          const http = await fetch(base + ep.path, { method: 'POST', body: encodeRequest(ep, request) })
          const text = await http.text()
          const overJson = http.status === 200 ? decodeResponse(ep, text) : { code: JSON.parse(text).code, details: JSON.parse(text).message }
          // Bytes as arrays (protobuf gives Buffers, JSON Uint8Arrays), int64 as text.
          const plain = (v: unknown): unknown =>
            v instanceof Uint8Array ? [...v]
              : typeof v === 'bigint' ? String(v)
                : Array.isArray(v) ? v.map(plain)
                  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
                    : v
          const withoutStatusSizes = (v: unknown): unknown => {
            const o = plain(v) as Record<string, unknown>
            if (ep === maintenanceStatus) for (const k of ['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex']) delete o[k]
            return o
          }
          assert.deepEqual(withoutStatusSizes(overGrpc), withoutStatusSizes(overJson), `${base} ${path} ${JSON.stringify(body)}`)
        }
      } finally {
        client.close()
      }
    }
  })

  test("garbage after HTTP/2's preface is dropped; the port still serves JSON and gRPC", async () => {
    const { hostname, port } = new URL(cluster.gatewayUrl)
    for (const junk of ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + 'x'.repeat(64), 'PRI garbage', 'P']) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname, () => socket.end(junk))
        socket.on('data', () => undefined)
        socket.on('error', () => resolve())
        socket.on('close', () => resolve())
        setTimeout(() => {
          socket.destroy()
          resolve()
        }, 1000)
      })
    }
    const put = await call(cluster.gatewayUrl, '/v3/kv/put', { key: b64('g/after'), value: b64('ok') })
    assert.ok(Number(put.header.revision) > 0)
    const client = new grpc.Client(`${hostname}:${port}`, grpc.credentials.createInsecure())
    try {
      const range = await unary(client, '/etcdserverpb.KV/Range', Buffer.from(encodeProto(kvRange.request, { ...decodeProto(kvRange.request, new Uint8Array(0)), key: new TextEncoder().encode('g/after') })))
      assert.ok(Buffer.isBuffer(range), String(range))
      const kvs = decodeProto(kvRange.response, range).kvs
      assert.equal(new TextDecoder().decode(kvs[0]?.value), 'ok')
    } finally {
      client.close()
    }
  })
})
