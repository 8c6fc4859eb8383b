/**
 * One port for HTTP/1.1 and gRPC (src/grpc/grpc-listener.ts), with a stub app behind the gRPC
 * front: the app learns each gRPC caller's address and certificate, whether its connection went
 * to Node's HTTP/2 server natively or through the mending stream; HTTP/1.1 keeps node:http's
 * header timeout, and both protocols are served, over TLS too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { connect, Socket, type AddressInfo } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import { Duplex } from 'node:stream'
import { connect as connectTls, type TLSSocket } from 'node:tls'
import * as grpc from '@grpc/grpc-js'
import hpack from 'hpack.js'
import { createGrpcFront } from '../../src/grpc/grpc-front.ts'
import { sharedPort } from '../../src/grpc/grpc-listener.ts'
import { probeIdleKeepAlive } from '../keep-alive-probe.ts'
import { issue, makeCa, tempDir } from '../tls/certs.ts'
import { callFields, frame, PREFACE } from './h2-bytes.ts'

test("gRPC callers' addresses reach the app; HTTP/1.1 is served with its header timeout", async (t) => {
  const addresses: Array<string | undefined> = []
  let throughStream = 0
  const http = createServer({ connectionsCheckingInterval: 100 }, (_req, res) => res.end('plain'))
  const shared = sharedPort(http, () =>
    createGrpcFront(async (_request, client) => {
      addresses.push(client?.remoteAddress)
      // The mending stream's calls get the connection's socket; native ones what grpc-js tells.
      if (client instanceof Socket) throughStream++
      return new Response('{"header":{}}', { status: 200 })
    }),
  )
  http.headersTimeout = 300
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo

  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  try {
    for (let i = 0; i < 2; i++) {
      const answer = await new Promise((resolve) =>
        client.makeUnaryRequest('/etcdserverpb.Maintenance/Status', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err, value) => resolve(err ?? value)),
      )
      assert.ok(Buffer.isBuffer(answer), String(answer))
    }
  } finally {
    client.close()
  }
  assert.deepEqual(addresses, ['127.0.0.1', '127.0.0.1'])
  assert.equal(throughStream, 0, 'a host:port authority is served natively')

  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'plain')
  // A request line that never ends is answered 408 once the header timeout passes.
  const started = Date.now()
  const first = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GE'))
    socket.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0] as string))
    socket.once('close', () => resolve('closed without an answer'))
    setTimeout(() => {
      socket.destroy()
      resolve('no answer within 5 s')
    }, 5000)
  })
  assert.equal(first, 'HTTP/1.1 408 Request Timeout')
  assert.ok(Date.now() - started < 5000)
})

test("a request whose :authority is a URL (etcd's Go client dialing http://host:port) is served", async (t) => {
  const seen: string[] = []
  const shared = sharedPort(createServer(), () =>
    createGrpcFront(async (request, client) => {
      assert.ok(client instanceof Socket, 'served through the mending stream')
      seen.push(request.headers.get('grpc-metadata-token') ?? '')
      return new Response('{"header":{}}', { status: 200 })
    }),
  )
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': `http://127.0.0.1:${port}`,
  })
  const call = (metadata: grpc.Metadata): Promise<unknown> =>
    new Promise((resolve) =>
      client.makeUnaryRequest('/etcdserverpb.Maintenance/Status', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), metadata, (err, value) => resolve(err ?? value)),
    )
  try {
    // Several calls on one connection: later ones refer to header fields the first ones indexed.
    // One carries a 20 KB token: a header block over more than one frame.
    for (const size of [1, 2, 20_000, 3]) {
      const metadata = new grpc.Metadata()
      metadata.set('token', 't'.repeat(size))
      const answer = await call(metadata)
      assert.ok(Buffer.isBuffer(answer), String(answer))
    }
  } finally {
    client.close()
  }
  assert.deepEqual(seen, [1, 2, 20_000, 3].map((size) => 't'.repeat(size)))
})

test('unary calls on one connection do not wait for delayed ACKs (Nagle off)', async (t) => {
  const shared = sharedPort(createServer(), () => createGrpcFront(async () => new Response('{"header":{}}', { status: 200 })))
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  const call = (): Promise<unknown> =>
    new Promise((resolve) =>
      client.makeUnaryRequest('/etcdserverpb.Maintenance/Status', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err, value) => resolve(err ?? value)),
    )
  try {
    assert.ok(Buffer.isBuffer(await call()))
    // With Nagle's algorithm on, each answer's last small write waited ~40 ms for the client's
    // delayed ACK: every call took 40 ms or more. They take a few ms each without it, on a busy
    // machine some more: most must stay well under the delayed ACK.
    const took: number[] = []
    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      assert.ok(Buffer.isBuffer(await call()))
      took.push(performance.now() - started)
    }
    const slow = took.filter((ms) => ms >= 35).length
    assert.ok(slow < 10, `${slow} of 20 calls took 35 ms or more: ${took.map((ms) => ms.toFixed(0)).join(', ')}`)
  } finally {
    client.close()
  }
})

test("HTTP/1.1 behind the shared port: an idle kept-alive connection stays open (etcd's has no idle timeout)", async (t) => {
  const http = createServer((_req, res) => res.end('plain'))
  const shared = sharedPort(http, () => createGrpcFront(async () => new Response('{}')))
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  // Node's default closed it after 6 s of idleness (keepAliveTimeout 5 s, and a second's grace).
  const probe = await probeIdleKeepAlive('127.0.0.1', port, '/')
  assert.equal(probe.closedWhileIdle, false, 'closed while idle')
  assert.equal(probe.oks, 2, probe.received)
})

/**
 * Unary calls from a hand-written HTTP/2 client that, as grpc-go does, sends nothing but its
 * preface and SETTINGS until the server's SETTINGS came (and it acknowledged them), then waits
 * `idleMs` more. The grpc-status of each call, in order; rejects on GOAWAY or a reset stream.
 */
function callsAfterServerPreface(port: number, authority: string, calls: number, idleMs = 0): Promise<string[]> {
  const encoder = hpack.compressor.create({ table: { maxSize: 4096 } })
  const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } })
  const statuses = new Map<number, string>()
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))])))
    let pending = Buffer.alloc(0)
    let started = false
    const send = (): void => {
      for (let i = 0; i < calls; i++) {
        encoder.write([...callFields('/etcdserverpb.Maintenance/Status', authority), { name: 'te', value: 'trailers', neverIndex: false }])
        const stream = 1 + 2 * i
        socket.write(Buffer.concat([frame(0x1, 0x4, stream, encoder.read() as Buffer), frame(0x0, 0x1, stream, Buffer.alloc(5))]))
      }
    }
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3)
        const [type, flags] = [pending[3] as number, pending[4] as number]
        const stream = pending.readUInt32BE(5) & 0x7fffffff
        const payload = pending.subarray(9, 9 + length)
        pending = pending.subarray(9 + length)
        if (type === 0x4 && (flags & 0x1) === 0) {
          socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0)))
          if (!started) {
            started = true
            setTimeout(send, idleMs)
          }
        } else if (type === 0x1) {
          decoder.write(payload)
          decoder.execute()
          for (let f = decoder.read(); f !== null; f = decoder.read()) if (f.name === 'grpc-status') statuses.set(stream, f.value)
          if (statuses.size === calls) {
            clearTimeout(limit)
            socket.destroy()
            resolve([...statuses.keys()].sort((a, b) => a - b).map((k) => statuses.get(k) as string))
          }
        } else if (type === 0x7 || type === 0x3) {
          clearTimeout(limit)
          socket.destroy()
          reject(new Error(`${type === 0x7 ? 'GOAWAY' : 'RST_STREAM'} code ${payload.readUInt32BE(type === 0x7 ? 4 : 0)}`))
        }
      }
    })
    socket.once('error', reject)
    const limit = setTimeout(() => {
      socket.destroy()
      reject(new Error(`answered ${statuses.size} of ${calls} calls within 5 s`))
    }, 5000 + idleMs)
  })
}

test("a client that waits for the server's preface (as grpc-go does) is served, whatever its authority and however long it waits", async (t) => {
  let served = 0
  const shared = sharedPort(createServer(), () =>
    createGrpcFront(async () => {
      served++
      return new Response('{"header":{}}', { status: 200 })
    }),
  )
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  // Served natively, mended, and (idle past the port's wait for a first request) mended.
  assert.deepEqual(await callsAfterServerPreface(port, `127.0.0.1:${port}`, 3), ['0', '0', '0'])
  assert.deepEqual(await callsAfterServerPreface(port, `http://127.0.0.1:${port}`, 3), ['0', '0', '0'])
  assert.deepEqual(await callsAfterServerPreface(port, `127.0.0.1:${port}`, 2, 1200), ['0', '0'])
  assert.equal(served, 8)
})

test('over TLS: callers\' certificates reach the app natively; a client that acknowledges SETTINGS before it got them cannot bring the port down', async (t) => {
  const dir = tempDir('grpc-tls-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const ca = makeCa(dir, 'ca')
  const server = issue(ca, 'server', 'server')
  const alice = issue(ca, 'alice', 'alice')
  const seen: Array<string | undefined> = []
  const shared = sharedPort(
    createServer(),
    () =>
      createGrpcFront(async (_request, client) => {
        seen.push(client instanceof Socket ? 'stream' : (client?.authorized === true ? String(client.getPeerCertificate?.().subject?.CN) : 'none'))
        return new Response('{"header":{}}', { status: 200 })
      }),
    { key: readFileSync(server.key), cert: readFileSync(server.cert), ca: readFileSync(ca.cert), requestCert: true, rejectUnauthorized: false },
  )
  await new Promise<void>((resolve) => shared.server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => shared.close(resolve)))
  const { port } = shared.server.address() as AddressInfo
  const credentials = grpc.credentials.createSsl(readFileSync(ca.cert), readFileSync(alice.key), readFileSync(alice.cert))
  const call = (): Promise<unknown> => {
    const client = new grpc.Client(`localhost:${port}`, credentials)
    return new Promise<unknown>((resolve) =>
      client.makeUnaryRequest('/etcdserverpb.Maintenance/Status', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err, value) => resolve(err ?? value)),
    ).finally(() => client.close())
  }
  assert.ok(Buffer.isBuffer(await call()))
  assert.deepEqual(seen, ['alice'])

  // The preface and SETTINGS in one TLS record, an ACK (of SETTINGS the port has not sent yet)
  // and a request in the next: the port writes its SETTINGS after the first record, and must not
  // hand the socket to the HTTP/2 session before that write is done (TLS takes one at a time).
  const encoder = hpack.compressor.create({ table: { maxSize: 4096 } })
  encoder.write(callFields('/etcdserverpb.Maintenance/Status', `localhost:${port}`, 'https'))
  const request = Buffer.concat([frame(0x4, 0x1, 0, Buffer.alloc(0)), frame(0x1, 0x4, 1, encoder.read() as Buffer), frame(0x0, 0x1, 1, Buffer.alloc(5))])
  for (let i = 0; i < 5; i++) {
    const { tls, hold, flush, heldRecords } = await heldTls(port, readFileSync(ca.cert))
    hold()
    tls.write(Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))]))
    tls.write(request)
    // Both records go out in one TCP write, so the port reads them at once.
    for (let n = 0; n < 100 && heldRecords() < 2; n++) await new Promise((r) => setImmediate(r))
    flush()
    await new Promise((r) => setTimeout(r, 100))
    tls.destroy()
  }
  assert.ok(Buffer.isBuffer(await call()), 'the port still serves')
})

/**
 * A TLS client over a TCP socket whose encrypted bytes can be held back (`hold`) and then sent in
 * one write (`flush`): records written meanwhile reach the server in one segment.
 */
function heldTls(port: number, ca: Buffer): Promise<{ tls: TLSSocket; hold(): void; flush(): void; heldRecords(): number }> {
  return new Promise((resolve, reject) => {
    const raw = connect(port, '127.0.0.1')
    let held: Buffer[] | null = null
    const carrier = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _encoding, done) => {
        if (held === null) raw.write(chunk, done)
        else {
          held.push(chunk)
          done()
        }
      },
    })
    raw.on('data', (chunk: Buffer) => carrier.push(chunk))
    raw.on('close', () => carrier.destroy())
    raw.on('error', () => undefined)
    const tls = connectTls({ socket: carrier, servername: 'localhost', ca, ALPNProtocols: ['h2'] }, () =>
      resolve({
        tls,
        hold: () => void (held = []),
        heldRecords: () => held?.length ?? 0,
        flush: () => {
          raw.write(Buffer.concat(held ?? []))
          held = null
        },
      }),
    )
    tls.on('error', () => undefined)
    tls.once('close', () => raw.destroy())
    raw.once('error', reject)
  })
}
