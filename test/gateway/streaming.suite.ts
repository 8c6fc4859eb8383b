/**
 * Streaming calls through the gateway: watch events arrive one by one while the stream stays
 * open, a keepalive body is streamed to the member request by request, a refused member is
 * skipped with the request body replayed to the next one, and a caller that leaves closes the
 * member's stream.
 *
 * A suite run by gateway.suite.ts against every gateway runtime (Node, and the Worker under workerd).
 */
import { after, before, describe } from 'node:test'
import assert from 'node:assert/strict'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post, type RunningGateway, type StartGateway, type SuiteTest } from './serve-gateway.ts'
import { lines } from '../../src/client/lines.ts'

/**
 * A POST whose body the test writes piece by piece, and a reader of its answer's lines. fetch
 * sends nothing before the first chunk of a streamed body, so the answer is awaited lazily.
 */
function openStream(url: string): {
  send: (value: object) => void
  end: () => void
  next: () => Promise<any | undefined>
  abort: () => void
  /** The answer's headers (once it began). */
  headers: () => Promise<Headers>
} {
  let body!: ReadableStreamDefaultController<Uint8Array>
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (body = c) })
  const abort = new AbortController()
  const response = fetch(url, { method: 'POST', body: stream, duplex: 'half', signal: abort.signal } as RequestInit)
  // As clients read it: a last line without its newline (an error line) still counts.
  let answer: AsyncGenerator<string> | undefined
  const next = async (): Promise<any | undefined> => {
    answer ??= lines((await response).body!)
    const line = await answer.next()
    return line.done === true ? undefined : JSON.parse(line.value)
  }
  return {
    send: (value) => body.enqueue(new TextEncoder().encode(JSON.stringify(value))),
    end: () => body.close(),
    next,
    abort: () => abort.abort(),
    headers: async () => (await response).headers,
  }
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

export function streamingSuite(name: string, startGateway: StartGateway, test: SuiteTest, timeout: number): void {
  describe(`gateway streaming (${name})`, { timeout }, () => {
    let cluster: FakeCluster
    let gw: RunningGateway

    before(async () => {
      cluster = await FakeCluster.start(3)
      gw = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 2000 })
    })
    after(async () => {
      await gw.close()
      await cluster.close()
    })

    test('watch: events arrive one by one while the stream is open; leaving closes the member side', async () => {
      const watch = openStream(`${gw.url}/v3/watch`)
      watch.send({ create_request: { key: b64('w/'), range_end: b64('w0') } })
      const created = await watch.next()
      assert.equal(created.result.created, true)
      // Only the Worker marks it so, against its edge's gzip (proxy.ts); etcd sends no such header.
      assert.equal((await watch.headers()).get('content-encoding'), name === 'workers' ? 'identity' : null)
      for (const value of ['1', '2']) {
        assert.equal((await post(`${gw.url}/v3/kv/put`, { key: b64('w/a'), value: b64(value) })).status, 200)
        const message = await watch.next()
        assert.equal(message.result.events.length, 1)
        assert.equal(message.result.events[0].kv.value, b64(value))
      }
      assert.equal(cluster.watchers.size, 1, 'the stream is still open after two events')
      watch.abort()
      // workerd (under wrangler dev) notices a departed caller only when it next writes to it.
      await post(`${gw.url}/v3/kv/put`, { key: b64('w/a'), value: b64('3') })
      await until(() => cluster.watchers.size === 0)
    })

    test('keepalive: each request is streamed on its own and answered before the next is written', async () => {
      const { json } = await post(`${gw.url}/v3/lease/grant`, { TTL: 30 })
      cluster.resetHits()
      const keepalive = openStream(`${gw.url}/v3/lease/keepalive`)
      for (let i = 0; i < 3; i++) {
        keepalive.send({ ID: json.ID })
        const answer = await keepalive.next()
        assert.equal(answer.result.ID, json.ID)
        assert.equal(answer.result.TTL, '30')
      }
      keepalive.end()
      assert.equal(await keepalive.next(), undefined, 'the answer ends when the request body ends')
      assert.equal(cluster.hits('/v3/lease/keepalive').reduce((a, b) => a + b, 0), 1, 'one member carries the stream')
    })

    test('watch: a refused member is skipped and the request body is replayed to the next', async () => {
      const fresh = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 2000 })
      await cluster.members[0]!.stop()
      try {
        cluster.resetHits()
        const watch = openStream(`${fresh.url}/v3/watch`)
        watch.send({ create_request: { key: b64('r/'), range_end: b64('r0'), start_revision: 1 } })
        const created = await watch.next()
        assert.equal(created.result.created, true)
        await post(`${fresh.url}/v3/kv/put`, { key: b64('r/x'), value: b64('y') })
        let event = await watch.next()
        while (event.result.events?.some((e: any) => e.kv.key === b64('r/x')) !== true) event = await watch.next()
        assert.deepEqual(cluster.hits('/v3/watch'), [0, 1, 0])
        watch.abort()
      } finally {
        await fresh.close()
        await cluster.members[0]!.start()
      }
    })

    test("watch: a learner's refusal moves on to the next member at once, without a probe or a back-off", async () => {
      const fresh = await startGateway({ endpoints: cluster.urls, requestTimeoutMs: 2000, retryBackoffMs: 1000 })
      cluster.members[1]!.learner = true
      try {
        cluster.resetHits()
        // Watches are spread over the members in turn: one of the three lands on the learner first.
        for (let i = 0; i < 3; i++) {
          const started = Date.now()
          const watch = openStream(`${fresh.url}/v3/watch`)
          watch.send({ create_request: { key: b64('l/'), range_end: b64('l0') } })
          assert.equal((await watch.next()).result.created, true)
          assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
          watch.abort()
          // (workerd notices a departed caller only when it next writes to it.)
          await post(`${gw.url}/v3/kv/put`, { key: b64('l/x'), value: b64(String(i)) })
          await until(() => cluster.watchers.size === 0)
        }
        assert.equal(cluster.hits('/v3/watch')[1], 1, 'the learner was asked once')
        assert.deepEqual(cluster.hits('/v3/maintenance/status'), [0, 0, 0], 'no probe')
      } finally {
        cluster.members[1]!.learner = false
        await fresh.close()
      }
    })

    test('a member dying mid-watch: the answer ends with an etcd stream-error line, not a torn one', async () => {
      const watch = openStream(`${gw.url}/v3/watch`)
      watch.send({ create_request: { key: b64('x/'), range_end: b64('x0') } })
      assert.equal((await watch.next()).result.created, true)
      cluster.breakWatches()
      const last = await watch.next()
      assert.deepEqual(last, {
        error: { grpc_code: 14, http_code: 503, message: 'transport is closing', http_status: 'Service Unavailable' },
      })
      assert.equal(await watch.next(), undefined, 'then the answer ends cleanly')
    })

    test('snapshot: the member\'s stream is passed through line by line', async () => {
      const res = await fetch(`${gw.url}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' })
      assert.equal(res.status, 200)
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
      assert.equal(lines.length, 2)
      assert.equal(lines[0].result.blob, b64('snap'))
    })
  })
}
