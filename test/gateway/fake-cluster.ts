/**
 * A fake etcd cluster for gateway and client tests: N Hono apps on @hono/node-server (127.0.0.1,
 * free ports) that share one in-memory store, speak the etcd v3 JSON API closely enough for the
 * client (kv with prefix ranges and a simple txn, watch with history and live events, leases with
 * streamed keepalive, member list, status, hash, alarm, snapshot, authenticate against a user
 * table) and let a test steer them: who leads, which member is down (its server closed), which
 * path hangs, which writes are refused with `etcdserver: no leader`. Every request is counted per
 * member and path.
 *
 * Not a model of etcd: no raft, no per-member state; a member that is not the leader "forwards"
 * by applying to the shared store, as a real non-leader member would forward to its leader.
 *
 * @module
 */
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { serve, type HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { LEADER_HINT_HEADER } from '../../src/api/index.ts'

export interface StoredKv {
  readonly key: string
  readonly value: string
  readonly createRevision: number
  readonly modRevision: number
  readonly version: number
  readonly lease: string
}

interface StoredEvent {
  readonly type: 'PUT' | 'DELETE'
  readonly kv: StoredKv
  readonly prev: StoredKv | undefined
}

interface Watcher {
  readonly id: number
  readonly key: Buffer
  readonly rangeEnd: Buffer
  readonly prevKv: boolean
  readonly send: (message: object) => void
}

type Json = Record<string, any>

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const bytes = (s: unknown): Buffer => Buffer.from(typeof s === 'string' ? s : '', 'base64')

function inRange(key: Buffer, start: Buffer, end: Buffer): boolean {
  if (end.length === 0) return key.equals(start)
  if (end.length === 1 && end[0] === 0) return Buffer.compare(key, start) >= 0
  return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0
}

/** etcd's JSON for a kv: int64 as strings, zero values left out. */
function kvJson(kv: StoredKv): Json {
  const out: Json = { key: kv.key }
  if (kv.createRevision > 0) out['create_revision'] = String(kv.createRevision)
  out['mod_revision'] = String(kv.modRevision)
  if (kv.version > 0) out['version'] = String(kv.version)
  if (kv.value !== '') out['value'] = kv.value
  if (kv.lease !== '0') out['lease'] = kv.lease
  return out
}

function eventJson(e: StoredEvent, prevKv: boolean): Json {
  const out: Json =
    e.type === 'DELETE'
      ? { type: 'DELETE', kv: { key: e.kv.key, mod_revision: String(e.kv.modRevision) } }
      : { kv: kvJson(e.kv) }
  if (prevKv && e.prev !== undefined) out['prev_kv'] = kvJson(e.prev)
  return out
}

const STATUS: Record<number, number> = { 2: 500, 3: 400, 5: 404, 9: 412, 11: 400, 14: 503 }

function etcdError(code: number, message: string): Response {
  return new Response(JSON.stringify({ error: message, message, code }), {
    status: STATUS[code] ?? 500,
    headers: { 'content-type': 'application/json' },
  })
}

/** Splits concatenated JSON objects (with or without newlines between them) as they arrive. */
async function* jsonObjects(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Json> {
  if (body === null) return
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true })
    for (;;) {
      const end = objectEnd(text)
      if (end < 0) break
      const raw = text.slice(0, end).trim()
      text = text.slice(end)
      if (raw !== '') yield JSON.parse(raw) as Json
    }
  }
}

function objectEnd(text: string): number {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
    } else if (ch === '"') inString = true
    else if (ch === '{') depth++
    else if (ch === '}' && --depth === 0) return i + 1
  }
  return -1
}

/** The shared state: one store, one leader, one term. */
export class FakeCluster {
  readonly members: FakeMember[] = []
  leaderId = '0'
  term = 2
  revision = 1
  compactRevision = 0
  readonly kvs = new Map<string, StoredKv>()
  readonly history: StoredEvent[] = []
  readonly leases = new Map<string, number>()
  readonly watchers = new Set<Watcher>()
  /** Every open watch stream: the function that unregisters its watchers, and its connection. */
  readonly watchStreams = new Map<ReadableStreamDefaultController<Uint8Array>, { forget: () => void; socket: Socket }>()
  /** user name → password, for `auth/authenticate` (auth is on as soon as there is a user). */
  readonly users = new Map<string, string>()
  #nextLease = 7000

  static async start(size = 3): Promise<FakeCluster> {
    const cluster = new FakeCluster()
    for (let i = 0; i < size; i++) {
      const member = new FakeMember(cluster, String(1001 + i), `m${i + 1}`)
      await member.start()
      cluster.members.push(member)
    }
    cluster.leaderId = cluster.members[0]!.id
    return cluster
  }

  get leader(): FakeMember {
    return this.members.find((m) => m.id === this.leaderId)!
  }

  get urls(): string[] {
    return this.members.map((m) => m.url)
  }

  /** Requests each member got on `path` (e.g. `/v3/kv/put`), in member order. */
  hits(path: string): number[] {
    return this.members.map((m) => m.hits.get(path) ?? 0)
  }

  resetHits(): void {
    for (const m of this.members) m.hits.clear()
  }

  /** Cuts every open watch stream mid-way, as a member crash would; the watchers are gone. */
  breakWatches(): void {
    for (const { forget, socket } of this.watchStreams.values()) {
      forget()
      socket.destroy()
    }
  }

  async close(): Promise<void> {
    this.breakWatches()
    await Promise.all(this.members.map((m) => m.stop()))
  }

  /** Applies one write transaction's changes at one new revision and tells the watchers. */
  commit(changes: readonly { key: string; value: string | undefined; lease?: string }[]): number {
    if (changes.length === 0) return this.revision
    const rev = ++this.revision
    const events: StoredEvent[] = []
    for (const ch of changes) {
      const prev = this.kvs.get(ch.key)
      if (ch.value === undefined) {
        if (prev === undefined) continue
        this.kvs.delete(ch.key)
        const kv = { key: ch.key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: '0' }
        events.push({ type: 'DELETE', kv, prev })
      } else {
        const kv: StoredKv = {
          key: ch.key,
          value: ch.value,
          createRevision: prev?.createRevision ?? rev,
          modRevision: rev,
          version: (prev?.version ?? 0) + 1,
          lease: ch.lease ?? '0',
        }
        this.kvs.set(ch.key, kv)
        events.push({ type: 'PUT', kv, prev })
      }
    }
    this.history.push(...events)
    for (const w of this.watchers) {
      const mine = events.filter((e) => inRange(bytes(e.kv.key), w.key, w.rangeEnd))
      if (mine.length > 0) w.send(watchMessage(this, w.id, rev, { events: mine.map((e) => eventJson(e, w.prevKv)) }))
    }
    return rev
  }

  range(body: Json): StoredKv[] {
    const key = bytes(body['key'])
    const end = bytes(body['range_end'] ?? body['rangeEnd'])
    return [...this.kvs.values()]
      .filter((kv) => inRange(bytes(kv.key), key, end))
      .sort((a, b) => Buffer.compare(bytes(a.key), bytes(b.key)))
  }

  grantLease(ttl: number, id: string): string {
    const lease = id === '0' ? String(this.#nextLease++) : id
    this.leases.set(lease, Math.max(2, ttl))
    return lease
  }

  header(member: FakeMember, withRevision = true): Json {
    const header: Json = { cluster_id: '77', member_id: member.id, raft_term: String(this.term) }
    if (withRevision) header['revision'] = String(this.revision)
    return header
  }
}

function watchMessage(cluster: FakeCluster, id: number, rev: number, rest: Json): Json {
  const header = { cluster_id: '77', member_id: '0', revision: String(rev), raft_term: String(cluster.term) }
  return { result: { header, ...(id === 0 ? {} : { watch_id: String(id) }), ...rest } }
}

export class FakeMember {
  readonly cluster: FakeCluster
  readonly id: string
  readonly name: string
  readonly hits = new Map<string, number>()
  /** Paths whose requests get no answer until the member stops. */
  readonly hang = new Set<string>()
  /** Paths whose requests are read, then answered by dropping the connection. */
  readonly reset = new Set<string>()
  /** Writes still to refuse with 503 `etcdserver: no leader`. */
  refuseWrites = 0
  /** Answers as a learner: 503 `rpc not supported for learner` to every call but status. */
  learner = false
  url = ''
  #port = 0
  #server: Server | undefined
  #release: (() => void)[] = []

  constructor(cluster: FakeCluster, id: string, name: string) {
    this.cluster = cluster
    this.id = id
    this.name = name
  }

  get running(): boolean {
    return this.#server !== undefined
  }

  /** Listens (again, on the same port after a stop). */
  async start(): Promise<void> {
    const app = this.#app()
    await new Promise<void>((resolve) => {
      this.#server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: this.#port }, (info: AddressInfo) => {
        this.#port = info.port
        this.url = `http://127.0.0.1:${info.port}`
        resolve()
      }) as Server
    })
  }

  /** Closes the server and every connection: the member is gone (connection refused). */
  async stop(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    for (const release of this.#release.splice(0)) release()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  #app(): Hono {
    const app = new Hono()
    const cluster = this.cluster
    app.use('*', async (c, next) => {
      this.hits.set(c.req.path, (this.hits.get(c.req.path) ?? 0) + 1)
      if (this.hang.has(c.req.path)) await new Promise<void>((resolve) => this.#release.push(resolve))
      if (this.reset.has(c.req.path)) {
        await c.req.text()
        ;(c.env as HttpBindings).incoming.socket.destroy()
        return new Response(null)
      }
      if (this.learner && c.req.path !== '/v3/maintenance/status') return etcdError(14, 'etcdserver: rpc not supported for learner')
      await next()
      // As a member's unary answers (api/leader-hint.ts): a follower names the leader.
      if (this.id !== cluster.leaderId && c.req.path.startsWith('/v3/')) c.res.headers.set(LEADER_HINT_HEADER, cluster.leaderId)
    })
    app.get('/version', (c) => c.json({ etcdserver: '3.4.23', etcdcluster: '3.4.0', member: this.name }))
    app.get('/metrics', () => new Response(`fake_member{name="${this.name}"} 1\n`, { headers: { 'content-type': 'text/plain; version=0.0.4' } }))
    app.get('/debug/vars', (c) => c.json({ 'raft.status': { id: this.id } }))
    const write = (handler: (body: Json) => Response | Promise<Response>) => async (c: { req: { text(): Promise<string> } }) => {
      const body = JSON.parse((await c.req.text()) || '{}') as Json
      if (this.refuseWrites > 0) {
        this.refuseWrites--
        return etcdError(14, 'etcdserver: no leader')
      }
      return handler(body)
    }
    const read = (handler: (body: Json) => Response | Promise<Response>) => async (c: { req: { text(): Promise<string> } }) =>
      handler(JSON.parse((await c.req.text()) || '{}') as Json)
    const json = (value: Json): Response => Response.json(value)

    app.post('/v3/maintenance/status', read(() =>
      json({
        header: cluster.header(this),
        version: '3.4.23',
        dbSize: '20480',
        leader: cluster.leaderId,
        raftIndex: String(cluster.revision),
        raftTerm: String(cluster.term),
        raftAppliedIndex: String(cluster.revision),
      })))
    app.post('/v3/cluster/member/list', read(() =>
      json({
        header: cluster.header(this, false),
        members: cluster.members.map((m) => ({ ID: m.id, name: m.name, peerURLs: [`http://127.0.0.1:1${m.id}`], clientURLs: [m.url] })),
      })))
    app.post('/v3/kv/put', write((body) => {
      if (bytes(body['key']).length === 0) return etcdError(3, 'etcdserver: key is not provided')
      const lease = String(body['lease'] ?? '0')
      if (lease !== '0' && !cluster.leases.has(lease)) return etcdError(5, 'etcdserver: requested lease not found')
      const prev = cluster.kvs.get(body['key'])
      cluster.commit([{ key: body['key'], value: body['value'] ?? '', lease }])
      const out: Json = { header: cluster.header(this) }
      if (body['prev_kv'] === true && prev !== undefined) out['prev_kv'] = kvJson(prev)
      return json(out)
    }))
    app.post('/v3/kv/range', read((body) => {
      if (bytes(body['key']).length === 0) return etcdError(3, 'etcdserver: key is not provided')
      const all = cluster.range(body)
      const limit = Number(body['limit'] ?? 0)
      const kvs = limit > 0 ? all.slice(0, limit) : all
      const out: Json = { header: cluster.header(this) }
      const shown = body['keys_only'] === true ? kvs.map((kv) => ({ ...kv, value: '' })) : kvs
      if (body['count_only'] !== true && kvs.length > 0) out['kvs'] = shown.map(kvJson)
      if (kvs.length < all.length) out['more'] = true
      if (all.length > 0) out['count'] = String(all.length)
      return json(out)
    }))
    app.post('/v3/kv/deleterange', write((body) => {
      const gone = cluster.range(body)
      cluster.commit(gone.map((kv) => ({ key: kv.key, value: undefined })))
      const out: Json = { header: cluster.header(this) }
      if (gone.length > 0) out['deleted'] = String(gone.length)
      if (body['prev_kv'] === true && gone.length > 0) out['prev_kvs'] = gone.map(kvJson)
      return json(out)
    }))
    app.post('/v3/kv/txn', write((body) => {
      const holds = ((body['compare'] ?? []) as Json[]).every((cmp) => {
        const kv = cluster.kvs.get(cmp['key'])
        const target = cmp['target'] ?? 'VERSION'
        const [have, want] =
          target === 'VALUE' ? [kv?.value, cmp['value'] ?? ''] :
          target === 'MOD' ? [kv?.modRevision ?? 0, Number(cmp['mod_revision'] ?? 0)] :
          target === 'CREATE' ? [kv?.createRevision ?? 0, Number(cmp['create_revision'] ?? 0)] :
          [kv?.version ?? 0, Number(cmp['version'] ?? 0)]
        if (have === undefined) return false
        const result = cmp['result'] ?? 'EQUAL'
        if (result === 'EQUAL') return have === want
        if (result === 'NOT_EQUAL') return have !== want
        return result === 'GREATER' ? have > want : have < want
      })
      const ops = (holds ? body['success'] : body['failure']) ?? []
      const changes: { key: string; value: string | undefined }[] = []
      const responses = (ops as Json[]).map((op) => {
        if (op['request_put']) {
          changes.push({ key: op['request_put'].key, value: op['request_put'].value ?? '' })
          return { response_put: { header: {} } }
        }
        if (op['request_delete_range']) {
          const gone = cluster.range(op['request_delete_range'])
          for (const kv of gone) changes.push({ key: kv.key, value: undefined })
          return { response_delete_range: { header: {}, ...(gone.length > 0 ? { deleted: String(gone.length) } : {}) } }
        }
        const kvs = cluster.range(op['request_range'] ?? {})
        return { response_range: { header: {}, ...(kvs.length > 0 ? { kvs: kvs.map(kvJson), count: String(kvs.length) } : {}) } }
      })
      const rev = cluster.commit(changes)
      for (const r of responses) for (const inner of Object.values(r)) (inner as Json)['header'] = { revision: String(rev) }
      return json({ header: cluster.header(this), ...(holds ? { succeeded: true } : {}), ...(responses.length > 0 ? { responses } : {}) })
    }))
    app.post('/v3/kv/compaction', write((body) => {
      const rev = Number(body['revision'] ?? 0)
      if (rev > cluster.revision) return etcdError(11, 'etcdserver: mvcc: required revision is a future revision')
      if (rev <= cluster.compactRevision) return etcdError(11, 'etcdserver: mvcc: required revision has been compacted')
      cluster.compactRevision = rev
      return json({ header: cluster.header(this) })
    }))
    app.post('/v3/lease/grant', write((body) => {
      const id = cluster.grantLease(Number(body['TTL'] ?? 0), String(body['ID'] ?? '0'))
      return json({ header: cluster.header(this), ID: id, TTL: String(cluster.leases.get(id)) })
    }))
    app.post('/v3/lease/revoke', write((body) => {
      const id = String(body['ID'] ?? '0')
      if (!cluster.leases.delete(id)) return etcdError(5, 'etcdserver: requested lease not found')
      cluster.commit([...cluster.kvs.values()].filter((kv) => kv.lease === id).map((kv) => ({ key: kv.key, value: undefined })))
      return json({ header: cluster.header(this) })
    }))
    app.post('/v3/lease/timetolive', read((body) => {
      const id = String(body['ID'] ?? '0')
      const ttl = cluster.leases.get(id)
      if (ttl === undefined) return json({ header: cluster.header(this), ID: id, TTL: '-1' })
      const keys = [...cluster.kvs.values()].filter((kv) => kv.lease === id).map((kv) => kv.key)
      const listed = body['keys'] === true && keys.length > 0 ? { keys } : {}
      return json({ header: cluster.header(this), ID: id, TTL: String(ttl), grantedTTL: String(ttl), ...listed })
    }))
    app.post('/v3/lease/leases', read(() => {
      const leases = [...cluster.leases.keys()].map((ID) => ({ ID }))
      return json({ header: cluster.header(this), ...(leases.length > 0 ? { leases } : {}) })
    }))
    app.post('/v3/lease/keepalive', (c) => this.#keepalive(c.req.raw.body))
    app.post('/v3/watch', (c) => this.#watch(c.req.raw.body, (c.env as HttpBindings).incoming.socket))
    app.post('/v3/auth/authenticate', read((body) => {
      const name = String(body['name'] ?? '')
      if (cluster.users.size === 0) return etcdError(9, 'etcdserver: authentication is not enabled')
      if (cluster.users.get(name) !== body['password']) {
        return etcdError(3, 'etcdserver: authentication failed, invalid user ID or password')
      }
      return json({ header: cluster.header(this), token: `token-of-${name}` })
    }))
    app.post('/v3/maintenance/hash', read(() => json({ header: cluster.header(this), hash: 4115841888 })))
    app.post('/v3/maintenance/alarm', read(() => json({})))
    app.post('/v3/maintenance/defragment', read(() => json({})))
    app.post('/v3/maintenance/transfer-leadership', write((body) => {
      const target = String(body['targetID'] ?? '')
      if (!cluster.members.some((m) => m.id === target)) return etcdError(9, 'etcdserver: bad leader transferee')
      cluster.leaderId = target
      cluster.term++
      return json({})
    }))
    app.post('/v3/maintenance/snapshot', () => {
      const lines = [{ result: { remaining_bytes: '4', blob: b64('snap') } }, { result: { blob: b64('sum') } }]
      return new Response(lines.map((l) => JSON.stringify(l) + '\n').join(''), { headers: { 'content-type': 'application/json' } })
    })
    app.post('/v3/cluster/member/remove', write((body) => {
      const i = cluster.members.findIndex((m) => m.id === String(body['ID']))
      if (i < 0) return etcdError(5, 'etcdserver: member not found')
      return json({ header: cluster.header(this, false), members: [] })
    }))
    app.all('*', () => new Response('Not Found\n', { status: 404 }))
    return app
  }

  #keepalive(body: ReadableStream<Uint8Array> | null): Response {
    const cluster = this.cluster
    const encoder = new TextEncoder()
    const stream = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        for await (const req of jsonObjects(body)) {
          const id = String(req['ID'] ?? '0')
          const ttl = cluster.leases.get(id)
          const result = { header: cluster.header(this), ID: id, ...(ttl === undefined ? {} : { TTL: String(ttl) }) }
          controller.enqueue(encoder.encode(JSON.stringify({ result }) + '\n'))
        }
        controller.close()
      },
    })
    return new Response(stream, { headers: { 'content-type': 'application/json' } })
  }

  #watch(body: ReadableStream<Uint8Array> | null, socket: Socket): Response {
    const cluster = this.cluster
    const encoder = new TextEncoder()
    const mine = new Set<Watcher>()
    let nextId = 0
    let ctrl: ReadableStreamDefaultController<Uint8Array>
    const send = (message: object): void => {
      try {
        ctrl.enqueue(encoder.encode(JSON.stringify(message) + '\n'))
      } catch {}
    }
    const forget = (): void => {
      for (const w of mine) cluster.watchers.delete(w)
      cluster.watchStreams.delete(ctrl)
    }
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        ctrl = controller
        cluster.watchStreams.set(controller, { forget, socket })
        void (async () => {
          for await (const req of jsonObjects(body)) {
            const create = req['create_request']
            if (create !== undefined) {
              const id = create['watch_id'] === undefined ? nextId++ : Number(create['watch_id'])
              const w: Watcher = {
                id,
                key: bytes(create['key']),
                rangeEnd: bytes(create['range_end']),
                prevKv: create['prev_kv'] === true,
                send,
              }
              send(watchMessage(cluster, id, cluster.revision, { created: true }))
              const start = Number(create['start_revision'] ?? 0)
              if (start > 0 && start < cluster.compactRevision) {
                send({
                  result: {
                    header: { raft_term: String(cluster.term) },
                    ...(id === 0 ? {} : { watch_id: String(id) }),
                    canceled: true,
                    compact_revision: String(cluster.compactRevision),
                  },
                })
                continue
              }
              const past = start > 0 ? cluster.history.filter((e) => e.kv.modRevision >= start && inRange(bytes(e.kv.key), w.key, w.rangeEnd)) : []
              if (past.length > 0) send(watchMessage(cluster, id, cluster.revision, { events: past.map((e) => eventJson(e, w.prevKv)) }))
              mine.add(w)
              cluster.watchers.add(w)
            } else if (req['cancel_request'] !== undefined) {
              const id = Number(req['cancel_request']['watch_id'] ?? 0)
              const w = [...mine].find((x) => x.id === id)
              if (w !== undefined) {
                mine.delete(w)
                cluster.watchers.delete(w)
                send(watchMessage(cluster, id, cluster.revision, { canceled: true }))
              }
            } else if (req['progress_request'] !== undefined) {
              send({ result: { header: cluster.header(this), watch_id: '-1' } })
            }
          }
        })().catch(() => forget())
      },
      cancel: () => forget(),
    })
    return new Response(stream, { headers: { 'content-type': 'application/json' } })
  }
}

export { b64 }
