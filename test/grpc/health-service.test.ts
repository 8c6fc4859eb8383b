/**
 * gRPC's health service on the gRPC front (src/grpc/health-service.ts), as a real etcd 3.4
 * answers it: Check of the whole server is SERVING, of any other service NOT_FOUND "unknown
 * service"; Watch sends the status once and stays open. The app behind the front is a stub that
 * fails every call: health does not depend on it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import { createGrpcFront } from '../../src/grpc/grpc-front.ts'
import { sharedPort } from '../../src/grpc/grpc-listener.ts'

const raw = (b: Buffer): Buffer => b
/** HealthCheckRequest{service} and HealthCheckResponse{status} as protobuf bytes. */
const request = (service: string): Buffer => (service === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]))
const SERVING = '0801'
const SERVICE_UNKNOWN = '0803'

test("gRPC health: the server is SERVING, other services unknown; Watch sends the status and stays open", async (t) => {
  const shared = sharedPort(createServer(), () => createGrpcFront(async () => new Response('{"error":"down","code":14}', { status: 503 })))
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  t.after(() => client.close())

  const check = (service: string): Promise<string> =>
    new Promise((resolve) =>
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', raw, raw, request(service), (err, value) =>
        resolve(err !== null ? `${err.code} ${err.details}` : (value as Buffer).toString('hex')),
      ),
    )
  assert.equal(await check(''), SERVING)
  assert.equal(await check('etcdserverpb.KV'), `${grpc.status.NOT_FOUND} unknown service`)

  for (const [service, status] of [['', SERVING], ['foo', SERVICE_UNKNOWN]] as const) {
    const messages: string[] = []
    const stream = client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', raw, raw, request(service))
    stream.on('data', (m: Buffer) => messages.push(m.toString('hex')))
    let ended = false
    stream.on('error', () => (ended = true))
    stream.on('end', () => (ended = true))
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(messages, [status], `Watch of "${service}"`)
    assert.equal(ended, false, `Watch of "${service}" stays open`)
    stream.cancel()
  }
})
