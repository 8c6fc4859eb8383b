/**
 * A follower whose Ready takes long to persist (a slow fsync here; installing a large snapshot in
 * production) still answers its leader's heartbeats meanwhile, once the Ready has taken a quarter
 * of an election timeout, so the leader keeps its quorum.
 * The follower is the production composition (openMember) on a disk whose fsync the test holds;
 * the leader is played by the test through a mesh that records what the follower sends.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import initSqlJs from 'sql.js'
import { memberIdFor, openMember, parseMemberConfig, realClock, silentLogger, type Member } from '../../src/member/index.ts'
import type { Mesh, MeshStats } from '../../src/mesh/index.ts'
import type { Message, MessageType } from '../../src/raft/types.ts'
import { GatedDisk } from '../storage/gated-disk.ts'

const SQL = await initSqlJs()
const TOKEN = 'hb'
const URLS = { a: 'http://a:2380', b: 'http://b:2380', c: 'http://c:2380' }

/** The follower's whole network: what it sends is recorded, what the test injects is delivered. */
class RecordingMesh implements Mesh {
  readonly sent: Message[] = []
  #receive: (messages: Message[]) => void = () => undefined
  send(messages: readonly Message[]): void {
    this.sent.push(...messages)
  }
  onReceive(handler: (messages: Message[]) => void): void {
    this.#receive = handler
  }
  onUnreachable(): void {}
  onSnapshotStatus(): void {}
  setPeers(): void {}
  stats(): MeshStats {
    return { peers: new Map(), framesRejected: 0, connectionsRefused: 0 }
  }
  async close(): Promise<void> {}
  deliver(m: Message): void {
    this.#receive([m])
  }
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('a follower answers heartbeats in its durable term while a Ready waits long for its fsync', async () => {
  const config = parseMemberConfig(
    [
      '--name', 'a', '--data-dir', '/a', '--initial-cluster-token', TOKEN,
      '--initial-cluster', Object.entries(URLS).map(([n, u]) => `${n}=${u}`).join(','),
      '--initial-advertise-peer-urls', URLS.a,
      '--heartbeat-interval', '100', '--election-timeout', '1000',
    ],
    {},
  )
  const disk = new GatedDisk()
  const mesh = new RecordingMesh()
  const member: Member = await openMember(config, {
    clock: realClock,
    rand: (n) => Math.floor(Math.random() * n),
    disk,
    sql: SQL,
    log: silentLogger,
    mesh: () => mesh,
    fetchMembers: async () => {
      throw new Error('a founding member asks nobody')
    },
  })
  member.start()
  const self = member.identity.memberId
  const leader = memberIdFor([URLS.b], TOKEN)
  const message = (type: MessageType, over: Partial<Message>): Message => ({
    type, from: leader, to: self, term: 2, logTerm: 0, index: 0, commit: 1, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0), ...over,
  })
  const answers = (ctx: string): Message[] =>
    mesh.sent.filter((m) => m.type === 'MsgHeartbeatResp' && new TextDecoder().decode(m.context) === ctx)
  let fsync: ReturnType<GatedDisk['holdCall']> | null = null
  try {
    // Term 2 becomes durable with the answer to the leader's first heartbeat.
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('first') }))
    await until('the first answer', () => answers('first').length === 1)

    // An entry to persist, whose fsync is held: the Ready stays out.
    fsync = disk.holdCall('fsync')
    mesh.deliver(message('MsgApp', { logTerm: 1, index: 1, entries: [{ term: 2, index: 2, type: 'normal', data: new Uint8Array(0) }] }))
    await fsync.reached
    const held = Date.now()
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('soon') }))
    await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(answers('soon'), [], 'a Ready that has not yet taken long keeps its answers')
    await new Promise((r) => setTimeout(r, Math.max(0, held + 300 - Date.now())))
    mesh.deliver(message('MsgHeartbeat', { context: new TextEncoder().encode('late') }))
    await until('the answers during the fsync', () => answers('late').length === 1 && answers('soon').length === 1)
    assert.equal(mesh.sent.filter((m) => m.type === 'MsgAppResp').length, 0, 'the append is not acknowledged before its fsync')

    fsync.release()
    await until('the append acknowledged', () => mesh.sent.some((m) => m.type === 'MsgAppResp' && m.index === 2))
    assert.deepEqual([answers('soon').length, answers('late').length], [1, 1], 'answered once')
  } finally {
    fsync?.release()
    await member.stop()
  }
})
