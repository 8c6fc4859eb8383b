/**
 * RaftLog: raft's LogStorage, held in memory and written to the raft_* tables at checkpoints — the
 * LogStorage invariants, conflicting appends, compaction keeping the term of the compact point,
 * snapshots, and a log reloaded from the tables a checkpoint wrote.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RaftLog } from '../../src/storage/raft-log.ts'
import { CompactedError, SnapshotUnavailableError, UnavailableError } from '../../src/raft/types.ts'
import { entries, entry, loadSql, plain } from './helpers.ts'

const sql = await loadSql()

test('a fresh log is empty: first 1, last 0, term(0) = 0, zero hard state and empty membership', () => {
  const log = new RaftLog(new sql.Database())
  assert.equal(log.firstIndex(), 1)
  assert.equal(log.lastIndex(), 0)
  assert.equal(log.term(0), 0)
  assert.deepEqual(log.initialState(), {
    hardState: { term: 0, vote: 0, commit: 0 },
    confState: { voters: [], learners: [] },
  })
  assert.throws(() => log.term(1), UnavailableError)
  assert.deepEqual(log.entries(1, 1, 100), [])
  assert.equal(log.snapshot().metadata.index, 0)
  assert.equal(log.snapshotWanted, false)
})

test('append, then a conflicting append replaces the tail from its first index', () => {
  const log = new RaftLog(new sql.Database())
  log.append(entries(1, 5, 1))
  log.append(entries(4, 6, 2))
  assert.equal(log.lastIndex(), 6)
  assert.deepEqual(
    plain(log.entries(1, 7, Infinity)).map((e) => e[1]),
    [1, 1, 1, 2, 2, 2],
  )
  log.append(entries(3, 3, 3))
  assert.equal(log.lastIndex(), 3)
  assert.equal(log.term(3), 3)
  assert.throws(() => log.append(entries(5, 6, 3)), /gap/)
})

test('entries honours maxBytes but always returns at least one entry', () => {
  const log = new RaftLog(new sql.Database())
  log.append([1, 2, 3, 4].map((i) => entry(i, 1, 'x'.repeat(10))))
  assert.equal(log.entries(1, 5, 0).length, 1)
  assert.equal(log.entries(1, 5, 25).length, 2)
  assert.equal(log.entries(1, 5, 40).length, 4)
  assert.equal(log.entries(2, 5, 20).length, 2)
})

test('compact keeps the term of the compact point and answers CompactedError below it', () => {
  const log = new RaftLog(new sql.Database())
  log.append([...entries(1, 3, 1), ...entries(4, 6, 2)])
  log.compact(4)
  assert.equal(log.firstIndex(), 5)
  assert.equal(log.term(4), 2)
  assert.throws(() => log.term(3), CompactedError)
  assert.throws(() => log.entries(4, 6, Infinity), CompactedError)
  assert.deepEqual(
    plain(log.entries(5, 7, Infinity)).map((e) => e[0]),
    [5, 6],
  )
  assert.throws(() => log.snapshot(), SnapshotUnavailableError, 'no checkpoint reaches the compact point')
  assert.equal(log.snapshotWanted, true, 'and the storage is told to take one')
  log.compact(2)
  assert.equal(log.firstIndex(), 5, 'compacting below the compact point is a no-op')
  assert.throws(() => log.compact(9), UnavailableError)
  log.append(entries(3, 7, 3))
  assert.equal(log.lastIndex(), 7, 'entries at or below the compact point are skipped')
  assert.equal(log.term(5), 3)
})

test('applySnapshot discards the log and moves commit up to the snapshot', () => {
  const log = new RaftLog(new sql.Database())
  log.append(entries(1, 5, 1))
  log.setHardState({ term: 1, vote: 2, commit: 3 })
  log.applySnapshot({ index: 10, term: 4, confState: { voters: [1, 2, 3], learners: [] } })
  assert.equal(log.firstIndex(), 11)
  assert.equal(log.lastIndex(), 10)
  assert.equal(log.term(10), 4)
  assert.deepEqual(log.initialState(), {
    hardState: { term: 1, vote: 2, commit: 10 },
    confState: { voters: [1, 2, 3], learners: [] },
  })
})

const CONF = { voters: [1, 2], learners: [5] }

test('a checkpoint writes the tables: reloaded, the log starts right after it, with its state', () => {
  const db = new sql.Database()
  const log = new RaftLog(db)
  log.append(entries(1, 9, 3))
  log.compact(4)
  log.setHardState({ term: 3, vote: 1, commit: 8 })
  log.setConfState(CONF)
  log.setIdentity({ clusterId: 'c', memberId: 2 })
  const meta = { index: 6, term: 3, confState: CONF, journalFrom: 7 }
  log.persist(meta)
  assert.equal(log.firstIndex(), 5, 'the log in memory keeps what it held')
  log.setHardState({ term: 4, vote: 2, commit: 9 })
  log.append(entries(10, 10, 4))

  const again = new RaftLog(new sql.Database(db.export()))
  assert.equal(again.firstIndex(), 7)
  assert.equal(again.term(6), 3)
  assert.equal(again.lastIndex(), 9, 'what came after the checkpoint is not in the tables')
  assert.deepEqual(plain(again.entries(7, 10, Infinity)), plain(log.entries(7, 10, Infinity)))
  assert.deepEqual(again.initialState(), { hardState: { term: 3, vote: 1, commit: 8 }, confState: CONF })
  assert.deepEqual(again.identity(), { clusterId: 'c', memberId: 2 })
  assert.deepEqual(again.checkpointMeta(), meta)
})

test('nothing but the identity reaches the tables before a checkpoint', () => {
  const db = new sql.Database()
  const log = new RaftLog(db)
  log.append(entries(1, 3, 1))
  log.setHardState({ term: 1, vote: 1, commit: 3 })
  log.setIdentity({ clusterId: 'c', memberId: 1 })
  const again = new RaftLog(new sql.Database(db.export()))
  assert.equal(again.lastIndex(), 0)
  assert.deepEqual(again.initialState().hardState, { term: 0, vote: 0, commit: 0 })
  assert.equal(again.checkpointMeta(), null)
  assert.deepEqual(again.identity(), { clusterId: 'c', memberId: 1 })
})

test('a checkpoint outside the log is refused, and the tables are left as they were', () => {
  const db = new sql.Database()
  const log = new RaftLog(db)
  log.append(entries(1, 5, 1))
  log.persist({ index: 2, term: 1, confState: CONF, journalFrom: 2 })
  log.compact(3)
  assert.throws(() => log.persist({ index: 2, term: 1, confState: CONF, journalFrom: 3 }), /outside the log/)
  assert.throws(() => log.persist({ index: 6, term: 1, confState: CONF, journalFrom: 3 }), /outside the log/)
  assert.equal(new RaftLog(new sql.Database(db.export())).checkpointMeta()?.index, 2)
})

test('tables whose entries are not contiguous are refused on load', () => {
  const db = new sql.Database()
  const log = new RaftLog(db)
  log.append(entries(1, 5, 1))
  log.persist({ index: 1, term: 1, confState: CONF, journalFrom: 2 })
  db.exec('DELETE FROM raft_wal WHERE idx = 3')
  assert.throws(() => new RaftLog(db), /raft_wal holds entry 4 after 2/)
})

test('property: the log, checkpointed and reloaded at random, answers like a plain array model', () => {
  type Op =
    | { kind: 'append'; back: number; n: number; term: number }
    | { kind: 'compact'; back: number }
    | { kind: 'reload'; back: number }
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      back: fc.nat(6),
      n: fc.integer({ min: 1, max: 8 }),
      term: fc.nat(3),
    }),
    fc.record({ kind: fc.constant('compact' as const), back: fc.nat(10) }),
    fc.record({ kind: fc.constant('reload' as const), back: fc.nat(10) }),
  )
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
      let db = new sql.Database()
      let log = new RaftLog(db)
      let model: { index: number; term: number }[] = []
      let compacted = { index: 0, term: 0 }
      let term = 1
      for (const o of ops) {
        const last = compacted.index + model.length
        if (o.kind === 'append') {
          term += o.term
          const from = Math.max(compacted.index + 1, last + 1 - o.back)
          const es = entries(from, from + o.n - 1, term)
          log.append(es)
          model = model
            .slice(0, from - compacted.index - 1)
            .concat(es.map((e) => ({ index: e.index, term: e.term })))
        } else if (o.kind === 'compact') {
          const at = last - o.back
          if (at <= compacted.index) continue
          log.compact(at)
          compacted = { index: at, term: model[at - compacted.index - 1].term }
          model = model.filter((e) => e.index > at)
        } else {
          // A checkpoint at `at`, then a restart from its image: the log starts right after it.
          const at = Math.max(compacted.index, last - o.back)
          const term = at === compacted.index ? compacted.term : model[at - compacted.index - 1].term
          log.persist({ index: at, term, confState: { voters: [1], learners: [] }, journalFrom: 1 })
          db = new sql.Database(db.export())
          log = new RaftLog(db)
          compacted = { index: at, term }
          model = model.filter((e) => e.index > at)
        }
        assert.equal(log.firstIndex(), compacted.index + 1)
        assert.equal(log.lastIndex(), compacted.index + model.length)
        assert.equal(log.term(compacted.index), compacted.term)
        const got = log.entries(log.firstIndex(), log.lastIndex() + 1, Infinity).map((e) => [e.index, e.term])
        assert.deepEqual(
          got,
          model.map((e) => [e.index, e.term]),
        )
        for (const e of model) assert.equal(log.term(e.index), e.term)
      }
    }),
  )
})

test("rebind to a leader's snapshot database loads nothing from its raft tables", () => {
  const leaderDb = new sql.Database()
  const leader = new RaftLog(leaderDb)
  leader.append(entries(1, 9, 2))
  leader.setHardState({ term: 2, vote: 7, commit: 9 })
  leader.persist({ index: 5, term: 2, confState: CONF, journalFrom: 3 })
  leaderDb.exec('DELETE FROM raft_wal WHERE idx = 7') // rows a fresh load would refuse
  const log = new RaftLog(new sql.Database())
  log.append(entries(1, 3, 1))
  log.setHardState({ term: 1, vote: 1, commit: 3 })
  log.rebind(new sql.Database(leaderDb.export()))
  assert.deepEqual(log.hardState(), { term: 1, vote: 1, commit: 3 }, "this member's hard state, not the leader's")
  log.applySnapshot({ index: 5, term: 2, confState: CONF })
  assert.equal(log.firstIndex(), 6)
  assert.equal(log.lastIndex(), 5)
  assert.equal(log.term(5), 2)
  assert.deepEqual(log.hardState(), { term: 1, vote: 1, commit: 5 })
})
