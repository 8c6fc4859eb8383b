/**
 * coalesceAppends: runs of MsgApps (commit updates included) that continue one another merge
 * into one message per peer, and a follower that steps the merged message ends where stepping
 * the originals leaves it (examples, and a property over random runs).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MemoryStorage, RawNode, coalesceAppends, type Entry, type Message } from '../../src/raft/index.ts'
import { testConfig } from './network.ts'

const NO_BYTES = new Uint8Array(0)

function entry(index: number, term: number, size = 10): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(size).fill(index) }
}

function msg(over: Partial<Message> & Pick<Message, 'type' | 'to'>): Message {
  return {
    from: 1, term: 2, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, rejectHint: 0, snapshot: null, context: NO_BYTES,
    ...over,
  }
}

/** The one-entry appends a leader at term 2 sends `to` for entries from..to (after index from-1 of term 1 or 2). */
function appends(to: number, from: number, last: number, commitLag = 1): Message[] {
  const out: Message[] = []
  for (let i = from; i <= last; i++) {
    out.push(msg({ type: 'MsgApp', to, index: i - 1, logTerm: i - 1 === 1 ? 1 : 2, entries: [entry(i, 2)], commit: i - commitLag }))
  }
  return out
}

test('appends that continue one another merge per peer: first index and logTerm, all entries, last commit', () => {
  const out = coalesceAppends([...appends(2, 2, 5), ...appends(3, 2, 5)], 1 << 20)
  assert.equal(out.length, 2)
  for (const [m, to] of [[out[0], 2], [out[1], 3]] as const) {
    assert.equal(m?.to, to)
    assert.equal(m?.index, 1)
    assert.equal(m?.logTerm, 1)
    assert.deepEqual(m?.entries.map((e) => e.index), [2, 3, 4, 5])
    assert.equal(m?.commit, 4)
  }
})

test('interleaved peers still merge; another message to the same peer, a gap or a new term stops the run', () => {
  const [a2, b2] = appends(2, 2, 3)
  const [a3, b3] = appends(3, 2, 3)
  const interleaved = coalesceAppends([a2, a3, b2, b3] as Message[], 1 << 20)
  assert.deepEqual(interleaved.map((m) => [m.to, m.entries.length]), [[2, 2], [3, 2]])

  const heartbeat = msg({ type: 'MsgHeartbeat', to: 2, commit: 2 })
  const split = coalesceAppends([a2, heartbeat, b2] as Message[], 1 << 20)
  assert.deepEqual(split.map((m) => m.type), ['MsgApp', 'MsgHeartbeat', 'MsgApp'], 'order to a peer is kept')

  const gap = appends(2, 2, 4)
  assert.equal(coalesceAppends([gap[0], gap[2]] as Message[], 1 << 20).length, 2, 'not contiguous')
  const newTerm = { ...(gap[1] as Message), term: 3 }
  assert.equal(coalesceAppends([gap[0], newTerm] as Message[], 1 << 20).length, 2, 'another term')
  const elsewhere = msg({ type: 'MsgApp', to: 2, index: 3, logTerm: 2, commit: 2 })
  assert.equal(coalesceAppends([gap[0], elsewhere] as Message[], 1 << 20).length, 2, 'an empty append that does not continue')
})

test('empty appends (commit updates) merge with the appends they continue, either side', () => {
  const [a2, b3] = appends(2, 2, 3) as [Message, Message]
  // After a2 (entry 2): the commit index moves to 2, then entry 3 comes.
  const commit2 = msg({ type: 'MsgApp', to: 2, index: 2, logTerm: 2, commit: 2 })
  const merged = coalesceAppends([a2, commit2, { ...b3, commit: 2 }], 1 << 20)
  assert.equal(merged.length, 1)
  assert.deepEqual([merged[0]?.index, merged[0]?.logTerm, merged[0]?.commit], [1, 1, 2])
  assert.deepEqual(merged[0]?.entries.map((e) => e.index), [2, 3])
  // An empty one first: the append after it takes its place.
  const commit1 = msg({ type: 'MsgApp', to: 2, index: 1, logTerm: 1, commit: 1 })
  const first = coalesceAppends([commit1, { ...a2, commit: 1 }, commit2], 1 << 20)
  assert.deepEqual(first.map((m) => [m.index, m.logTerm, m.commit, m.entries.length]), [[1, 1, 2, 1]])
  // Two empty ones: the later commit index.
  assert.deepEqual(coalesceAppends([commit1, { ...commit1, commit: 2 }], 1 << 20).map((m) => m.commit), [2])
})

test('a merge that would carry more than maxBytes of entry data is not made', () => {
  const out = coalesceAppends(appends(2, 2, 7), 30) // 10 bytes per entry: 3 per message
  assert.deepEqual(out.map((m) => m.entries.map((e) => e.index)), [[2, 3, 4], [5, 6, 7]])
  assert.equal(out[1]?.index, 4)
  assert.equal(out[1]?.logTerm, 2)
})

/** A follower (id 2 of 1,2,3) that steps `messages`, then persists and reports what it did. */
function follow(messages: readonly Message[], held: readonly Entry[] = [], committed = 1): { commit: number; log: number[]; answers: number[] } {
  const storage = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] })
  storage.append(held)
  storage.setHardState({ term: 2, vote: 0, commit: committed })
  const node = new RawNode(testConfig(2, storage, { applied: 1 }))
  for (const m of messages) node.step(m)
  const rd = node.ready()
  storage.append(rd.entries)
  if (rd.hardState) storage.setHardState(rd.hardState)
  const answers = rd.messages.filter((m) => m.type === 'MsgAppResp' && !m.reject).map((m) => m.index)
  node.advance()
  return { commit: node.status().commit, log: rd.entries.map((e) => e.index), answers }
}

/**
 * Steps `original` on one follower and its coalesced form on another, both holding `held` with
 * `committed` of it; they must end with the same log and commit index.
 */
function stepBoth(original: readonly Message[], maxBytes = 1 << 20, held: readonly Entry[] = [], committed = 1) {
  const merged = coalesceAppends(original, maxBytes)
  const one = follow(original, held, committed)
  const other = follow(merged, held, committed)
  assert.deepEqual(other.log, one.log)
  assert.equal(other.commit, one.commit)
  return { merged, one, other }
}

test('a follower stepping the merged append ends with the same log and commit, and answers once with the last index', () => {
  const { merged, one, other } = stepBoth(appends(2, 2, 9, 2))
  assert.equal(merged.length, 1)
  assert.equal(one.commit, 7)
  assert.deepEqual(one.answers, [2, 3, 4, 5, 6, 7, 8, 9])
  assert.deepEqual(other.answers, [9])
})

test('a follower stepping appends merged with empty ones ends as after stepping them one by one, answering once', () => {
  const entries = appends(2, 2, 6, 2)
  // Each append followed by the commit update its acknowledgement brought.
  const original = entries.flatMap((m) => {
    const last = m.entries[0] as Entry
    return [m, msg({ type: 'MsgApp', to: 2, index: last.index, logTerm: last.term, commit: last.index - 1 })]
  })
  const { merged, one, other } = stepBoth(original)
  assert.equal(merged.length, 1)
  assert.equal(one.commit, 5)
  assert.equal(one.answers.length, original.length)
  assert.deepEqual(other.answers, [6])
})

test('a probe from below the commit index it carries is not merged with the append that continues it', () => {
  // The follower already holds 2..5, committed. A probe resent from index 1 (the leader did not
  // know yet) is answered with the commit index and its entries ignored: a follower drops an
  // append starting below its commit. Merged into it, the next append (6..7) would be dropped too.
  const held = appends(2, 2, 5, 0)
  const probe = msg({ type: 'MsgApp', to: 2, index: 1, logTerm: 1, entries: [2, 3, 4, 5].map((i) => entry(i, 2)), commit: 5 })
  const next = msg({ type: 'MsgApp', to: 2, index: 5, logTerm: 2, entries: [entry(6, 2), entry(7, 2)], commit: 5 })
  const out = coalesceAppends([probe, next], 1 << 20)
  assert.equal(out.length, 2)
  assert.deepEqual(follow([...held, ...out]).log, [2, 3, 4, 5, 6, 7])
  // What a merge would have cost: the follower stays at 5.
  const merged = { ...probe, entries: [...probe.entries, ...next.entries] }
  assert.deepEqual(follow([...held, merged]).log, [2, 3, 4, 5])
})

test('property: a follower ends as after the originals for any run of appends and commit updates from its log on', () => {
  // The follower holds 2..held (term 2) with `committed` of it; the leader sends, from `held` on,
  // appends of 0..3 entries whose commit index never passes what it has sent nor goes back.
  const run = fc.record({
    held: fc.integer({ min: 1, max: 6 }),
    committedBack: fc.integer({ min: 0, max: 5 }),
    steps: fc.array(fc.record({ k: fc.integer({ min: 0, max: 3 }), commitUp: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 8 }),
    maxBytes: fc.constantFrom(1 << 20, 25),
  })
  fc.assert(
    fc.property(run, ({ held, committedBack, steps, maxBytes }) => {
      const committed = Math.max(1, held - committedBack)
      const log: Entry[] = []
      for (let i = 2; i <= held; i++) log.push(entry(i, 2))
      let last = held
      let commit = committed
      const sent: Message[] = []
      for (const { k, commitUp } of steps) {
        const entries = Array.from({ length: k }, (_, j) => entry(last + 1 + j, 2))
        commit = Math.min(last + k, commit + commitUp)
        sent.push(msg({ type: 'MsgApp', to: 2, index: last, logTerm: last === 1 ? 1 : 2, entries, commit }))
        last += k
      }
      const { one, other } = stepBoth(sent, maxBytes, log, committed)
      assert.equal(Math.max(...other.answers), Math.max(...one.answers), 'the leader learns the same last index')
    }),
    { numRuns: 3000 },
  )
})
