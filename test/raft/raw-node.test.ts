/** The RawNode contract: Ready/advance, persistence before counting, restart, and input checks. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStorage, NONE, RawNode, describeReady, type Entry, type Message } from '../../src/raft/index.ts'
import { bytes, Network, testConfig } from './network.ts'

function singleLeader(): { node: RawNode; storage: MemoryStorage } {
  const storage = MemoryStorage.bootstrap({ voters: [1], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  node.campaign()
  return { node, storage }
}

function persist(storage: MemoryStorage, node: RawNode): ReturnType<RawNode['ready']> {
  const rd = node.ready()
  if (rd.snapshot) storage.applySnapshot(rd.snapshot)
  storage.append(rd.entries)
  if (rd.hardState) storage.setHardState(rd.hardState)
  return rd
}

test('a single-voter leader commits its entry only after advance() acknowledges its persistence', () => {
  const { node, storage } = singleLeader()
  assert.equal(node.status().role, 'leader')
  const rd = persist(storage, node)
  assert.deepEqual(rd.entries.map((e) => e.index), [2])
  assert.equal(rd.committedEntries.length, 0)
  assert.equal(node.status().commit, 1, 'not committed at append time')
  node.advance()
  assert.equal(node.status().commit, 2)
  const rd2 = persist(storage, node)
  assert.deepEqual(rd2.committedEntries.map((e) => e.index), [2])
  assert.equal(rd2.hardState?.commit, 2)
  node.advance()
  assert.equal(node.propose(bytes('x')).ok, true)
  const rd3 = persist(storage, node)
  assert.equal(rd3.committedEntries.length, 0)
  node.advance()
  const rd4 = persist(storage, node)
  assert.deepEqual(rd4.committedEntries.map((e) => new TextDecoder().decode(e.data)), ['x'])
  node.advance()
  assert.equal(node.status().applied, 3)
})

test('a leader of three does not count its own unpersisted entries toward commit', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  assert.equal(node.term, 1)
  node.campaign()
  assert.equal(node.term, 2, 'term is the current term, as status() has it')
  assert.equal(node.term, node.status().term)
  const vote = (from: number): void =>
    node.step({
      type: 'MsgVoteResp', from, to: 1, term: 2, logTerm: 0, index: 0, commit: 0, entries: [],
      reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0),
    })
  persist(storage, node)
  node.advance()
  vote(2)
  assert.equal(node.status().role, 'leader')
  // Follower 2 acknowledges the leader's empty entry before the leader persisted it.
  node.step({
    type: 'MsgAppResp', from: 2, to: 1, term: 2, logTerm: 0, index: 2, commit: 0, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0),
  })
  assert.equal(node.status().progress?.get(1)?.match, 1)
  assert.deepEqual(node.confState(), { voters: [1, 2, 3], learners: [] })
  assert.equal(node.status().commit, 1, 'one replica (the follower) of three is not a majority')
  persist(storage, node)
  node.advance()
  assert.equal(node.status().progress?.get(1)?.match, 2)
  assert.equal(node.status().commit, 2)
})

test('ready() must be followed by advance(); hasReady() is pure and false while a Ready is out', () => {
  const { node, storage } = singleLeader()
  const polls = [node.hasReady(), node.hasReady(), node.hasReady()]
  assert.deepEqual(polls, [true, true, true])
  const rd = persist(storage, node)
  assert.equal(node.hasReady(), false)
  assert.throws(() => node.ready(), /before advance/)
  node.advance()
  assert.throws(() => node.advance(), /without an outstanding/)
  assert.ok(rd.softState)
})

test('a Ready with no entries (only messages or state) advances cleanly', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(2, storage, { applied: 1 }))
  node.step({
    type: 'MsgHeartbeat', from: 1, to: 2, term: 1, logTerm: 0, index: 0, commit: 1, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0),
  })
  const rd = node.ready()
  assert.equal(rd.entries.length, 0)
  assert.equal(rd.messages.length, 1)
  assert.equal(rd.mustSync, false)
  node.advance()
  assert.equal(node.hasReady(), false)
  assert.equal(describeReady(node.ready()), '<empty Ready>')
  node.advance()
})

test('mustSync is set for entries and term/vote changes but not for a commit-only change', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  node.campaign()
  const rd = node.ready()
  assert.equal(rd.mustSync, true)
  assert.deepEqual(rd.hardState, { term: 2, vote: 1, commit: 1 })
  node.advance()
})

test('restart resumes as a follower with the persisted term and vote, and re-delivers committed entries', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const ents: Entry[] = [2, 3, 4].map((index) => ({ term: 5, index, type: 'normal', data: bytes(`e${index}`) }))
  storage.append(ents)
  storage.setHardState({ term: 5, vote: 2, commit: 4 })
  const node = new RawNode(testConfig(1, storage, { applied: 2 }))
  const st = node.status()
  assert.deepEqual([st.role, st.term, st.vote, st.lead, st.commit, st.applied], ['follower', 5, 2, NONE, 4, 2])
  const rd = node.ready()
  assert.equal(rd.hardState, null, 'nothing new to persist')
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [3, 4])
  node.advance()
  assert.equal(node.status().applied, 4)
})

test('restart with applied beyond a lagging persisted commit raises commit to applied', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1], learners: [] })
  storage.append([{ term: 2, index: 2, type: 'normal', data: bytes('a') }])
  storage.setHardState({ term: 2, vote: 1, commit: 1 })
  const node = new RawNode(testConfig(1, storage, { applied: 2 }))
  assert.deepEqual([node.status().commit, node.status().applied], [2, 2])
  assert.throws(() => new RawNode(testConfig(1, storage, { applied: 3 })), /beyond|out of range/)
})

test('step ignores messages addressed to another node', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(2, storage, { applied: 1 }))
  node.step({
    type: 'MsgHeartbeat', from: 1, to: 3, term: 7, logTerm: 0, index: 0, commit: 0, entries: [],
    reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0),
  })
  assert.equal(node.status().term, 1)
})

test('config is validated', () => {
  const storage = new MemoryStorage()
  assert.throws(() => new RawNode(testConfig(0, storage)), /id/)
  assert.throws(() => new RawNode(testConfig(1, storage, { electionTick: 1, heartbeatTick: 1 })), /electionTick/)
  assert.throws(() => new RawNode(testConfig(1, storage, { rand: (n) => n })), /rand/)
})

test('without a leader, proposals and reads are refused with no-leader', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  assert.deepEqual(node.propose(bytes('x')), { ok: false, error: 'no-leader' })
  assert.deepEqual(node.readIndex(bytes('r')), { ok: false, error: 'no-leader' })
  node.campaign()
  assert.deepEqual(node.propose(bytes('x')), { ok: false, error: 'no-leader' }, 'a candidate has no leader')
})

test('proposeBatch: a leader sends one append per follower, a follower forwards one MsgProp, in order', () => {
  const net = new Network([1, 2, 3])
  net.elect(1)
  const data = ['a', 'b', 'c'].map(bytes)
  assert.deepEqual(net.node(1).proposeBatch(data), { ok: true })
  net.handleReady(1)
  const appends = net.takeQueued().filter((m) => m.type === 'MsgApp')
  assert.deepEqual(appends.map((m) => m.to).sort(), [2, 3], 'one MsgApp per follower')
  for (const m of appends) assert.deepEqual(m.entries.map((e) => new TextDecoder().decode(e.data)), ['a', 'b', 'c'])
  for (const m of appends) net.node(m.to).step(m)
  net.stabilize()

  assert.deepEqual(net.node(2).proposeBatch(['d', 'e'].map(bytes)), { ok: true })
  net.handleReady(2)
  const forwarded = net.takeQueued()
  assert.deepEqual(forwarded.map((m) => [m.type, m.to, m.entries.length]), [['MsgProp', 1, 2]])
  for (const m of forwarded) net.node(1).step(m)
  net.stabilize()
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['a', 'b', 'c', 'd', 'e'])
})

test('proposeBatch is refused as a whole: without a leader, and while leadership is being transferred', () => {
  const net = new Network([1, 2, 3])
  assert.deepEqual(net.node(1).proposeBatch([bytes('x'), bytes('y')]), { ok: false, error: 'no-leader' })
  net.elect(1)
  net.isolate(3)
  net.node(1).transferLeader(3)
  assert.deepEqual(net.node(1).proposeBatch([bytes('x'), bytes('y')]), { ok: false, error: 'transferring' })
  net.heal()
  assert.deepEqual(net.appliedData(1), [])
})

test('takeHeartbeats: while a Ready is out, a follower\'s heartbeat answers in the durable term go at once, not in the next Ready', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(2, storage, { applied: 1 }))
  const heartbeat = (term: number, ctx: string): void =>
    node.step({
      type: 'MsgHeartbeat', from: 1, to: 2, term, logTerm: 0, index: 0, commit: 1, entries: [],
      reject: false, rejectHint: 0, snapshot: null, context: bytes(ctx),
    })
  const append = (term: number): void =>
    node.step({
      type: 'MsgApp', from: 1, to: 2, term, logTerm: 1, index: 1, commit: 1, reject: false, rejectHint: 0,
      entries: [{ term, index: 2, type: 'normal', data: bytes('x') }], snapshot: null, context: new Uint8Array(0),
    })
  const contexts = (ms: readonly { context: Uint8Array }[]): string[] => ms.map((m) => new TextDecoder().decode(m.context))

  // No Ready out: the answer waits for the next one.
  heartbeat(1, 'idle')
  assert.deepEqual(node.takeHeartbeats(), [])
  persist(storage, node)
  node.advance()

  // A Ready (an entry to persist) is out: an answer in term 1, durable, goes now, with its context.
  append(1)
  const rd = persist(storage, node)
  assert.deepEqual([rd.entries.length, rd.messages.map((m) => m.type)], [1, ['MsgAppResp']])
  heartbeat(1, 'busy')
  const early = node.takeHeartbeats()
  assert.deepEqual(early.map((m) => [m.type, m.to, m.term, m.reject]), [['MsgHeartbeatResp', 1, 1, true]], 'marked busy')
  assert.deepEqual(contexts(early), ['busy'])
  assert.deepEqual(node.takeHeartbeats(), [], 'taken once')
  node.advance()
  const next = persist(storage, node)
  assert.deepEqual(next.messages.map((m) => m.type), [], 'not sent twice')
  node.advance()

  // A heartbeat of a new term while a Ready is out: that term is not durable, so its answer waits.
  append(1)
  persist(storage, node)
  heartbeat(3, 'new term')
  assert.deepEqual(node.takeHeartbeats(), [])
  node.advance()
  const later = persist(storage, node)
  assert.equal(later.hardState?.term, 3)
  assert.deepEqual(contexts(later.messages.filter((m) => m.type === 'MsgHeartbeatResp')), ['new term'])
  node.advance()
})

/** Node 1 elected leader of 1, 2, 3 (with 2's vote), its first entry persisted; checkQuorum on. */
function electedLeader(): { node: RawNode; storage: MemoryStorage; from: (type: 'MsgVoteResp' | 'MsgHeartbeatResp' | 'MsgAppResp', id: number, over?: Partial<Message>) => void } {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1, checkQuorum: true }))
  const from = (type: 'MsgVoteResp' | 'MsgHeartbeatResp' | 'MsgAppResp', id: number, over: Partial<Message> = {}): void =>
    node.step({
      type, from: id, to: 1, term: 2, logTerm: 0, index: 0, commit: 0, entries: [],
      reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0), ...over,
    })
  node.campaign()
  persist(storage, node)
  node.advance()
  from('MsgVoteResp', 2)
  assert.equal(node.status().role, 'leader')
  persist(storage, node) // the leader's empty entry, and the probes carrying it
  node.advance()
  return { node, storage, from }
}

test('takeHeartbeats: while a leader\'s Ready is out, its heartbeats go at once, plain, committing no more than acknowledged', () => {
  const { node, storage, from } = electedLeader()
  from('MsgAppResp', 2, { index: 2 })
  assert.equal(node.status().commit, 2, 'entry 2: on 1 and 2')
  persist(storage, node)
  node.advance()

  assert.deepEqual(node.takeHeartbeats(), [], 'no Ready out: heartbeats wait for the next one')
  node.propose(bytes('x'))
  const rd = persist(storage, node)
  assert.deepEqual(rd.entries.map((e) => e.index), [3])
  for (let t = 0; t < 3; t++) node.tick()
  const early = node.takeHeartbeats()
  assert.deepEqual(
    early.map((m) => [m.type, m.to, m.term, m.commit, m.reject]),
    [['MsgHeartbeat', 2, 2, 2, false], ['MsgHeartbeat', 3, 2, 0, false]],
    'to each follower the newest of three ticks\' heartbeats, with the commit index it acknowledged at most',
  )
  assert.deepEqual(node.takeHeartbeats(), [], 'taken once')
  node.advance()
  const next = persist(storage, node)
  assert.deepEqual(next.messages.filter((m) => m.type === 'MsgHeartbeat'), [], 'not sent twice')
  node.advance()
})

test('a busy heartbeat answer (reject) does not make the leader resend its probe; a plain one does', () => {
  const { node, storage, from } = electedLeader()
  const appendsTo2 = (): number => {
    const rd = persist(storage, node)
    node.advance()
    return rd.messages.filter((m) => m.type === 'MsgApp' && m.to === 2).length
  }
  assert.equal(appendsTo2(), 0, 'the probe to 2 is out: paused until 2 answers')
  from('MsgHeartbeatResp', 2, { reject: true })
  assert.equal(appendsTo2(), 0, 'a busy answer does not resend the probe')
  from('MsgHeartbeatResp', 2)
  assert.equal(appendsTo2(), 1, 'a plain answer does')
  for (let i = 0; i < 3; i++) from('MsgHeartbeatResp', 2)
  assert.equal(appendsTo2(), 1, 'three answers before the next Ready: one probe, not one per answer')
})

test('busy heartbeat answers keep a checkQuorum leader in office; silence does not', () => {
  for (const answer of [true, false]) {
    const { node, storage, from } = electedLeader()
    for (let t = 0; t < 30; t++) {
      node.tick()
      if (answer) from('MsgHeartbeatResp', 2, { reject: true })
      persist(storage, node)
      node.advance()
    }
    assert.equal(node.status().role === 'leader', answer, answer ? 'busy answers count' : 'no quorum heard: stepped down')
  }
})
