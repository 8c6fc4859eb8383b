/**
 * One member (`a` of a, b, c) in the production composition (openMember), on a disk whose calls
 * the test can hold, with its peers played by the test through a mesh that records what it sends.
 */
import initSqlJs from 'sql.js'
import { memberIdFor, openMember, parseMemberConfig, realClock, silentLogger, type Member } from '../../src/member/index.ts'
import type { Mesh, MeshStats } from '../../src/mesh/index.ts'
import type { Message, MessageType } from '../../src/raft/types.ts'
import { GatedDisk } from '../storage/gated-disk.ts'

const SQL = await initSqlJs()
export const TOKEN = 'hb'
export const URLS = { a: 'http://a:2380', b: 'http://b:2380', c: 'http://c:2380' }

/**
 * The member's whole network: what it sends is recorded (with when), what the test injects is
 * delivered, and `reply` may answer each message sent, as a peer would, on a later turn.
 */
export class RecordingMesh implements Mesh {
  readonly sent: Message[] = []
  readonly sentAt: number[] = []
  /** For each flush() call: how many messages had been sent by then (all of them went out). */
  readonly flushes: number[] = []
  reply: (m: Message) => Message | null = () => null
  #receive: (messages: Message[]) => void = () => undefined
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.sent.push(m)
      this.sentAt.push(Date.now())
      const answer = this.reply(m)
      if (answer !== null) setImmediate(() => this.deliver(answer))
    }
  }
  flush(): void {
    this.flushes.push(this.sent.length)
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

export async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * Member `a` of a, b, c (tick 100 ms and election 1 s unless given), started, on a disk whose
 * calls the test can hold.
 */
export async function openHeld(heartbeatMs = 100, electionMs = 1000): Promise<{ member: Member; disk: GatedDisk; mesh: RecordingMesh }> {
  const config = parseMemberConfig(
    [
      '--name', 'a', '--data-dir', '/a', '--initial-cluster-token', TOKEN,
      '--initial-cluster', Object.entries(URLS).map(([n, u]) => `${n}=${u}`).join(','),
      '--initial-advertise-peer-urls', URLS.a,
      '--heartbeat-interval', String(heartbeatMs), '--election-timeout', String(electionMs),
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
  return { member, disk, mesh }
}

/** Member a elected leader by b (c is down), b following it as a follower would. */
export async function leaderWithFollower(holdFirstLeaderReady: boolean): Promise<{
  member: Member; disk: GatedDisk; mesh: RecordingMesh; b: number; fsync: ReturnType<GatedDisk['holdCall']> | null
}> {
  const { member, disk, mesh } = await openHeld()
  const self = member.identity.memberId
  const b = memberIdFor([URLS.b], TOKEN)
  const answer = (m: Message, type: MessageType, over: Partial<Message> = {}): Message => ({
    type, from: b, to: self, term: m.term, logTerm: 0, index: 0, commit: 0, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: m.context, ...over,
  })
  let vote: Message | null = null
  mesh.reply = (m) => {
    if (m.to !== b) return null
    if (m.type === 'MsgPreVote') return answer(m, 'MsgPreVoteResp')
    if (m.type === 'MsgVote') vote = m
    if (m.type === 'MsgHeartbeat') return answer(m, 'MsgHeartbeatResp')
    if (m.type === 'MsgApp') return answer(m, 'MsgAppResp', { index: m.index + m.entries.length })
    return null
  }
  member.actor.campaign()
  await until('a asks b for its vote', () => vote !== null)
  // The vote makes a leader; its first Ready (the leader's empty entry) may be held.
  const fsync = holdFirstLeaderReady ? disk.holdCall('fsync') : null
  mesh.deliver(answer(vote as unknown as Message, 'MsgVoteResp'))
  if (fsync !== null) return { member, disk, mesh, b, fsync }
  await until('a leads', () => member.actor.isLeader)
  await until('b holds the leader\'s log', () => member.actor.status().commit >= member.storage.raftLog.lastIndex())
  return { member, disk, mesh, b, fsync }
}

/**
 * Messages from b, leading in term 2, to `member` (a): the type, then whatever differs from an
 * empty message with commit 1.
 */
export function fromLeaderB(member: Member): (type: MessageType, over: Partial<Message>) => Message {
  const self = member.identity.memberId
  const leader = memberIdFor([URLS.b], TOKEN)
  return (type, over) => ({
    type, from: leader, to: self, term: 2, logTerm: 0, index: 0, commit: 1, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0), ...over,
  })
}
