/**
 * Watch streams over raw HTTP (`POST /v3/watch`, read line by line), opened on a follower and on
 * the gateway: every event of a series of puts, deletes and txns (written through all
 * endpoints) arrives once, in revision order, with prev_kv when asked; start_revision replays
 * history; cancel and progress_request answer as etcd does.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { b64, call, LineStream, prefixEnd, unb64, useCluster } from './cluster-harness.ts'

/** An event as the tests compare them. */
interface Ev {
  readonly rev: number
  readonly type: 'PUT' | 'DELETE'
  readonly key: string
  readonly value: string | null
  readonly version: number | null
  readonly createRev: number | null
  readonly prev: string | null
}

function normalize(e: any): Ev {
  return {
    rev: Number(e.kv.mod_revision),
    type: e.type === 'DELETE' ? 'DELETE' : 'PUT',
    key: unb64(e.kv.key),
    value: e.type === 'DELETE' ? null : unb64(e.kv.value),
    version: e.type === 'DELETE' ? null : Number(e.kv.version),
    createRev: e.type === 'DELETE' ? null : Number(e.kv.create_revision),
    prev: e.prev_kv === undefined ? null : unb64(e.prev_kv.value),
  }
}

/** Reads messages until the events reach `lastRev`; returns the messages with events. */
async function eventsUpTo(stream: LineStream, lastRev: number): Promise<any[]> {
  const messages: any[] = []
  let reached = 0
  while (reached < lastRev) {
    const m = await stream.next(10_000)
    assert.notEqual(m, null, 'the watch stream ended')
    const r = m.result
    assert.ok(r !== undefined, `not a result: ${JSON.stringify(m)}`)
    assert.notEqual(r.canceled, true, `watch canceled: ${JSON.stringify(m)}`)
    if (r.events === undefined) continue
    messages.push(r)
    reached = Number(r.events[r.events.length - 1].kv.mod_revision)
  }
  return messages
}

async function openWatch(base: string, create: Record<string, unknown>): Promise<{ stream: LineStream; created: any }> {
  const stream = await LineStream.open(base, '/v3/watch', { create_request: create })
  assert.equal(stream.status, 200)
  const first = await stream.next()
  assert.equal(first.result.created, true, JSON.stringify(first))
  return { stream, created: first.result }
}

/**
 * Opens a watch on a raw socket and returns the HTTP chunks of its answer (chunked transfer
 * encoding undone by hand, so that chunk boundaries are seen) once `events` events arrived.
 */
async function rawWatchChunks(base: string, create: Record<string, unknown>, events: number, writes: () => Promise<void>): Promise<string[]> {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  const body = JSON.stringify({ create_request: create })
  socket.write(`POST /v3/watch HTTP/1.1\r\nHost: ${hostname}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  let raw = Buffer.alloc(0)
  const chunks: string[] = []
  let seen = 0
  let wrote: Promise<void> | null = null
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${seen} of ${events} events within 20 s through ${base}`)), 20_000)
      socket.on('error', reject)
      socket.on('data', (data: Buffer) => {
        raw = Buffer.concat([raw, data])
        let at = raw.indexOf('\r\n\r\n')
        if (at < 0) return
        // Parse whole chunks after the head; keep the rest for the next read.
        let rest = raw.subarray(at + 4)
        for (;;) {
          const eol = rest.indexOf('\r\n')
          if (eol < 0) break
          const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16)
          if (rest.length < eol + 2 + size + 2) break
          const chunk = rest.subarray(eol + 2, eol + 2 + size).toString('utf8')
          chunks.push(chunk)
          rest = rest.subarray(eol + 2 + size + 2)
          for (const line of chunk.split('\n')) if (line !== '') seen += (JSON.parse(line).result?.events ?? []).length
        }
        raw = Buffer.concat([raw.subarray(0, at + 4), rest])
        if (chunks.length > 0 && wrote === null) wrote = writes()
        if (seen >= events) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    await wrote
  } finally {
    socket.destroy()
  }
  return chunks
}

describe('watch', { timeout: 90_000 }, () => {
  const cluster = useCluster({ gateway: true })
  const prefix = 'wa/'
  const range = { key: b64(prefix), range_end: prefixEnd(prefix) }
  let expected: Ev[] = []
  let firstRev = 0

  test('a follower and the gateway deliver every event in order, once, with prev_kv', async (t) => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    const watchers = [
      { where: follower, ...(await openWatch(cluster.url(follower), { ...range, prev_kv: true })) },
      { where: 'gateway', ...(await openWatch(cluster.gatewayUrl, { ...range, prev_kv: true })) },
    ]
    t.after(() => watchers.forEach((w) => w.stream.close()))
    for (const w of watchers) assert.equal(w.created.watch_id, undefined, 'watch_id 0 is omitted')

    // A model of the keys, to know each event the series must produce.
    const model = new Map<string, { value: string; version: number; createRev: number }>()
    const urls = [...cluster.memberNames.map((n) => cluster.url(n)), cluster.gatewayUrl]
    const put = (rev: number, key: string, value: string): Ev => {
      const before = model.get(key)
      const now = { value, version: (before?.version ?? 0) + 1, createRev: before?.createRev ?? rev }
      model.set(key, now)
      const prev = before?.value ?? null
      return { rev, type: 'PUT', key, value, version: now.version, createRev: now.createRev, prev }
    }
    const del = (rev: number, key: string): Ev => {
      const before = model.get(key)
      model.delete(key)
      return { rev, type: 'DELETE', key, value: null, version: null, createRev: null, prev: before?.value ?? null }
    }
    const keys = ['wa/a', 'wa/b', 'wa/c', 'wa/d']
    for (let i = 0; i < 45; i++) {
      const url = urls[i % urls.length] as string
      const key = keys[(i * 7) % keys.length] as string
      const other = keys[(i * 7 + 1) % keys.length] as string
      if (i % 9 === 4 && model.has(key)) {
        const r = await call(url, '/v3/kv/deleterange', { key: b64(key) })
        expected.push(del(Number(r.header.revision), key))
      } else if (i % 5 === 3) {
        // One txn: two keys in one revision (and one event message).
        const r = await call(url, '/v3/kv/txn', {
          success: [
            { request_put: { key: b64(key), value: b64(`t${i}`) } },
            { request_put: { key: b64(other), value: b64(`t${i}'`) } },
          ],
        })
        const rev = Number(r.header.revision)
        expected.push(put(rev, key, `t${i}`), put(rev, other, `t${i}'`))
      } else {
        const r = await call(url, '/v3/kv/put', { key: b64(key), value: b64(`v${i}`) })
        expected.push(put(Number(r.header.revision), key, `v${i}`))
      }
      if (i === 0) firstRev = expected[0]?.rev as number
    }
    // A delete over the prefix: every remaining key in one revision.
    const wipe = await call(cluster.gatewayUrl, '/v3/kv/deleterange', range)
    const wipeRev = Number(wipe.header.revision)
    for (const key of [...model.keys()].sort()) expected.push(del(wipeRev, key))
    assert.equal(Number(wipe.deleted), expected.filter((e) => e.rev === wipeRev).length)
    const lastRev = wipeRev

    for (const w of watchers) {
      const messages = await eventsUpTo(w.stream, lastRev)
      const got = messages.flatMap((m) => m.events.map(normalize))
      assert.deepEqual(got, expected, `events seen through ${w.where}`)
      // Live events: one message per revision, its header revision = that revision.
      for (const m of messages) {
        const revs = new Set(m.events.map((e: any) => e.kv.mod_revision))
        assert.equal(revs.size, 1, `one revision per message through ${w.where}`)
        assert.equal(m.header.revision, [...revs][0])
      }
      await w.stream.expectQuiet(200)
    }
  })

  test('start_revision replays the history, then continues live', async (t) => {
    assert.ok(firstRev > 0, 'needs the series of the previous test')
    const series = [...expected]
    for (const base of [cluster.url('m1'), cluster.gatewayUrl]) {
      const { stream, created } = await openWatch(base, { ...range, prev_kv: true, start_revision: firstRev })
      t.after(() => stream.close())
      assert.ok(Number(created.header.revision) >= expected[expected.length - 1]!.rev)
      const lastRev = series[series.length - 1]!.rev
      const history = (await eventsUpTo(stream, lastRev)).flatMap((m) => m.events.map(normalize))
      assert.deepEqual(history, series, `history through ${base}`)
      // Then live: a new put arrives after the replay, with nothing repeated in between.
      const key = `wa/live/${base === cluster.gatewayUrl ? 'gateway' : 'member'}`
      const p = await call(cluster.url('m2'), '/v3/kv/put', { key: b64(key), value: b64('live') })
      const rev = Number(p.header.revision)
      const live = (await eventsUpTo(stream, rev)).flatMap((m) => m.events.map(normalize))
      const want: Ev = { rev, type: 'PUT', key, value: 'live', version: 1, createRev: rev, prev: null }
      assert.deepEqual(live, [want])
      series.push(...live)
      stream.close()
    }
  })

  test('a start_revision in the past on a single key replays only that key', async () => {
    const a1 = await call(cluster.url('m3'), '/v3/kv/put', { key: b64('wa/single'), value: b64('1') })
    await call(cluster.url('m3'), '/v3/kv/put', { key: b64('wa/other'), value: b64('x') })
    const a2 = await call(cluster.url('m3'), '/v3/kv/put', { key: b64('wa/single'), value: b64('2') })
    const create = { key: b64('wa/single'), start_revision: a1.header.revision }
    const { stream } = await openWatch(cluster.gatewayUrl, create)
    try {
      const got = (await eventsUpTo(stream, Number(a2.header.revision))).flatMap((m) => m.events.map(normalize))
      assert.deepEqual(got.map((e) => [e.rev, e.value, e.prev]), [
        [Number(a1.header.revision), '1', null],
        [Number(a2.header.revision), '2', null],
      ])
    } finally {
      stream.close()
    }
  })

  test('cancel_request on the open stream cancels the watcher; a second create gets watch_id 1', async () => {
    for (const base of [cluster.url('m2'), cluster.gatewayUrl]) {
      const { stream } = await openWatch(base, { key: b64('wa/c1') })
      try {
        stream.send({ create_request: { key: b64('wa/c2') } })
        const second = await stream.next()
        assert.equal(second.result.created, true)
        assert.equal(second.result.watch_id, '1')
        stream.send({ cancel_request: { watch_id: 0 } })
        const canceled = await stream.next()
        assert.equal(canceled.result.canceled, true, JSON.stringify(canceled))
        assert.equal(canceled.result.watch_id, undefined)
        // The canceled watcher is quiet; the other one still works.
        await call(cluster.url('m1'), '/v3/kv/put', { key: b64('wa/c1'), value: b64('x') })
        const p = await call(cluster.url('m1'), '/v3/kv/put', { key: b64('wa/c2'), value: b64('y') })
        const m = await stream.next()
        assert.equal(m.result.watch_id, '1')
        const seen = m.result.events.map(normalize).map((e: Ev) => [e.key, e.rev])
        assert.deepEqual(seen, [['wa/c2', Number(p.header.revision)]])
        // Cancelling an unknown ID sends nothing back; the stream stays open.
        stream.send({ cancel_request: { watch_id: 42 } })
        await stream.expectQuiet(300)
      } finally {
        stream.close()
      }
    }
  })

  test('fragment: a response over the limit comes in fragments (etcd: max-request-bytes + 512 KiB), others whole', async () => {
    const prefix = { key: b64('fr/'), range_end: b64('fr0'), prev_kv: true }
    for (const base of [cluster.url('m2'), cluster.gatewayUrl]) {
      const { stream: split } = await openWatch(base, { ...prefix, fragment: true })
      const { stream: whole } = await openWatch(base, prefix)
      try {
        const value = Buffer.alloc(1_000_000, 7).toString('base64')
        for (const k of ['fr/1', 'fr/2', 'fr/3']) {
          await call(cluster.url('m1'), '/v3/kv/put', { key: b64(k), value })
          assert.equal((await split.next()).result.events.length, 1)
          assert.equal((await whole.next()).result.events.length, 1)
        }
        // One revision deleting three keys, each event carrying a 1 MB prev_kv: ~3 MB.
        await call(cluster.url('m1'), '/v3/kv/deleterange', { key: b64('fr/'), range_end: b64('fr0') })
        const first = (await split.next()).result
        const second = (await split.next()).result
        assert.deepEqual([first.events.length, first.fragment, second.events.length, second.fragment], [2, true, 1, undefined])
        assert.equal(first.header.revision, second.header.revision)
        assert.equal((await whole.next()).result.events.length, 3)
      } finally {
        split.close()
        whole.close()
      }
    }
  })

  test('progress_request answers with the current revision and watch_id -1', async () => {
    for (const base of [cluster.url('m3'), cluster.gatewayUrl]) {
      const { stream } = await openWatch(base, { key: b64('wa/progress') })
      try {
        const p = await call(cluster.url('m1'), '/v3/kv/put', { key: b64('wa/elsewhere'), value: b64('z') })
        // The member behind the stream may apply the put a moment later: ask until it has.
        let progress: any
        for (let i = 0; i < 50; i++) {
          stream.send({ progress_request: {} })
          progress = (await stream.next()).result
          assert.equal(progress.watch_id, '-1', JSON.stringify(progress))
          assert.equal(progress.events, undefined)
          if (Number(progress.header.revision) >= Number(p.header.revision)) break
          await new Promise((r) => setTimeout(r, 20))
        }
        assert.equal(progress.header.revision, p.header.revision)
      } finally {
        stream.close()
      }
    }
  })

  test('every message is one HTTP chunk, through the gateway as from a member (etcd3gw parses chunk by chunk)', async () => {
    // Puts sent together: their messages are ready at nearly the same moment, and a member's
    // bytes reach the gateway in reads that hold several of them.
    const puts = 40
    for (const base of [cluster.gatewayUrl, cluster.url('m2')]) {
      const prefix = `wa/chunks/${base === cluster.gatewayUrl ? 'g' : 'm'}/`
      const create = { key: b64(prefix), range_end: prefixEnd(prefix) }
      const writes = async (): Promise<void> => {
        await Promise.all(Array.from({ length: puts }, (_, i) => call(cluster.gatewayUrl, '/v3/kv/put', { key: b64(`${prefix}${i}`), value: b64('x') })))
      }
      const chunks = await rawWatchChunks(base, create, puts, writes)
      for (const chunk of chunks) {
        assert.match(chunk, /^\{[^\n]*\}\n$/, `one message per chunk through ${base}`)
        assert.doesNotThrow(() => JSON.parse(chunk), `chunk through ${base}: ${chunk.slice(0, 300)}`)
      }
      assert.ok(chunks.length >= puts + 1, `${chunks.length} chunks for ${puts} events and the created answer`)
    }
  })

  test('filters drop event types; the watch of a bad request is a 500 error', async () => {
    const { stream } = await openWatch(cluster.url('m1'), { key: b64('wa/f'), filters: ['NOPUT'] })
    try {
      await call(cluster.url('m1'), '/v3/kv/put', { key: b64('wa/f'), value: b64('1') })
      const d = await call(cluster.url('m1'), '/v3/kv/deleterange', { key: b64('wa/f') })
      const m = await stream.next()
      const seen = m.result.events.map(normalize).map((e: Ev) => [e.type, e.rev])
      assert.deepEqual(seen, [['DELETE', Number(d.header.revision)]])
    } finally {
      stream.close()
    }
    for (const base of [cluster.url('m2'), cluster.gatewayUrl]) {
      const bad = await LineStream.open(base, '/v3/watch', { create_request: { key: '!!' } })
      assert.equal(bad.status, 500)
      assert.deepEqual(await bad.next(), {
        error: 'illegal base64 data at input byte 0',
        message: 'illegal base64 data at input byte 0',
        code: 2,
      })
      assert.equal(await bad.next(), null, 'the stream ends after the error')
      bad.close()
    }
    cluster.assertAlive()
  })
})
