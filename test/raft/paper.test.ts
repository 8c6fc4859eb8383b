/**
 * Tests named after the rules of the Raft paper (Figure 2, §5, §6, §7, §8) and of Ongaro's thesis
 * (§3.10 leadership transfer, §6.4 ReadIndex, §9.6 PreVote) that they check.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeMessage } from '../../src/raft/raft.ts'
import {
  MemoryStorage,
  NONE,
  RawNode,
  SnapshotUnavailableError,
  decodeConfChange,
  encodeConfChange,
  type ConfChange,
  type Entry,
  type Message,
  type NodeId,
} from '../../src/raft/index.ts'
import { Network, bytes, testConfig } from './network.ts'

const msg = (f: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message => makeMessage(f)
const status = (net: Network, id: NodeId) => net.node(id).status()
const entry = (term: number, index: number, data = ''): Entry => ({ term, index, type: 'normal', data: bytes(data) })

/** A cluster elected and settled with `lead` as leader. */
function cluster(ids: NodeId[], lead: NodeId, over = {}): Network {
  const net = new Network(ids, over)
  net.elect(lead)
  assert.equal(net.leader(), lead)
  return net
}

/** A node whose storage holds `terms` as entries 2.. (after the bootstrap snapshot) at `term`. */
function nodeWithLog(
  id: NodeId,
  voters: NodeId[],
  logTerms: number[],
  term: number,
): { node: RawNode; storage: MemoryStorage } {
  const storage = MemoryStorage.bootstrap({ voters, learners: [] })
  storage.append(logTerms.map((t, i) => entry(t, i + 2)))
  storage.setHardState({ term, vote: 0, commit: 1 })
  return { node: new RawNode(testConfig(id, storage, { applied: 1 })), storage }
}

// ---- Figure 2 / §5.1 ----

test('§5.1: a node that sees a higher term adopts it and becomes a follower (even a leader)', () => {
  const net = cluster([1, 2, 3], 1)
  const term = status(net, 1).term
  net.node(1).step(msg({ type: 'MsgHeartbeat', from: 2, to: 1, term: term + 3 }))
  assert.deepEqual([status(net, 1).role, status(net, 1).term, status(net, 1).lead], ['follower', term + 3, 2])
})

test('§5.1: a message with a stale term is not acted on; the stale leader is told the current term', () => {
  const net = cluster([1, 2, 3], 1, { checkQuorum: true })
  net.node(1).transferLeader(2)
  net.stabilize()
  assert.equal(net.leader(), 2)
  const term = status(net, 2).term
  net.takeQueued()
  const stale = msg({ type: 'MsgApp', from: 1, to: 3, term: term - 1, index: 1, logTerm: 1, entries: [entry(1, 99)] })
  net.node(3).step(stale)
  net.handleReady(3)
  const out = net.takeQueued()
  assert.equal(status(net, 3).term, term)
  assert.deepEqual(out.map((m) => [m.type, m.to, m.term, m.reject]), [['MsgAppResp', 1, term, false]])
  assert.equal(net.member(3).storage.lastIndex() < 99, true)
})

// ---- §5.2 leader election ----

test('§5.2: a follower that hears nothing for an election timeout becomes a candidate', () => {
  const net = new Network([1, 2, 3])
  net.node(1).tick()
  for (let i = 0; i < 20 && status(net, 1).role === 'follower'; i++) net.node(1).tick()
  const st = status(net, 1)
  assert.deepEqual([st.role, st.term, st.vote], ['candidate', 2, 1])
  net.handleReady(1)
  const votes = net.takeQueued()
  assert.deepEqual(votes.map((m) => [m.type, m.to, m.term]), [['MsgVote', 2, 2], ['MsgVote', 3, 2]])
})

test('§5.2: election timeouts are randomized in [electionTick, 2*electionTick) from config.rand', () => {
  for (const draw of [0, 4, 9]) {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
    const node = new RawNode(testConfig(1, storage, { applied: 1, rand: () => draw }))
    let ticks = 0
    while (node.status().role === 'follower') {
      node.tick()
      ticks++
    }
    assert.equal(ticks, 10 + draw)
  }
})

test('§5.2: a candidate that wins votes from a majority becomes leader and announces itself', () => {
  const net = new Network([1, 2, 3, 4, 5])
  net.cut(1, 4)
  net.cut(1, 5)
  net.elect(1)
  assert.equal(status(net, 1).role, 'leader', 'votes of 1, 2, 3 are a majority of five')
  assert.ok(net.sent.some((m) => m.type === 'MsgApp' && m.from === 1 && m.to === 2))
})

test('§5.2: a candidate that a majority rejects goes back to being a follower', () => {
  const net = new Network([1, 2, 3])
  net.node(2).campaign()
  net.handleReady(2)
  net.takeQueued()
  net.node(3).campaign()
  net.handleReady(3)
  net.takeQueued()
  // 2 and 3 voted for themselves in term 2; 1 campaigns in term 2 too after their rejections.
  net.node(1).campaign()
  net.stabilize()
  assert.equal(status(net, 1).term, 2)
  assert.notEqual(status(net, 1).role, 'leader')
  assert.equal(status(net, 1).role, 'follower')
})

test('§5.2: each node grants at most one vote per term, first come first served', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(3, storage, { applied: 1 }))
  node.step(msg({ type: 'MsgVote', from: 1, to: 3, term: 2, index: 1, logTerm: 1 }))
  node.step(msg({ type: 'MsgVote', from: 2, to: 3, term: 2, index: 1, logTerm: 1 }))
  node.step(msg({ type: 'MsgVote', from: 1, to: 3, term: 2, index: 1, logTerm: 1 }))
  const answers = node.ready().messages.map((m) => [m.to, m.reject])
  assert.deepEqual(answers, [[1, false], [2, true], [1, false]])
  assert.equal(node.status().vote, 1)
})

test('§5.2: a candidate that hears from a leader of its term becomes its follower', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  node.campaign()
  assert.equal(node.status().role, 'candidate')
  node.step(msg({ type: 'MsgApp', from: 2, to: 1, term: 2, index: 1, logTerm: 1 }))
  assert.deepEqual([node.status().role, node.status().lead, node.status().term], ['follower', 2, 2])
})

test('§5.2: a leader sends heartbeats every heartbeat interval, carrying commit capped at match', () => {
  const net = cluster([1, 2, 3], 1, { heartbeatTick: 2 })
  net.isolate(3)
  assert.equal(net.node(1).propose(bytes('a')).ok, true)
  net.stabilize()
  net.heal()
  net.node(1).tick()
  net.handleReady(1)
  assert.equal(net.takeQueued().length, 0)
  net.node(1).tick()
  net.handleReady(1)
  const beats = net.takeQueued().filter((m) => m.type === 'MsgHeartbeat')
  const st = status(net, 1)
  const match3 = st.progress?.get(3)?.match ?? -1
  assert.ok(match3 < st.commit)
  assert.deepEqual(beats.map((m) => [m.to, m.commit]), [[2, st.commit], [3, match3]])
})

// ---- §5.3 log replication ----

test('§5.3: an entry is committed once a majority stores it, and then applied by every node', () => {
  const net = cluster([1, 2, 3], 1)
  net.cut(1, 3)
  assert.equal(net.node(1).propose(bytes('a')).ok, true)
  net.stabilize()
  assert.deepEqual(net.appliedData(1), ['a'], '1 and 2 are a majority')
  assert.deepEqual(net.appliedData(3), [])
  net.heal()
  net.tick(1)
  assert.deepEqual(net.appliedData(3), ['a'])
})

test('§5.3: a follower rejects an append whose previous entry it does not have (consistency check)', () => {
  const { node } = nodeWithLog(2, [1, 2, 3], [1, 1], 2)
  node.step(msg({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 3, logTerm: 2, entries: [entry(2, 4)] }))
  const [resp] = node.ready().messages
  assert.equal(resp?.reject, true)
  assert.equal(node.status().commit, 1)
})

test('§5.3: a follower deletes a conflicting tail and appends the leader entries', () => {
  const { node, storage } = nodeWithLog(2, [1, 2, 3], [1, 1, 1], 3)
  const app = msg({ type: 'MsgApp', from: 1, to: 2, term: 3, index: 2, logTerm: 1, commit: 3, entries: [entry(3, 3, 'x')] })
  node.step(app)
  const rd = node.ready()
  storage.append(rd.entries)
  assert.deepEqual(storage.allEntries().map((e) => `${e.term}/${e.index}`), ['1/2', '3/3'])
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [2, 3])
  assert.deepEqual(rd.messages.map((m) => [m.reject, m.index]), [[false, 3]])
})

test('§5.3: the leader skips a whole conflicting term per round trip (fast backtracking)', () => {
  // Leader-to-be 1 (and 3) hold 30 entries of term 3; follower 2 holds 30 different entries of term 2.
  const net = new Network([])
  const mk = (logTerms: number[]): MemoryStorage => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
    s.append(logTerms.map((t, i) => entry(t, i + 2)))
    s.setHardState({ term: 3, vote: 0, commit: 2 })
    return s
  }
  net.add(1, mk([1, ...Array<number>(30).fill(3)]))
  net.add(2, mk([1, ...Array<number>(30).fill(2)]))
  net.add(3, mk([1, ...Array<number>(30).fill(3)]))
  net.elect(1)
  assert.equal(net.leader(), 1)
  const rejections = net.sent.filter((m) => m.type === 'MsgAppResp' && m.from === 2 && m.reject)
  assert.equal(rejections.length, 1, 'one round trip skips all 30 conflicting entries')
  assert.deepEqual(
    net.member(2).storage.allEntries().map((e) => `${e.term}/${e.index}`),
    net.member(1).storage.allEntries().map((e) => `${e.term}/${e.index}`),
  )
})

test('§5.3: duplicated and reordered appends are harmless', () => {
  const net = cluster([1, 2, 3], 1)
  net.ignore('MsgAppResp')
  net.node(1).propose(bytes('a'))
  net.handleReady(1)
  const first = net.takeQueued().filter((m) => m.to === 2)
  net.node(1).propose(bytes('b'))
  net.handleReady(1)
  const second = net.takeQueued().filter((m) => m.to === 2)
  for (const m of [...second, ...first, ...second, ...first]) net.node(2).step(m)
  net.handleReady(2)
  const data = net.member(2).storage.allEntries().map((e) => new TextDecoder().decode(e.data))
  assert.deepEqual(data.slice(-2), ['a', 'b'])
})

// ---- §5.4 safety ----

test('§5.4.1: a vote is refused to a candidate whose log is less up-to-date', () => {
  const { node } = nodeWithLog(2, [1, 2, 3], [1, 2], 2)
  // Candidate's last entry has a lower term.
  node.step(msg({ type: 'MsgVote', from: 1, to: 2, term: 3, index: 10, logTerm: 1 }))
  // Same last term, shorter log.
  node.step(msg({ type: 'MsgVote', from: 3, to: 2, term: 4, index: 2, logTerm: 2 }))
  // Same last term, same length: granted.
  node.step(msg({ type: 'MsgVote', from: 1, to: 2, term: 5, index: 3, logTerm: 2 }))
  assert.deepEqual(node.ready().messages.map((m) => [m.to, m.reject]), [[1, true], [3, true], [1, false]])
})

test('§5.4.1: the unsafe skipUpToDateCheck knob grants the vote anyway (for checker tests only)', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  storage.append([entry(1, 2), entry(2, 3)])
  storage.setHardState({ term: 2, vote: 0, commit: 1 })
  const node = new RawNode(testConfig(2, storage, { applied: 1, unsafe: { skipUpToDateCheck: true } }))
  node.step(msg({ type: 'MsgVote', from: 1, to: 2, term: 3, index: 10, logTerm: 1 }))
  assert.equal(node.ready().messages[0]?.reject, false)
})

test('§5.4.1: a leader holds every committed entry (a node missing one cannot be elected)', () => {
  const net = cluster([1, 2, 3], 1)
  net.cut(1, 3)
  net.node(1).propose(bytes('committed'))
  net.stabilize()
  assert.deepEqual(net.appliedData(2), ['committed'])
  net.isolate(1)
  net.elect(3)
  assert.notEqual(status(net, 3).role, 'leader', '2 refuses: 3 lacks the committed entry')
  net.elect(2)
  assert.equal(status(net, 2).role, 'leader', '(the isolated old leader 1 does not know yet)')
  assert.ok(status(net, 2).term > status(net, 1).term)
})

test('§5.4.2: a leader never commits a previous-term entry by counting replicas (the unsafe knob does)', () => {
  for (const unsafe of [false, true]) {
    const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
    storage.append([entry(2, 2, 'old')])
    storage.setHardState({ term: 3, vote: 0, commit: 1 })
    const node = new RawNode(testConfig(1, storage, { applied: 1, unsafe: { commitPreviousTermByCount: unsafe } }))
    node.campaign()
    const rd = node.ready()
    storage.append(rd.entries)
    storage.setHardState(rd.hardState ?? storage.initialState().hardState)
    node.advance()
    node.step(msg({ type: 'MsgVoteResp', from: 2, to: 1, term: 4 }))
    assert.equal(node.status().role, 'leader')
    const rd2 = node.ready()
    storage.append(rd2.entries)
    node.advance()
    // Follower 2 acknowledges the old entry (index 2) but not yet the leader's own entry (index 3).
    node.step(msg({ type: 'MsgAppResp', from: 2, to: 1, term: 4, index: 2 }))
    assert.equal(node.status().commit, unsafe ? 2 : 1, unsafe ? 'unsafe knob commits by count' : 'not committed')
    node.step(msg({ type: 'MsgAppResp', from: 2, to: 1, term: 4, index: 3 }))
    assert.equal(node.status().commit, 3, 'committing the own-term entry commits the old one too')
  }
})

test('§5.4.2: a previous-term entry is committed indirectly once an entry of the current term commits', () => {
  // 1 and 2 hold an uncommitted term-2 entry; 1 becomes leader again and finishes the job.
  const net = cluster([1, 2, 3], 1)
  net.cut(1, 3)
  net.ignore('MsgAppResp')
  net.node(1).propose(bytes('old'))
  net.stabilize()
  net.heal()
  assert.deepEqual(net.appliedData(1), [], 'not committed: the leader never heard back')
  net.isolate(3)
  net.elect(2)
  net.elect(1)
  assert.equal(net.leader(), 1)
  net.heal()
  net.tick(1)
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['old'], `node ${id}`)
  const st = status(net, 1)
  assert.equal(net.member(1).storage.term(st.commit), st.term, 'the commit point is an own-term entry')
})

// ---- §6 membership ----

const change = (type: ConfChange['type'], nodeId: NodeId): ConfChange => ({ type, nodeId, context: new Uint8Array(0) })

function addAndApply(net: Network, lead: NodeId, type: ConfChange['type'], nodeId: NodeId): void {
  const r = net.node(lead).proposeConfChange(change(type, nodeId))
  assert.deepEqual(r, { ok: true })
  net.stabilize()
}

test('§6: a learner receives entries but never counts toward commit, and never campaigns', () => {
  const net = cluster([1, 2], 1)
  net.add(3, new MemoryStorage())
  addAndApply(net, 1, 'add-learner', 3)
  assert.deepEqual(status(net, 1).confState, { voters: [1, 2], learners: [3] })
  net.node(1).propose(bytes('a'))
  net.stabilize()
  assert.deepEqual(net.appliedData(3), ['a'], 'the learner replicates')
  net.isolate(2)
  net.node(1).propose(bytes('b'))
  net.stabilize()
  assert.deepEqual(net.appliedData(1), ['a'], 'leader + learner are not a majority of {1, 2}')
  for (let i = 0; i < 50; i++) net.node(3).tick()
  assert.equal(status(net, 3).role, 'follower')
  // A learner still answers vote requests (the candidate may already count it as a voter).
  net.heal()
  net.takeQueued()
  const term = status(net, 3).term
  net.node(3).step(msg({ type: 'MsgVote', from: 2, to: 3, term: term + 1, index: 100, logTerm: 100 }))
  net.handleReady(3)
  assert.deepEqual(net.takeQueued().map((m) => [m.type, m.to, m.reject]), [['MsgVoteResp', 2, false]])
})

test('§6: a learner is promoted only when caught up; then it counts', () => {
  const net = cluster([1, 2], 1)
  net.add(3, new MemoryStorage())
  addAndApply(net, 1, 'add-learner', 3)
  net.isolate(3)
  for (let i = 0; i < 30; i++) net.node(1).propose(bytes(`x${i}`))
  net.stabilize()
  assert.deepEqual(net.node(1).proposeConfChange(change('add-voter', 3)), {
    ok: false,
    error: 'learner-not-caught-up',
  })
  net.heal()
  net.tick(1)
  addAndApply(net, 1, 'add-voter', 3)
  assert.deepEqual(status(net, 3).confState, { voters: [1, 2, 3], learners: [] })
  net.isolate(2)
  net.node(1).propose(bytes('after'))
  net.stabilize()
  assert.equal(net.appliedData(1).at(-1), 'after', '1 and 3 are a majority of three')
})

test('§6: only one membership change may be pending; invalid changes are refused', () => {
  const net = cluster([1, 2, 3], 1)
  net.ignore('MsgApp')
  assert.equal(net.node(1).proposeConfChange(change('add-learner', 4)).ok, true)
  assert.deepEqual(net.node(1).proposeConfChange(change('add-learner', 5)), {
    ok: false,
    error: 'conf-change-pending',
  })
  net.heal()
  net.tick(1)
  assert.deepEqual(net.node(1).proposeConfChange(change('add-voter', 2)), { ok: false, error: 'invalid-conf-change' })
  assert.deepEqual(net.node(1).proposeConfChange(change('remove', 9)), { ok: false, error: 'invalid-conf-change' })
  assert.deepEqual(net.node(1).proposeConfChange(change('add-learner', 5)), { ok: true })
})

test('§6: a new leader accepts membership changes only after committing an entry of its term', () => {
  const net = new Network([1, 2, 3])
  net.ignore('MsgAppResp')
  net.elect(1)
  assert.equal(status(net, 1).role, 'leader')
  assert.deepEqual(net.node(1).proposeConfChange(change('remove', 3)), {
    ok: false,
    error: 'not-leader-term-committed',
  })
})

test('§6: a removed leader steps down when it applies its own removal', () => {
  const net = cluster([1, 2, 3], 1)
  addAndApply(net, 1, 'remove', 1)
  assert.equal(status(net, 1).role, 'follower')
  assert.deepEqual(status(net, 2).confState.voters, [2, 3])
  assert.deepEqual(net.node(1).propose(bytes('x')), { ok: false, error: 'removed' })
  for (let i = 0; i < 30; i++) for (const id of [1, 2, 3]) net.tick(id)
  assert.ok([2, 3].includes(net.leader()), 'the remaining voters elect a leader')
  assert.equal(status(net, 1).role, 'follower', 'the removed node never campaigns')
})

test('§6: a node does not campaign while a committed membership change is not yet applied', () => {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  const cc = encodeConfChange(change('add-learner', 4))
  storage.append([{ term: 1, index: 2, type: 'conf-change', data: cc }])
  storage.setHardState({ term: 1, vote: 0, commit: 2 })
  const node = new RawNode(testConfig(1, storage, { applied: 1 }))
  node.campaign()
  assert.equal(node.status().role, 'follower', 'its membership may be stale')
  const rd = node.ready()
  assert.deepEqual(rd.committedEntries.map((e) => e.type), ['conf-change'])
  node.applyConfChange(decodeConfChange(rd.committedEntries[0]?.data ?? new Uint8Array(0)))
  node.advance()
  node.campaign()
  assert.equal(node.status().role, 'candidate')
})

test('§6: a node not among the voters ignores campaign() and MsgTimeoutNow', () => {
  const storage = new MemoryStorage()
  const node = new RawNode(testConfig(4, storage))
  node.campaign()
  node.step(msg({ type: 'MsgTimeoutNow', from: 1, to: 4, term: 3 }))
  for (let i = 0; i < 40; i++) node.tick()
  assert.equal(node.status().role, 'follower')
  assert.equal(node.status().term, 3)
})

// ---- §6.2 CheckQuorum and §9.6 PreVote ----

test('§6.2: with CheckQuorum a leader that hears from no quorum for an election timeout steps down', () => {
  const net = cluster([1, 2, 3], 1, { checkQuorum: true })
  net.isolate(1)
  for (let i = 0; i < 10; i++) net.tick(1)
  assert.equal(status(net, 1).role, 'leader', 'the first timeout only resets activity')
  for (let i = 0; i < 10; i++) net.tick(1)
  assert.equal(status(net, 1).role, 'follower')
})

test('§6.2: followers in a leader lease ignore vote requests unless they are a transfer', () => {
  const net = cluster([1, 2, 3], 1, { checkQuorum: true })
  const term = status(net, 2).term
  net.node(2).step(msg({ type: 'MsgVote', from: 3, to: 2, term: term + 1, index: 100, logTerm: 100 }))
  assert.equal(status(net, 2).term, term, 'ignored entirely: no term bump')
  net.node(2).step(
    msg({ type: 'MsgVote', from: 3, to: 2, term: term + 1, index: 100, logTerm: 100, context: bytes('transfer') }),
  )
  assert.deepEqual([status(net, 2).term, status(net, 2).vote], [term + 1, 3])
})

test('§9.6: a pre-candidate asks with term+1 without bumping its own term', () => {
  const net = cluster([1, 2, 3], 1, { preVote: true })
  const term = status(net, 3).term
  net.isolate(3)
  for (let i = 0; i < 25; i++) net.tick(3)
  assert.deepEqual([status(net, 3).role, status(net, 3).term], ['pre-candidate', term])
  const asks = net.sent.filter((m) => m.type === 'MsgPreVote' && m.from === 3)
  assert.ok(asks.length > 0 && asks.every((m) => m.term === term + 1))
})

test('§9.6: pre-vote does not disrupt a stable leader', () => {
  const net = cluster([1, 2, 3], 1, { preVote: true })
  const term = status(net, 1).term
  net.isolate(3)
  for (let i = 0; i < 50; i++) net.tick(3)
  net.heal()
  net.node(3).campaign()
  net.stabilize()
  assert.equal(net.leader(), 1)
  assert.equal(status(net, 1).term, term)
  net.tick(1)
  assert.deepEqual([status(net, 3).role, status(net, 3).lead, status(net, 3).term], ['follower', 1, term])
})

test('§9.6: followers that forgot a dead leader elect another at once; one that remembers it refuses', () => {
  const net = cluster([1, 2, 3], 1, { preVote: true, checkQuorum: true })
  const term = status(net, 1).term
  net.isolate(1) // the leader is gone, but nobody has waited out an election timeout yet
  net.node(2).campaign()
  net.stabilize()
  assert.notEqual(status(net, 2).role, 'leader')
  assert.equal(status(net, 3).lead, 1, '3 still follows 1: the pre-vote is ignored')
  net.node(3).forgetLeader()
  assert.equal(status(net, 3).lead, NONE)
  net.node(1).forgetLeader() // a leader keeps leading
  assert.equal(status(net, 1).role, 'leader')
  net.node(2).campaign()
  net.stabilize()
  assert.equal(status(net, 2).role, 'leader', 'granted by 3, which has no leader')
  assert.equal(status(net, 2).term, term + 1)
  // A follower that forgets a live leader follows it again at its next heartbeat.
  net.node(3).forgetLeader()
  net.tick(2)
  assert.equal(status(net, 3).lead, 2)
})

test('§9.6: pre-vote is granted only to an up-to-date log by a node that has no live leader', () => {
  const { node } = nodeWithLog(2, [1, 2, 3], [1, 2], 2)
  node.step(msg({ type: 'MsgPreVote', from: 1, to: 2, term: 3, index: 2, logTerm: 1 }))
  node.step(msg({ type: 'MsgPreVote', from: 1, to: 2, term: 3, index: 3, logTerm: 2 }))
  assert.deepEqual(node.ready().messages.map((m) => [m.type, m.reject, m.term]), [
    ['MsgPreVoteResp', true, 2],
    ['MsgPreVoteResp', false, 3],
  ])
  node.advance()
  assert.deepEqual([node.status().term, node.status().vote], [2, 0], 'a pre-vote changes nothing')
  node.step(msg({ type: 'MsgHeartbeat', from: 3, to: 2, term: 2 }))
  node.step(msg({ type: 'MsgPreVote', from: 1, to: 2, term: 3, index: 3, logTerm: 2 }))
  assert.deepEqual(node.ready().messages.filter((m) => m.type === 'MsgPreVoteResp'), [], 'ignored within the lease')
})

// ---- §7 log compaction ----

/** Leader 1 of three applied entries that follower 3 (isolated) lacks, then snapshotted and compacted past them. */
function compactedPastFollower3(): { net: Network; leader: ReturnType<Network['member']> } {
  const net = cluster([1, 2, 3], 1)
  net.isolate(3)
  for (let i = 0; i < 5; i++) net.node(1).propose(bytes(`v${i}`))
  net.stabilize()
  const leader = net.member(1)
  leader.storage.createSnapshot(leader.appliedIndex, status(net, 1).confState, bytes('image'))
  leader.storage.compact(leader.appliedIndex)
  return { net, leader }
}

test('§7: a follower behind the compaction point is brought up to date with a snapshot', () => {
  const { net, leader } = compactedPastFollower3()
  net.heal()
  net.tick(1)
  const snaps = net.sent.filter((m) => m.type === 'MsgSnap' && m.to === 3)
  assert.equal(snaps.length, 1)
  net.node(1).reportSnapshot(3, true)
  net.tick(1)
  assert.equal(net.member(3).storage.snapshot().metadata.index, leader.appliedIndex)
  assert.equal(net.member(3).appliedIndex, leader.appliedIndex)
  assert.equal(status(net, 1).progress?.get(3)?.state, 'replicate')
  net.node(1).propose(bytes('after'))
  net.stabilize()
  assert.deepEqual(net.appliedData(3), ['after'])
})

test('§7: with no snapshot available yet, the leader sends none and retries on the next heartbeat response', () => {
  const { net, leader } = compactedPastFollower3()
  // The storage is still making the snapshot (as a member's storage does after compacting ahead
  // of its checkpoints): raft must neither send a stale one nor give up on the follower.
  const real = leader.storage.snapshot.bind(leader.storage)
  let available = false
  leader.storage.snapshot = () => {
    if (!available) throw new SnapshotUnavailableError()
    return real()
  }
  net.heal()
  net.tick(1)
  net.tick(1)
  assert.equal(net.sent.filter((m) => m.type === 'MsgSnap').length, 0)
  assert.equal(status(net, 1).progress?.get(3)?.state, 'probe')
  assert.equal(net.node(1).snapshotInFlight(), null)
  available = true
  net.ignore('MsgSnap') // still on its way
  net.tick(1)
  const snaps = net.sent.filter((m) => m.type === 'MsgSnap' && m.to === 3)
  assert.equal(snaps.length, 1)
  assert.equal(net.node(1).snapshotInFlight(), leader.appliedIndex, 'the log must keep what follows it')
  net.heal()
  net.node(1).reportSnapshot(3, true)
  assert.equal(net.node(1).snapshotInFlight(), leader.appliedIndex, 'delivered, not yet installed')
  net.send(snaps[0] as Message)
  net.stabilize()
  assert.equal(net.member(3).appliedIndex, leader.appliedIndex)
  assert.equal(net.node(1).snapshotInFlight(), null, 'installed and acknowledged')
  assert.equal(net.node(3).snapshotInFlight(), null, 'only a leader sends snapshots')
})

// ---- §8 / §6.4 reads ----

test('§6.4: a read is released only after a quorum answers a heartbeat round sent after it arrived', () => {
  const net = cluster([1, 2, 3], 1)
  const commit = status(net, 1).commit
  net.isolate(1)
  assert.deepEqual(net.node(1).readIndex(bytes('r1')), { ok: true })
  net.stabilize()
  assert.deepEqual(net.member(1).readStates, [], 'no quorum answered')
  net.heal()
  net.tick(1)
  assert.deepEqual(net.member(1).readStates, [{ index: commit, ctx: bytes('r1') }])
})

test('§6.4: a new leader defers reads until it commits an entry of its own term', () => {
  const net = new Network([1, 2, 3])
  net.ignore('MsgAppResp')
  net.elect(1)
  net.node(1).readIndex(bytes('early'))
  net.stabilize()
  assert.deepEqual(net.member(1).readStates, [])
  net.heal()
  net.tick(1)
  assert.deepEqual(net.member(1).readStates.map((r) => r.index), [status(net, 1).commit])
})

test('§6.4: a follower read is forwarded to the leader and answered with the read index', () => {
  const net = cluster([1, 2, 3], 1)
  net.node(1).propose(bytes('a'))
  net.stabilize()
  assert.deepEqual(net.node(3).readIndex(bytes('f')), { ok: true })
  net.stabilize()
  assert.deepEqual(net.member(3).readStates, [{ index: status(net, 1).commit, ctx: bytes('f') }])
})

test('§6.4: a single voter answers reads at once with its commit index', () => {
  const net = new Network([1])
  net.elect(1)
  net.node(1).readIndex(bytes('solo'))
  net.handleReady(1)
  assert.deepEqual(net.member(1).readStates, [{ index: status(net, 1).commit, ctx: bytes('solo') }])
})

// ---- thesis §3.10 leadership transfer ----

test('§3.10: leader transfer brings the target up to date, then it campaigns and wins at once', () => {
  const net = cluster([1, 2, 3], 1, { checkQuorum: true, preVote: true })
  net.cut(1, 3)
  net.node(1).propose(bytes('a'))
  net.stabilize()
  net.heal()
  net.node(1).transferLeader(3)
  assert.deepEqual(net.node(1).propose(bytes('b')), { ok: false, error: 'transferring' })
  net.stabilize()
  assert.equal(net.leader(), 3)
  assert.deepEqual(net.appliedData(3), ['a'])
  assert.ok(net.sent.some((m) => m.type === 'MsgTimeoutNow' && m.to === 3))
})

test('§3.10: a transfer that cannot finish is abandoned after an election timeout', () => {
  const net = cluster([1, 2, 3], 1)
  net.isolate(3)
  net.node(1).transferLeader(3)
  assert.equal(status(net, 1).leadTransferee, 3)
  for (let i = 0; i < 10; i++) net.tick(1)
  assert.equal(status(net, 1).leadTransferee, 0)
  assert.deepEqual(net.node(1).propose(bytes('ok again')), { ok: true })
})

test('§3.10: transfers to self, to unknown nodes and to learners are ignored', () => {
  const net = cluster([1, 2], 1)
  net.add(3, new MemoryStorage())
  addAndApply(net, 1, 'add-learner', 3)
  for (const to of [1, 9, 3]) {
    net.node(1).transferLeader(to)
    assert.equal(status(net, 1).leadTransferee, 0, `transfer to ${to}`)
  }
})
