/**
 * One member in this process, for auth tests: the production composition (openMember, the
 * MemberActor, createMemberApp) on an in-memory disk and mesh with the real clock, campaigned to
 * leadership at once. Requests go through `app.request`, so no port is opened.
 *
 * @module
 */
import { after, before } from 'node:test'
import assert from 'node:assert/strict'
import initSqlJs from 'sql.js'
import { Hono } from 'hono'
import { MemoryHub } from '../../src/mesh/index.ts'
import {
  AuthGate, createMemberApp, DEFAULT_AUTH_OPTIONS, openMember, parseMemberConfig, realClock, silentLogger,
  type ActorEvents, type AuthOptions, type Connection, type Member, type MemberContext, type StreamLimits,
} from '../../src/member/index.ts'
import type { MemberAppOptions, RequestHook } from '../../src/member/app.ts'
import type { GrpcCode } from '../../src/mvcc/index.ts'
import { MemoryDisk } from '../../src/storage/index.ts'

const SQL = await initSqlJs()

export interface SingleMember {
  readonly member: Member
  readonly context: MemberContext
  readonly app: Hono
  /** POSTs `body` (JSON) to `path`; `headers` adds e.g. Authorization. */
  call(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; text: string }>
  stop(): Promise<void>
}

export interface SingleMemberOptions {
  readonly auth?: Partial<AuthOptions>
  readonly streams?: StreamLimits
  /** The connection every request is seen to come from. */
  readonly connection?: Connection
  readonly onRequest?: RequestHook
  readonly onStreamEnd?: (path: string, code: GrpcCode) => void
  /** More member flags (e.g. `--snapshot-count`). */
  readonly flags?: readonly string[]
  /** The actor's event taps. */
  readonly events?: ActorEvents
  /** What `PUT /config/local/log` sets. */
  readonly setLogLevel?: MemberAppOptions['setLogLevel']
}

export async function startSingleMember(options: SingleMemberOptions = {}): Promise<SingleMember> {
  const config = parseMemberConfig(
    ['--name', 'solo', '--data-dir', '/solo', '--heartbeat-interval', '20', '--election-timeout', '200', ...(options.flags ?? [])],
    {},
  )
  const hub = new MemoryHub()
  const member = await openMember(config, {
    clock: realClock,
    rand: (n) => Math.floor(Math.random() * n),
    disk: new MemoryDisk(),
    sql: SQL,
    log: silentLogger,
    mesh: (identity) => hub.join({ id: identity.memberId, clusterToken: 'solo', peers: new Map() }),
    fetchMembers: async () => {
      throw new Error('a single member asks nobody')
    },
  }, {}, options.events)
  member.start()
  member.actor.campaign()
  while (!member.actor.isLeader) await new Promise((r) => setTimeout(r, 10))
  const context: MemberContext = {
    actor: member.actor,
    identity: member.identity,
    limits: { maxRequestBytes: config.maxRequestBytes, maxTxnOps: config.maxTxnOps },
    clusterToken: 'solo',
    versions: { server: '3.4.23', cluster: '3.4.0' },
    auth: new AuthGate({ ...DEFAULT_AUTH_OPTIONS, ...options.auth }, () => realClock.now()),
    ...(options.streams === undefined ? {} : { streams: options.streams }),
  }
  const app = createMemberApp({
    member: context,
    ...(options.connection === undefined ? {} : { connection: () => options.connection as Connection }),
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    ...(options.onStreamEnd === undefined ? {} : { onStreamEnd: options.onStreamEnd }),
    ...(options.setLogLevel === undefined ? {} : { setLogLevel: options.setLogLevel }),
  })
  return {
    member,
    context,
    app,
    async call(path, body, headers = {}) {
      const res = await app.request(path, { method: 'POST', body: JSON.stringify(body), headers })
      const text = await res.text()
      let json: unknown = null
      try {
        json = JSON.parse(text)
      } catch {
        json = null
      }
      return { status: res.status, json, text }
    },
    stop: () => member.stop(),
  }
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64')
}

/**
 * A single member for the tests of one describe block: started before them, stopped after them.
 * The member's timers do not keep the process alive; an interval does, while the tests wait on them.
 */
export function useSingleMember(options: SingleMemberOptions = {}): () => SingleMember {
  let s: SingleMember | null = null
  let keepAlive: ReturnType<typeof setInterval> | undefined
  before(async () => {
    keepAlive = setInterval(() => undefined, 1000)
    s = await startSingleMember(options)
  })
  after(async () => {
    clearInterval(keepAlive)
    await s?.stop()
  })
  return () => {
    if (s === null) throw new Error('the member has not started')
    return s
  }
}

/** Puts `count` keys, key `i` named `name(i)`, each with value "v", 100 to a txn. */
export async function putKeys(s: SingleMember, count: number, name: (i: number) => string): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    const success = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({ request_put: { key: b64(name(i + j)), value: b64('v') } }))
    const r = await s.call('/v3/kv/txn', { success })
    assert.equal(r.status, 200, r.text)
  }
}
