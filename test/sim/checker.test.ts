/**
 * The safety checkers on hand-made histories: a clean one passes, and each rule catches its violation.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry } from '../../src/raft/types.ts'
import { Checker, type Rule } from './checker.ts'
import { emptyImage } from './sim-disk.ts'

const enc = new TextEncoder()

function e(index: number, term: number, data = `d${index}.${term}`): Entry {
  return { index, term, type: 'normal', data: enc.encode(data) }
}

function log(...terms: number[]): Entry[] {
  return terms.map((t, i) => e(i + 1, t))
}

function fresh(): { c: Checker; rules: () => Rule[] } {
  const c = new Checker(0xabc, () => 42)
  return { c, rules: () => c.violations.map((v) => v.rule) }
}

test('a clean history: replication, commit, apply, a snapshot install, a read', () => {
  const { c, rules } = fresh()
  c.leader(1, 1)
  for (const id of [1, 2, 3]) c.logAppended(id, log(1, 1, 1))
  c.committed(1, 3)
  c.committed(2, 2)
  c.logInSync(1)
  c.applied(1, e(1, 1), 11)
  c.applied(2, e(1, 1), 11)
  c.installed(3, 1, 11)
  c.readIssued('r1')
  c.readState(1, { index: 3, ctx: enc.encode('r1') })
  c.leader(2, 2)
  c.logAppended(2, [e(4, 2)])
  c.logInSync(2)
  c.logAppended(3, [e(4, 2), e(5, 2)])
  c.logAppended(3, [e(5, 2)])
  c.logSnapshot(1, 4, 2)
  c.committed(1, 4)
  assert.deepEqual(rules(), [])
  assert.equal(c.maxCommitted, 4)
})

test('election-safety: two leaders in one term, even across a crash', () => {
  const { c, rules } = fresh()
  c.leader(1, 3)
  c.recovered(1, emptyImage())
  c.leader(1, 3)
  assert.deepEqual(rules(), [])
  c.leader(2, 3)
  assert.deepEqual(rules(), ['election-safety'])
  const v = c.violations[0]
  assert.deepEqual(v?.nodes, [1, 2])
  assert.equal(v?.seed, 0xabc)
  assert.equal(v?.time, 42)
})

test('log-matching: the same (index, term) ending different logs', () => {
  const { c, rules } = fresh()
  c.logAppended(1, [e(1, 1, 'a'), e(2, 2, 'x')])
  c.logAppended(2, [e(1, 2, 'b'), e(2, 2, 'x')])
  assert.deepEqual(rules(), ['log-matching'])
})

test('log-matching: same index and term, different data', () => {
  const { c, rules } = fresh()
  c.logAppended(1, [e(1, 1, 'a')])
  c.logAppended(2, [e(1, 1, 'b')])
  assert.deepEqual(rules(), ['log-matching'])
})

test('leader-completeness: a new leader without a committed entry', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1, 1))
  c.logAppended(2, log(1, 1, 1))
  c.committed(1, 3)
  c.logAppended(3, log(1))
  c.leader(3, 2)
  c.logAppended(3, [e(2, 2)])
  assert.deepEqual(rules(), [])
  c.logInSync(3)
  assert.deepEqual(rules(), ['leader-completeness'])
})

test('state-machine-safety: different states after the same index, or applying beyond commit', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1))
  c.committed(1, 2)
  c.applied(1, e(1, 1), 100)
  c.installed(2, 1, 101)
  assert.deepEqual(rules(), ['state-machine-safety'])
  c.applied(1, e(3, 1), 102)
  assert.deepEqual(rules(), ['state-machine-safety', 'state-machine-safety'])
})

test('committed-durability: a committed entry overwritten on a node that held it', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1, 1))
  c.logAppended(2, log(1, 1, 1))
  c.committed(1, 2)
  c.logAppended(2, [e(3, 2)])
  assert.deepEqual(rules(), [], 'replacing the uncommitted entry 3 is fine')
  c.logAppended(2, [e(2, 3)])
  assert.deepEqual(rules(), ['committed-durability'])
})

test('committed-durability: two nodes committing different entries at one index', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1))
  c.logAppended(2, log(1, 2))
  c.committed(1, 2)
  c.committed(2, 1)
  assert.deepEqual(rules(), [])
  c.committed(2, 2)
  assert.deepEqual(rules(), ['committed-durability'])
})

test('committed-durability: a snapshot dropping committed entries, a commit beyond the log', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1, 1))
  c.committed(1, 3)
  c.logSnapshot(1, 2, 1)
  assert.deepEqual(rules(), ['committed-durability'])
  c.committed(2, 5)
  assert.deepEqual(rules(), ['committed-durability', 'committed-durability'])
})

test('a crash losing unsynced entries is not a violation; the recovered log is checked again', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1, 1))
  c.recovered(1, { ...emptyImage(), entries: log(1), hardState: { term: 1, vote: 1, commit: 1 } })
  c.logAppended(1, [e(2, 2)])
  assert.deepEqual(rules(), [])
})

test('read-linearizability: a read index below what was committed when the read was issued', () => {
  const { c, rules } = fresh()
  c.logAppended(1, log(1, 1, 1))
  c.committed(1, 3)
  c.readIssued('r7')
  c.readState(2, { index: 3, ctx: enc.encode('r7') })
  assert.deepEqual(rules(), [])
  c.readState(2, { index: 2, ctx: enc.encode('r7') })
  assert.deepEqual(rules(), ['read-linearizability'])
})
