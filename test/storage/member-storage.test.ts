/**
 * MemberStorage end to end on the in-memory disk (and once on the real one): save and recover,
 * group commit, checkpoints with journal rotation and log compaction, snapshots between members,
 * the data-dir lock, the identity check, and fatal I/O failures.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { NodeDisk } from '../../src/storage/disk-node.ts'
import { DiskError, LockHeldError } from '../../src/storage/disk.ts'
import type { Disk } from '../../src/storage/disk.ts'
import { SnapshotUnavailableError } from '../../src/raft/types.ts'
import { databaseSize } from '../../src/storage/database-image.ts'
import { MemberStorage } from '../../src/storage/member-storage.ts'
import { NEW_DATABASE_PAGE_BYTES, openDatabase } from '../../src/storage/checkpoint.ts'
import { MvccStore, encodeCommand } from '../../src/mvcc/index.ts'
import { putReq } from '../mvcc/helpers.ts'
import type { Database } from 'sql.js'
import type { StorageOptions } from '../../src/storage/member-storage.ts'
import { StorageFatalError, WrongClusterError } from '../../src/storage/errors.ts'
import { MeteredDisk } from '../../src/storage/metered-disk.ts'
import {
  ID,
  appliedIndex,
  applyEntries,
  kvEntries,
  kvState,
  loadSql,
  plain,
  seeded,
  tempDir,
} from './helpers.ts'

const sql = await loadSql()
const CONF = { voters: [1, 2, 3], learners: [] }

async function freshDisk(): Promise<MemoryDisk> {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  return disk
}

function open(disk: Disk, options: StorageOptions = {}, id = ID): Promise<MemberStorage> {
  return MemberStorage.open(disk, '/data/m1', id, sql, options)
}

function logOf(s: MemberStorage): [number, number, string, string][] {
  const log = s.raftLog
  return plain(log.entries(log.firstIndex(), log.lastIndex() + 1, Infinity))
}

test('what saveReady persisted is recovered after close and reopen', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await s.saveReady(kvEntries(1, 5, 1), { term: 1, vote: 1, commit: 0 }, null)
  await s.saveReady(kvEntries(4, 6, 2), { term: 2, vote: 1, commit: 4 }, null)
  const before = logOf(s)
  await s.close()
  const r = await open(disk)
  assert.deepEqual(logOf(r), before)
  assert.deepEqual(r.raftLog.initialState().hardState, { term: 2, vote: 1, commit: 4 })
  assert.deepEqual(r.recovery, { checkpointIndex: null, segments: 1, records: 3, entries: 8, tornTail: null })
  await r.close()
})

test('group commit: one journal fsync per saveReady, however many entries it carries', async () => {
  const disk = new MeteredDisk(await freshDisk(), { now: () => 0 })
  const s = await open(disk)
  const base = disk.fsyncCount
  await s.saveReady(kvEntries(1, 500, 1), { term: 1, vote: 1, commit: 0 }, null)
  assert.equal(disk.fsyncCount - base, 1)
  await s.saveReady([], { term: 1, vote: 1, commit: 500 }, null, false)
  assert.equal(disk.fsyncCount - base, 1, 'mustSync=false rides on the next fsync')
  await s.saveReady([], null, null)
  assert.equal(disk.fsyncCount - base, 1, 'an empty Ready writes nothing')
  await s.close()
})

test('a commit saved alone without sync resolves at once and is written with the next record', async () => {
  const disk = new MeteredDisk(await freshDisk(), { now: () => 0 })
  const s = await open(disk)
  await s.saveReady(kvEntries(1, 10, 1), { term: 1, vote: 1, commit: 0 }, null)
  const appended = disk.bytesAppended
  let resolved = false
  const alone = s.saveReady([], { term: 1, vote: 1, commit: 10 }, null, false).then(() => (resolved = true))
  await Promise.resolve()
  assert.equal(resolved, true, 'nothing queued: it resolved in the same turn')
  await alone
  assert.equal(disk.bytesAppended, appended, 'nothing written yet')
  assert.deepEqual(s.raftLog.initialState().hardState, { term: 1, vote: 1, commit: 10 }, 'the raft log holds it')
  await s.saveReady(kvEntries(11, 12, 1), null, null)
  await s.close()
  const r = await open(disk)
  assert.deepEqual(r.raftLog.initialState().hardState, { term: 1, vote: 1, commit: 10 }, 'recovered from that record')
  assert.equal(r.raftLog.lastIndex(), 12)
  await r.close()
})

test('a commit saved alone is written when the storage closes', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await s.saveReady(kvEntries(1, 10, 1), { term: 1, vote: 1, commit: 4 }, null)
  await s.saveReady([], { term: 1, vote: 1, commit: 10 }, null, false)
  await s.close()
  const r = await open(disk)
  assert.deepEqual(r.raftLog.initialState().hardState, { term: 1, vote: 1, commit: 10 })
  await r.close()
})

test('the fsync hook reports each fsync with its duration from the injected clock', async () => {
  let clock = 0
  const seen: string[] = []
  const disk = new MeteredDisk(await freshDisk(), {
    now: () => (clock += 2),
    onFsync: (kind, ms) => seen.push(`${kind}:${ms}`),
  })
  const s = await open(disk)
  seen.length = 0
  await s.saveReady(kvEntries(1, 1, 1), null, null)
  assert.deepEqual(seen, ['file:2'])
  await s.close()
})

/** Saves, commits and applies entries 1..n in batches of `batch`, checkpointing as the member would. */
async function run(s: MemberStorage, from: number, n: number, term: number, batch = 5): Promise<number> {
  let checkpoints = 0
  for (let i = from; i <= n; i += batch) {
    const es = kvEntries(i, Math.min(n, i + batch - 1), term)
    await s.saveReady(es, { term, vote: 1, commit: es[es.length - 1].index }, null)
    applyEntries(s.db, es)
    if (await s.maybeCheckpoint(es[es.length - 1].index, CONF)) checkpoints++
  }
  return checkpoints
}

test('checkpoints: taken every N entries, rotate the journal, drop old segments, compact the log', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 20, retainEntries: 15 })
  assert.equal(await run(s, 1, 50, 1), 2)
  assert.equal(s.checkpointIndex, 40)
  assert.equal(s.raftLog.firstIndex(), 36, 'keeps 15 entries behind the applied index, whatever the checkpoints')
  assert.deepEqual(await disk.list('/data/m1'), ['LOCK', 'checkpoint.db', 'journal-0000000000000003.log'])
  const snap = s.snapshotForFollower()
  assert.deepEqual(snap.metadata, { index: 40, term: 1, confState: CONF })
  assert.deepEqual(snap.data, await disk.read('/data/m1/checkpoint.db'))
  const state = kvState(s.db)
  const log = logOf(s)
  await s.close()

  const r = await open(disk, { checkpointEntries: 20, retainEntries: 15 })
  assert.equal(r.recovery.checkpointIndex, 40)
  assert.equal(r.recovery.entries, 10, 'only the journal after the checkpoint is replayed')
  assert.equal(appliedIndex(r.db), 40, 'MVCC state is the checkpoint; the member re-applies 41..50')
  assert.deepEqual(r.raftLog.initialState(), { hardState: { term: 1, vote: 1, commit: 50 }, confState: CONF })
  assert.deepEqual(logOf(r).slice(-10), log.slice(-10))
  applyEntries(r.db, r.raftLog.entries(41, 51, Infinity))
  assert.deepEqual(kvState(r.db), state)
  await r.close()
})

test('checkpointStagger: the first checkpoint comes that many entries early, the later ones every N after it', async () => {
  const plain = await open(await freshDisk(), { checkpointEntries: 20 })
  assert.equal(await run(plain, 1, 60, 1), 3)
  assert.equal(plain.checkpointIndex, 60)
  await plain.close()
  const staggered = await open(await freshDisk(), { checkpointEntries: 20, checkpointStagger: 10 })
  assert.equal(await run(staggered, 1, 10, 1), 1)
  assert.equal(staggered.checkpointIndex, 10, 'the first at 20 - 10')
  assert.equal(await run(staggered, 11, 60, 1), 2)
  assert.equal(staggered.checkpointIndex, 50, 'then at 30 and 50, never in step with the plain one')
  await staggered.close()

  // The bootstrap's checkpoint (at the same index on every member of a new cluster) keeps it.
  const bootstrapped = await open(await freshDisk(), { checkpointEntries: 20, checkpointStagger: 10 })
  await bootstrapped.saveReady(kvEntries(1, 1, 1), { term: 1, vote: 1, commit: 1 }, null)
  applyEntries(bootstrapped.db, kvEntries(1, 1, 1))
  assert.equal(await bootstrapped.checkpoint(1, CONF), true)
  assert.equal(await run(bootstrapped, 2, 15, 1), 1)
  assert.equal(bootstrapped.checkpointIndex, 11, 'the first periodic one at 1 + 20 - 10')
  await bootstrapped.close()

  // A leader's snapshot puts a follower in step with the leader's checkpoints: it staggers again.
  const leader = await open(await freshDisk(), { checkpointEntries: 20 })
  await run(leader, 1, 40, 1)
  const follower = await open(await freshDisk(), { checkpointEntries: 20, checkpointStagger: 10 }, { clusterId: ID.clusterId, memberId: 2 })
  assert.equal(await run(follower, 1, 10, 1), 1, 'its own first checkpoint, 10 early')
  await follower.saveReady([], { term: 1, vote: 1, commit: 40 }, leader.snapshotForFollower())
  assert.equal(follower.checkpointIndex, 40)
  assert.equal(await run(follower, 41, 50, 1), 1)
  assert.equal(follower.checkpointIndex, 50, '40 + 20 - 10')
  await follower.close()
  await leader.close()
})

test('a follower behind the compacted log makes the next maybeCheckpoint take a checkpoint; compaction spares a snapshot in flight', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 1e9, retainEntries: 3 })
  assert.equal(await run(s, 1, 30, 1), 0, 'no checkpoint by count')
  assert.equal(s.raftLog.firstIndex(), 28, 'compacted by the applied index alone')
  assert.throws(() => s.raftLog.snapshot(), SnapshotUnavailableError, 'no checkpoint covers the compacted entries')
  assert.equal(s.raftLog.snapshotWanted, true)
  assert.equal(await s.maybeCheckpoint(30, CONF), true, 'so the next call takes one')
  assert.deepEqual(s.snapshotForFollower().metadata, { index: 30, term: 1, confState: CONF })
  assert.equal(s.raftLog.snapshotWanted, false)
  assert.equal(await s.maybeCheckpoint(30, CONF), false, 'and only one')

  // A snapshot at 30 on its way to a follower: the entries after it stay until it is through.
  const es = kvEntries(31, 45, 1)
  await s.saveReady(es, { term: 1, vote: 1, commit: 45 }, null)
  applyEntries(s.db, es)
  assert.equal(await s.maybeCheckpoint(45, CONF, 30), false)
  assert.equal(s.raftLog.firstIndex(), 31, 'kept from 31 on')
  assert.equal(await s.maybeCheckpoint(45, CONF, null), false)
  assert.equal(s.raftLog.firstIndex(), 43, 'then compacted to 3 behind the applied index')
  await s.close()
})

test('a checkpoint is due once the journal holds checkpointBytes, or the database size if more', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 1e9, checkpointBytes: 300, retainEntries: 3 })
  const segment = async (): Promise<number> => {
    const names = (await disk.list('/data/m1')).filter((n) => n.startsWith('journal-'))
    return (await disk.read(`/data/m1/${names[names.length - 1]}`)).length
  }
  let waited = 0
  let taken = 0
  for (let i = 1; i <= 400; i += 5) {
    const es = kvEntries(i, i + 4, 1, 'x'.repeat(1000))
    await s.saveReady(es, { term: 1, vote: 1, commit: i + 4 }, null)
    applyEntries(s.db, es)
    const due = (await segment()) >= Math.max(300, databaseSize(s.db))
    assert.equal(await s.maybeCheckpoint(i + 4, CONF), due, `at ${i + 4}`)
    if (due) taken++
    else if ((await segment()) >= 300) waited++
  }
  assert.ok(taken >= 1, `checkpoints were taken (${taken})`)
  assert.ok(waited >= 1, 'past checkpointBytes, a checkpoint waited for the journal to reach the database size')
  await s.close()
})

test('installSnapshot: a follower takes a leader checkpoint, keeps its own term/vote and identity', async () => {
  const leaderDisk = await freshDisk()
  const leader = await open(leaderDisk, { checkpointEntries: 10 })
  await run(leader, 1, 30, 2)
  const snap = leader.snapshotForFollower()
  assert.equal(snap.metadata.index, 30)

  const fDisk = await freshDisk()
  const fid = { clusterId: ID.clusterId, memberId: 2 }
  const follower = await open(fDisk, {}, fid)
  await follower.saveReady(kvEntries(1, 3, 1), { term: 3, vote: 3, commit: 1 }, null)
  await follower.saveReady([], { term: 3, vote: 3, commit: 30 }, snap)
  assert.equal(follower.raftLog.firstIndex(), 31)
  assert.equal(follower.raftLog.lastIndex(), 30)
  assert.equal(follower.raftLog.term(30), 2)
  assert.deepEqual(kvState(follower.db), kvState(leader.db))
  await follower.saveReady(kvEntries(31, 32, 3), { term: 3, vote: 3, commit: 32 }, null)
  await follower.close()

  const again = await open(fDisk, {}, fid)
  assert.equal(again.recovery.checkpointIndex, 30)
  assert.deepEqual(again.raftLog.initialState(), {
    hardState: { term: 3, vote: 3, commit: 32 },
    confState: CONF,
  })
  assert.deepEqual(
    logOf(again).map((e) => e[0]),
    [31, 32],
  )
  assert.equal(appliedIndex(again.db), 30)
  await again.close()
  await leader.close()
})

test('a second open of a data dir that is open is refused (in-memory and on the real disk)', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await assert.rejects(open(disk), LockHeldError)
  await s.close()
  const t = await open(disk)
  await t.close()

  const { dir, cleanup } = await tempDir()
  try {
    const a = await MemberStorage.open(new NodeDisk(), `${dir}/m1`, ID, sql)
    await assert.rejects(MemberStorage.open(new NodeDisk(), `${dir}/m1`, ID, sql), LockHeldError)
    await a.close()
  } finally {
    await cleanup()
  }
})

test('a data dir of another cluster or another member is refused, naming the file and both identities', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 5 })
  await run(s, 1, 3, 1)
  await s.close()
  await assert.rejects(open(disk, {}, { clusterId: 'other', memberId: 1 }), (e: unknown) => {
    return (
      e instanceof WrongClusterError &&
      /journal-0000000000000001\.log belongs to cluster 'c-test' member 1.*cluster 'other'/.test(e.message)
    )
  })
  const t = await open(disk, { checkpointEntries: 5 })
  await run(t, 4, 12, 1)
  await t.close()
  await assert.rejects(open(disk, {}, { clusterId: 'c-test', memberId: 9 }), (e: unknown) => {
    return (
      e instanceof WrongClusterError &&
      e.message.includes('checkpoint.db belongs to') &&
      e.message.includes('member 9')
    )
  })
  const u = await open(disk)
  await u.close()
})

test('the NodeDisk end to end: save, checkpoint, close, reopen in a real temp dir', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const s = await MemberStorage.open(new NodeDisk(), `${dir}/m1`, ID, sql, { checkpointEntries: 20 })
    await run(s, 1, 45, 1)
    const log = logOf(s)
    await s.close()
    const r = await MemberStorage.open(new NodeDisk(), `${dir}/m1`, ID, sql, { checkpointEntries: 20 })
    assert.equal(r.recovery.checkpointIndex, 40)
    assert.equal(r.raftLog.firstIndex(), 41, 'the log starts after the checkpoint, which holds what came before')
    assert.deepEqual(logOf(r), log.filter(([index]) => index > 40))
    await r.close()
  } finally {
    await cleanup()
  }
})

test('a failed fsync is fatal: saveReady rejects, and so does every later call, with no retry', async () => {
  let failNext = false
  const disk = new MemoryDisk({ faults: { rand: () => (failNext ? 0 : 1), fsyncError: { num: 1, den: 2 } } })
  await disk.mkdir('/data')
  const s = await open(disk)
  await s.saveReady(kvEntries(1, 2, 1), null, null)
  failNext = true
  const err = await s.saveReady(kvEntries(3, 3, 1), null, null).catch((e: unknown) => e)
  assert.ok(err instanceof StorageFatalError, String(err))
  assert.match(err.message, /saveReady: fsync .*EIO/)
  failNext = false
  await assert.rejects(s.saveReady(kvEntries(4, 4, 1), null, null), (e: unknown) => e === err)
  await assert.rejects(s.maybeCheckpoint(2, CONF), (e: unknown) => e === err)
  assert.equal(s.raftLog.lastIndex(), 2, 'the database never saw the unsynced batch')
})

test('a write failing with ENOSPC is fatal too; after a restart nothing acknowledged is missing', async () => {
  for (let seed = 0; seed < 20; seed++) {
    const disk = new MemoryDisk({
      rand: seeded(seed),
      faults: { rand: seeded(seed + 100), writeError: { num: 1, den: 8 } },
    })
    await disk.mkdir('/data')
    let acked: ReturnType<typeof logOf> = []
    try {
      const s = await open(disk)
      for (let i = 1; i <= 40; i++) {
        await s.saveReady(kvEntries(i, i, 1), null, null)
        acked = logOf(s)
      }
      await s.close()
    } catch (err) {
      assert.ok(err instanceof StorageFatalError || err instanceof DiskError, String(err))
    }
    disk.crash()
    disk.setFaults(null)
    const r = await open(disk)
    assert.deepEqual(logOf(r).slice(0, acked.length), acked)
    await r.close()
  }
})

test('a damaged snapshot from a leader is refused without failing this member', async () => {
  const leader = await open(await freshDisk(), { checkpointEntries: 10 })
  await run(leader, 1, 10, 1)
  const snap = leader.snapshotForFollower()
  await leader.close()
  const s = await open(await freshDisk(), {}, { clusterId: ID.clusterId, memberId: 2 })
  const bad = { ...snap, data: snap.data.subarray(0, snap.data.length - 1) }
  await assert.rejects(s.saveReady([], null, bad), /snapshot at index 10 is unusable: truncated/)
  await assert.rejects(s.installSnapshot(bad), /truncated/)
  await s.saveReady(kvEntries(1, 1, 1), null, null)
  const db = await s.installSnapshot(snap)
  assert.equal(db, s.db)
  assert.equal(s.raftLog.firstIndex(), 11)
  await s.close()
})

test('a checkpoint taken for a wanted snapshot stays in the log until raft takes it, for a bounded while', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 1e9, retainEntries: 3 })
  await run(s, 1, 20, 1)
  assert.throws(() => s.raftLog.snapshot(), SnapshotUnavailableError, 'no checkpoint covers the compacted log')
  assert.equal(await s.maybeCheckpoint(20, CONF), true, 'so one is taken')
  assert.equal(s.raftLog.snapshotAwaited, true)
  // Entries keep coming before raft asks again (its next message to the follower).
  await run(s, 21, 30, 1)
  assert.equal(s.raftLog.firstIndex(), 21, 'the log is not compacted past the checkpoint meanwhile')
  assert.equal(s.raftLog.snapshot().metadata.index, 20, 'raft finds it when it asks again')
  assert.equal(s.raftLog.snapshotAwaited, false)
  await run(s, 31, 40, 1)
  assert.equal(s.raftLog.firstIndex(), 38, 'then compaction goes on as before')

  // Never asked again (the follower went away): the log holds it back for 4 × retainEntries only.
  assert.throws(() => s.raftLog.snapshot(), SnapshotUnavailableError)
  assert.equal(await s.maybeCheckpoint(40, CONF), true)
  await run(s, 41, 50, 1)
  assert.equal(s.raftLog.firstIndex(), 41, 'held back while 10 ≤ 12 entries past it')
  await run(s, 51, 60, 1)
  assert.equal(s.raftLog.firstIndex(), 58, 'then let go')
  await s.close()
})

test('a new database gets 8 KiB pages, so a 1 KiB value fits its history row; an image keeps its own page size', async () => {
  const pageSize = (db: Database): number => Number(db.exec('PRAGMA page_size')[0]?.values[0]?.[0])
  const s = await open(await freshDisk())
  assert.equal(pageSize(s.db), NEW_DATABASE_PAGE_BYTES)
  const store = new MvccStore(s.db)
  const value = 'v'.repeat(1024)
  const puts = (from: number, n: number): { index: number; data: Uint8Array }[] =>
    Array.from({ length: n }, (_, i) => ({ index: from + i, data: encodeCommand({ type: 'put', request: putReq(`k${from + i}`, value) }) }))
  store.applyBatch(puts(1, 100))
  const before = databaseSize(s.db)
  store.applyBatch(puts(101, 400))
  const perPut = (databaseSize(s.db) - before) / 400
  assert.ok(perPut < 2048, `${perPut} bytes per 1 KiB put: no overflow page for each`)
  store.close()
  await s.close()
  const old = new sql.Database()
  old.exec('PRAGMA page_size=4096; CREATE TABLE t (x)')
  const reopened = openDatabase(sql, old.export(), 'old.db')
  assert.equal(pageSize(reopened), 4096)
  reopened.close()
  old.close()
})
