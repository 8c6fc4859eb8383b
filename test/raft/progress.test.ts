/** Unit tests for tracker/inflights.ts and tracker/progress.ts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Inflights } from '../../src/raft/tracker/inflights.ts'
import { Progress, SNAPSHOT_TIMEOUT_ELECTIONS } from '../../src/raft/tracker/progress.ts'

test('inflights: fills to capacity, frees up to an index, frees the oldest one', () => {
  const ins = new Inflights(3)
  ins.add(5)
  ins.add(7)
  assert.equal(ins.full(), false)
  ins.add(9)
  assert.equal(ins.full(), true)
  assert.throws(() => ins.add(11), /overflow/)
  ins.freeLE(7)
  assert.equal(ins.count, 1)
  ins.freeLE(6)
  assert.equal(ins.count, 1)
  ins.add(11)
  ins.freeFirstOne()
  assert.equal(ins.count, 1)
  ins.freeLE(100)
  assert.equal(ins.count, 0)
  assert.throws(() => new Inflights(0))
})

test('inflights: indexes must increase', () => {
  const ins = new Inflights(4)
  ins.add(5)
  assert.throws(() => ins.add(5), /not above/)
})

test('progress: a probe sends one message, then waits for an answer or a heartbeat answer', () => {
  const pr = new Progress(0, 6, 4, false)
  assert.equal(pr.state, 'probe')
  assert.equal(pr.isPaused(), false)
  pr.sentEntries(2, 7)
  assert.equal(pr.isPaused(), true)
  assert.equal(pr.next, 6, 'probing does not move next optimistically')
  pr.heartbeatAnswered()
  assert.equal(pr.isPaused(), false)
})

test('progress: maybeUpdate moves match and next; stale acks do not', () => {
  const pr = new Progress(3, 4, 4, false)
  assert.equal(pr.maybeUpdate(5), true)
  assert.equal(pr.match, 5)
  assert.equal(pr.next, 6)
  assert.equal(pr.maybeUpdate(4), false)
  assert.equal(pr.match, 5)
  assert.equal(pr.next, 6)
})

test('progress: replicate streams optimistically within the inflight window', () => {
  const pr = new Progress(5, 6, 2, false)
  pr.becomeReplicate()
  pr.sentEntries(3, 8)
  assert.equal(pr.next, 9)
  pr.sentEntries(0, 8)
  assert.equal(pr.inflights.count, 1, 'an empty append takes no slot')
  pr.sentEntries(2, 10)
  assert.equal(pr.isPaused(), true)
  pr.maybeUpdate(8)
  pr.freeInflightsLE(8)
  assert.equal(pr.isPaused(), false)
})

test('progress: a full window is unstuck by a heartbeat answer', () => {
  const pr = new Progress(0, 1, 1, false)
  pr.becomeReplicate()
  pr.sentEntries(1, 1)
  assert.equal(pr.isPaused(), true)
  pr.heartbeatAnswered()
  assert.equal(pr.isPaused(), false)
})

test('progress: maybeDecrTo in replicate falls back to match+1 and ignores stale rejections', () => {
  const pr = new Progress(5, 6, 8, false)
  pr.becomeReplicate()
  pr.sentEntries(4, 9)
  assert.equal(pr.maybeDecrTo(4, 4), false, 'rejection at or below match is stale')
  assert.equal(pr.maybeDecrTo(7, 7), true)
  assert.equal(pr.next, 6)
})

test('progress: maybeDecrTo in probe uses the hint, never below match+1, and only for the last probe', () => {
  const pr = new Progress(2, 10, 8, false)
  assert.equal(pr.maybeDecrTo(8, 4), false, 'answers an older probe')
  assert.equal(pr.maybeDecrTo(9, 4), true)
  assert.equal(pr.next, 5)
  assert.equal(pr.maybeDecrTo(4, 0), true)
  assert.equal(pr.next, 3, 'never at or below match')
})

test('progress: snapshot state pauses; becomeProbe resumes after the snapshot', () => {
  const pr = new Progress(2, 3, 8, false)
  pr.becomeSnapshot(20)
  assert.equal(pr.isPaused(), true)
  assert.equal(pr.pendingSnapshot, 20)
  assert.throws(() => pr.sentEntries(1, 3))
  pr.becomeProbe()
  assert.equal(pr.next, 21)
  assert.equal(pr.pendingSnapshot, 0)
})

test('progress: snapshot reports — success resumes after it, failure from match; both wait first', () => {
  const ok = new Progress(2, 3, 8, false)
  ok.becomeSnapshot(20)
  ok.snapshotReported(true)
  assert.deepEqual([ok.state, ok.next, ok.isPaused()], ['probe', 21, true])
  const bad = new Progress(2, 3, 8, false)
  bad.becomeSnapshot(20)
  bad.snapshotReported(false)
  assert.deepEqual([bad.state, bad.next, bad.isPaused()], ['probe', 3, true])
})

test(`progress: a snapshot unanswered for ${SNAPSHOT_TIMEOUT_ELECTIONS} election timeouts is presumed lost`, () => {
  const pr = new Progress(2, 3, 8, false)
  pr.becomeSnapshot(20)
  for (let i = 1; i < SNAPSHOT_TIMEOUT_ELECTIONS; i++) pr.electionTimeoutElapsed()
  assert.equal(pr.state, 'snapshot')
  pr.electionTimeoutElapsed()
  assert.equal(pr.state, 'probe')
  assert.equal(pr.next, 3)
})

test('progress: the compaction floor holds a snapshot in flight, then delivered, until the follower answers', () => {
  const pr = new Progress(2, 3, 8, false)
  assert.equal(pr.compactionFloor, 0)
  pr.becomeSnapshot(20)
  assert.equal(pr.compactionFloor, 20, 'in flight')
  pr.snapshotReported(true)
  assert.equal(pr.compactionFloor, 20, 'delivered, not yet installed')
  pr.maybeUpdate(19)
  assert.equal(pr.compactionFloor, 20, 'an older answer')
  pr.maybeUpdate(20)
  assert.equal(pr.compactionFloor, 0, 'installed: the follower asks for what follows from here on')

  const lost = new Progress(2, 3, 8, false)
  lost.becomeSnapshot(20)
  lost.snapshotReported(false)
  assert.equal(lost.compactionFloor, 0, 'a lost snapshot holds nothing')
})

test(`progress: a delivered snapshot unanswered for ${SNAPSHOT_TIMEOUT_ELECTIONS} election timeouts stops holding compaction`, () => {
  const pr = new Progress(2, 3, 8, false)
  pr.becomeSnapshot(20)
  pr.snapshotReported(true)
  for (let i = 1; i < SNAPSHOT_TIMEOUT_ELECTIONS; i++) pr.electionTimeoutElapsed()
  assert.equal(pr.compactionFloor, 20)
  pr.electionTimeoutElapsed()
  assert.equal(pr.compactionFloor, 0)
  assert.equal(pr.state, 'probe')
})
