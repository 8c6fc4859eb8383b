/**
 * Recovery from damaged or incomplete data dirs: a flipped byte mid-journal stops with the file
 * and offset, a torn tail is cut off, a truncated or corrupt checkpoint is a clear error, a
 * missing journal after a checkpoint is fine, missing pieces are named. A failed open releases
 * the lock (the same error again, not "locked").
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { MemberStorage } from '../../src/storage/member-storage.ts'
import { CheckpointCorruptError, DataDirError, JournalCorruptError } from '../../src/storage/errors.ts'
import { FRAME_HEADER } from '../../src/storage/journal-format.ts'
import { ID, appliedIndex, applyEntries, kvEntries, kvState, loadSql, plain } from './helpers.ts'

const sql = await loadSql()
const DIR = '/data/m1'
const SEG1 = `${DIR}/journal-0000000000000001.log`
const CONF = { voters: [1], learners: [] }

async function filled(n: number, checkpointEntries = 1e9): Promise<{ disk: MemoryDisk; log: unknown }> {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  const s = await MemberStorage.open(disk, DIR, ID, sql, { checkpointEntries })
  for (let i = 1; i <= n; i++) {
    await s.saveReady(kvEntries(i, i, 1), { term: 1, vote: 1, commit: i }, null)
    applyEntries(s.db, kvEntries(i, i, 1))
    await s.maybeCheckpoint(i, CONF)
  }
  const log = plain(s.raftLog.entries(s.raftLog.firstIndex(), s.raftLog.lastIndex() + 1, Infinity))
  await s.close()
  return { disk, log }
}

const reopen = (disk: MemoryDisk): Promise<MemberStorage> => MemberStorage.open(disk, DIR, ID, sql)
const logOf = (s: MemberStorage): unknown =>
  plain(s.raftLog.entries(s.raftLog.firstIndex(), s.raftLog.lastIndex() + 1, Infinity))

/** Offsets of the records in a segment, read from the length fields. */
function recordOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: number[] = []
  for (let o = 0; o < bytes.length; o += FRAME_HEADER + view.getUint32(o, true)) out.push(o)
  return out
}

test('a flipped byte in the middle of the journal stops recovery with the file and the offset', async () => {
  const { disk } = await filled(10)
  const offsets = recordOffsets(disk.peek(SEG1)!)
  const victim = offsets[5]
  disk.corrupt(SEG1, victim + FRAME_HEADER + 3, new Uint8Array([0xee]))
  for (let attempt = 0; attempt < 2; attempt++) {
    await assert.rejects(reopen(disk), (e: unknown) => {
      assert.ok(e instanceof JournalCorruptError, String(e))
      assert.equal(e.file, SEG1)
      assert.equal(e.offset, victim)
      assert.match(
        e.message,
        new RegExp(`journal ${SEG1} is corrupt at offset ${victim}: record checksum mismatch`),
      )
      return true
    })
  }
})

test('a flipped length field is corruption too (never read as a torn tail)', async () => {
  const { disk } = await filled(10)
  const offsets = recordOffsets(disk.peek(SEG1)!)
  disk.corrupt(SEG1, offsets[3], new Uint8Array([0xff, 0xff]))
  await assert.rejects(
    reopen(disk),
    (e: unknown) => e instanceof JournalCorruptError && e.offset === offsets[3],
  )
})

test('a torn last record is discarded, the file cut to the last good record, and writing resumes', async () => {
  const { disk, log } = await filled(10)
  const good = disk.peek(SEG1)!
  const offsets = recordOffsets(good)
  const lastRecord = good.subarray(offsets[offsets.length - 1])
  for (const cut of [1, 7, FRAME_HEADER, lastRecord.length - 1]) {
    const d = new MemoryDisk()
    await d.mkdir(DIR)
    await d.append(SEG1, good)
    await d.append(SEG1, lastRecord.subarray(0, cut)) // a second copy of the last record, torn
    await d.fsync(SEG1)
    const s = await reopen(d)
    assert.match(s.recovery.tornTail ?? '', /incomplete record/)
    assert.deepEqual(logOf(s), log)
    assert.equal(d.peek(SEG1)!.length, good.length, 'truncated to the last good record')
    await s.saveReady(kvEntries(11, 11, 1), null, null)
    await s.close()
    const again = await reopen(d)
    assert.equal(again.recovery.tornTail, null)
    assert.equal(again.raftLog.lastIndex(), 11)
    await again.close()
  }
})

test('a truncated checkpoint is a clear error naming the file; so is a flipped byte in it', async () => {
  const { disk } = await filled(12, 5)
  const path = `${DIR}/checkpoint.db`
  const bytes = disk.peek(path)!
  await disk.writeAtomic(path, bytes.subarray(0, bytes.length - 1000))
  await assert.rejects(reopen(disk), (e: unknown) => {
    return (
      e instanceof CheckpointCorruptError &&
      e.file === path &&
      /truncated: \d+ of \d+ database bytes/.test(e.message)
    )
  })
  await disk.writeAtomic(path, bytes.subarray(0, 10))
  await assert.rejects(reopen(disk), /truncated: 10 bytes, no header/)
  const flipped = bytes.slice()
  flipped[bytes.length - 7] ^= 0x10
  await disk.writeAtomic(path, flipped)
  await assert.rejects(reopen(disk), /checkpoint \/data\/m1\/checkpoint.db is unusable: checksum mismatch/)
  await disk.writeAtomic(path, bytes)
  const s = await reopen(disk)
  await s.close()
})

test('a missing journal after a checkpoint is fine: the state is the checkpoint', async () => {
  const { disk } = await filled(12, 5)
  for (const name of await disk.list(DIR))
    if (name.startsWith('journal-')) await disk.remove(`${DIR}/${name}`)
  const s = await reopen(disk)
  assert.equal(s.recovery.checkpointIndex, 10)
  assert.equal(appliedIndex(s.db), 10)
  assert.equal(s.raftLog.lastIndex(), 10)
  assert.deepEqual(kvState(s.db)['k3'], 'v10')
  await s.saveReady(kvEntries(11, 11, 1), null, null)
  await s.close()
  const again = await reopen(disk)
  assert.equal(again.raftLog.lastIndex(), 11)
  await again.close()
})

test('journal segments without the checkpoint they follow are refused', async () => {
  const { disk } = await filled(12, 5)
  await disk.remove(`${DIR}/checkpoint.db`)
  await assert.rejects(
    reopen(disk),
    (e: unknown) => e instanceof DataDirError && /checkpoint\.db is missing/.test(e.message),
  )
})

test('an older checkpoint whose journal segment is gone is refused, naming the segment', async () => {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  const s = await MemberStorage.open(disk, DIR, ID, sql, { checkpointEntries: 5 })
  let firstCheckpoint: Uint8Array | undefined
  for (let i = 1; i <= 12; i++) {
    await s.saveReady(kvEntries(i, i, 1), { term: 1, vote: 1, commit: i }, null)
    applyEntries(s.db, kvEntries(i, i, 1))
    if ((await s.maybeCheckpoint(i, CONF)) && firstCheckpoint === undefined)
      firstCheckpoint = disk.peek(`${DIR}/checkpoint.db`)
  }
  await s.close()
  await disk.writeAtomic(`${DIR}/checkpoint.db`, firstCheckpoint!)
  await assert.rejects(reopen(disk), /journal-0000000000000002\.log is missing/)
})

test('a temp file left by an interrupted checkpoint is removed on open', async () => {
  const { disk } = await filled(3)
  await disk.append(`${DIR}/checkpoint.db.tmp`, new Uint8Array(100))
  const s = await reopen(disk)
  assert.deepEqual(await disk.list(DIR), ['LOCK', 'journal-0000000000000001.log'])
  await s.close()
})
