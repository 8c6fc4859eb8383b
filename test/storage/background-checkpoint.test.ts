/**
 * Issue #8 (p99 latency): a checkpoint holds saveReady up only for its export and journal
 * rotation; its file is written in the background while saveReady keeps appending (durably) to
 * the new segment. Checked here with a disk whose writeAtomic (and steps inside it) can be held:
 * - saveReady calls complete, fsynced, while the checkpoint's file write is held; the checkpoint
 *   is not reported durable, nor offered as the snapshot, nor the log compacted, until it is;
 * - a crash at each point (write held, temp file written, rename not yet synced, before the old
 *   segments are removed, after) recovers every acknowledged entry, from the newest durable
 *   checkpoint plus the journal replayed after it;
 * - two checkpoint writes never overlap; installSnapshot and close wait for one under way;
 * - a failure of the background write is the storage's one fatal error, for every call;
 * - the copy and checksum of a large image (no longer made while saveReady waits) are made a slice
 *   per event-loop turn, so they do not stall journal fsyncs either.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CRC_SLICE, checkpointFile, checkpointHeader, decodeCheckpoint, type ImageSource } from '../../src/storage/checkpoint.ts'
import { databaseSize } from '../../src/storage/database-image.ts'
import { DiskError, LockHeldError, collectBytes } from '../../src/storage/disk.ts'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { StorageFatalError } from '../../src/storage/errors.ts'
import { MemberStorage } from '../../src/storage/member-storage.ts'
import type { Entry, HardState, RandomInt, Snapshot } from '../../src/raft/types.ts'
import { GatedDisk } from './gated-disk.ts'
import { ID, appliedIndex, applyEntries, entry, kvEntries, kvState, loadSql, plain, seeded } from './helpers.ts'

const sql = await loadSql()
const DIR = '/data/m1'
const CKPT = `${DIR}/checkpoint.db`
const CONF = { voters: [1, 2, 3], learners: [] }
const OPTIONS = { checkpointEntries: 10, retainEntries: 3 }
const isSegment = (path: string): boolean => /\/journal-\d+\.log$/.test(path)

async function gatedDisk(): Promise<GatedDisk> {
  const disk = new GatedDisk()
  await disk.memory.mkdir('/data')
  return disk
}

function open(disk: GatedDisk | MemoryDisk): Promise<MemberStorage> {
  return MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
}

/** `p`, or a failed assertion `what` if it has not settled within `ms`. */
async function within<T>(p: Promise<T>, what: string, ms = 1000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what}: not done after ${ms} ms` })), ms)
  })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Lets every pending promise and immediate run a while (nothing here waits on real time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
}

/** Whether `p` has settled, observed without consuming its outcome. */
function tracked<T>(p: Promise<T>): { readonly promise: Promise<T>; readonly settled: () => boolean } {
  let done = false
  p.then(
    () => (done = true),
    () => (done = true),
  )
  return { promise: p, settled: () => done }
}

/** maybeCheckpoint(`index`) with its file write held; resolves once the write is reached (`what`). */
async function checkpointHeldAtWrite(
  disk: GatedDisk,
  s: MemberStorage,
  index: number,
  what: string,
): Promise<{ readonly write: ReturnType<GatedDisk['holdCall']>; readonly ck: ReturnType<typeof tracked<boolean>> }> {
  const write = disk.holdCall('writeAtomic', (p) => p === CKPT)
  const ck = tracked(s.maybeCheckpoint(index, CONF))
  await within(write.reached, what)
  return { write, ck }
}

/** What the member knows: every entry whose saveReady resolved, and the last hard state saved. */
class Acked {
  log: Entry[] = []
  hs: HardState = { term: 0, vote: 0, commit: 0 }

  /** Saves, commits and applies entries from..to in one Ready, as the member would. */
  async save(s: MemberStorage, from: number, to: number, what: string): Promise<void> {
    const es = kvEntries(from, to, 1)
    const hs = { term: 1, vote: 1, commit: to }
    await within(s.saveReady(es, hs, null), what)
    this.log = [...this.log.filter((e) => e.index < from), ...es]
    this.hs = hs
    applyEntries(s.db, es)
  }

  /** The KV state after applying entries 1..upTo. */
  kvAt(upTo: number): Record<string, string> {
    const scratch = new sql.Database()
    try {
      applyEntries(scratch, this.log.filter((e) => e.index <= upTo))
      return kvState(scratch)
    } finally {
      scratch.close()
    }
  }
}

/**
 * Recovers and checks: the checkpoint loaded is one of `checkpoints` (the newest durable one), every
 * acknowledged entry and the last hard state are there, the MVCC state is the checkpoint's, and
 * replaying the log after it gives the state from before the crash. Returns the recovered storage.
 */
async function recoverAndCheck(
  disk: GatedDisk,
  acked: Acked,
  checkpoints: readonly number[],
  kvBefore: Record<string, string>,
): Promise<MemberStorage> {
  const r = await open(disk)
  const ckpt = r.recovery.checkpointIndex ?? 0
  assert.ok(checkpoints.includes(ckpt), `recovered checkpoint ${ckpt}, expected one of ${checkpoints.join(', ')}`)
  const log = r.raftLog
  const last = acked.log[acked.log.length - 1]?.index ?? 0
  assert.equal(log.lastIndex(), last, 'the log ends at the last acknowledged entry')
  assert.ok(log.firstIndex() <= ckpt + 1, `the log holds every entry after checkpoint ${ckpt}`)
  assert.deepEqual(
    plain(log.entries(log.firstIndex(), last + 1, Infinity)),
    plain(acked.log.filter((e) => e.index >= log.firstIndex())),
    'every acknowledged entry is recovered, unchanged',
  )
  assert.deepEqual(log.initialState().hardState, acked.hs, 'the last acknowledged hard state')
  assert.equal(appliedIndex(r.db), ckpt, 'the MVCC state is the checkpoint')
  assert.deepEqual(kvState(r.db), acked.kvAt(ckpt), "the checkpoint holds exactly its index's state")
  // The member re-applies the committed log after the checkpoint: on a scratch copy here.
  const replay = new sql.Database()
  applyEntries(replay, [])
  for (const [k, v] of Object.entries(kvState(r.db))) replay.run('INSERT INTO mvcc_kv (k, v) VALUES (?, ?)', [k, v])
  applyEntries(replay, log.entries(ckpt + 1, last + 1, Infinity))
  assert.deepEqual(kvState(replay), kvBefore, 'checkpoint + replay = the state before the crash')
  replay.close()
  return r
}

/** Where the crash comes, relative to the checkpoint at 30 whose file write is held. */
type CrashPoint = 'write held' | 'temp file written' | 'rename not synced' | 'before segment removal' | 'after'

/**
 * Checkpoint 20 durable, entries to 30 applied; checkpoint 30 starts and its writeAtomic is held;
 * saveReady calls complete meanwhile; the write is let on to `point`, more saves, then a crash
 * (`rand`: what unsynced data survives; null = none) and recovery.
 */
async function crashDuringCheckpoint(point: CrashPoint, rand: RandomInt | null): Promise<number> {
  const disk = await gatedDisk()
  const s = await open(disk)
  const acked = new Acked()
  await acked.save(s, 1, 20, 'saveReady 1..20')
  assert.equal(await s.checkpoint(20, CONF), true)
  await acked.save(s, 21, 30, 'saveReady 21..30')
  const firstIndex = s.raftLog.firstIndex()

  const { write, ck } = await checkpointHeldAtWrite(disk, s, 30, 'the checkpoint reaches its file write')
  for (let i = 31; i <= 40; i += 2)
    await acked.save(s, i, i + 1, `saveReady ${i}..${i + 1} completes while the checkpoint's file write is held`)
  await settle()
  assert.equal(ck.settled(), false, 'a checkpoint whose file write is held is not reported durable')
  assert.equal(s.checkpointIndex, 20, 'nor counted as durable')
  assert.equal(s.snapshotForFollower().metadata.index, 20, 'nor offered to followers')
  assert.equal(s.raftLog.firstIndex(), firstIndex, 'nor is the log compacted to it')

  const durable: number[] = []
  if (point === 'write held') {
    durable.push(20)
  } else if (point === 'temp file written' || point === 'rename not synced') {
    const rename = disk.holdStep('rename', (p) => p === CKPT)
    write.release()
    await within(rename.reached, 'the write reaches its rename')
    if (point === 'rename not synced') {
      const sync = disk.holdStep('fsyncDir', (p) => p === DIR)
      rename.release()
      await within(sync.reached, 'the write reaches the fsyncDir after its rename')
    }
    await acked.save(s, 41, 43, `saveReady completes at "${point}"`)
    assert.equal(ck.settled(), false, `at "${point}" the checkpoint is not durable yet`)
    // The worst case (no unsynced name change survives) loses the rename; a drawn crash may keep it.
    durable.push(20)
    if (point === 'rename not synced' && rand !== null) durable.push(30)
  } else if (point === 'before segment removal') {
    const removal = disk.holdCall('remove', isSegment)
    write.release()
    await within(removal.reached, 'the checkpoint reaches the removal of the old segments')
    await acked.save(s, 41, 43, 'saveReady completes before the old segments are removed')
    assert.equal(ck.settled(), false, 'the checkpoint resolves only after the old segments are gone')
    durable.push(30)
  } else {
    write.release()
    assert.equal(await within(ck.promise, 'the released checkpoint completes'), true)
    assert.equal(s.checkpointIndex, 30, 'durable now')
    assert.equal(s.snapshotForFollower().metadata.index, 30, 'and offered to followers')
    assert.equal(s.raftLog.firstIndex(), firstIndex, 'a checkpoint does not compact the log (the applied index does)')
    assert.deepEqual(
      (await disk.memory.list(DIR)).filter((n) => n.startsWith('journal-')),
      ['journal-0000000000000003.log'],
      'only the segment after it is left',
    )
    await acked.save(s, 41, 43, 'saveReady after the checkpoint')
    durable.push(30)
  }

  const kvBefore = kvState(s.db)
  disk.crash(rand)
  const r = await recoverAndCheck(disk, acked, durable, kvBefore)
  const recovered = r.recovery.checkpointIndex ?? 0
  // The recovered dir keeps working: more entries, a checkpoint (a rotation past the segments
  // the crash left), a clean reopen.
  const last = r.raftLog.lastIndex()
  applyEntries(r.db, r.raftLog.entries((r.recovery.checkpointIndex ?? 0) + 1, last + 1, Infinity))
  await acked.save(r, last + 1, last + 7, 'saveReady after recovery')
  assert.equal(await within(r.checkpoint(last + 7, CONF), 'a checkpoint after recovery'), true)
  const kvAfter = kvState(r.db)
  await r.close()
  const again = await recoverAndCheck(disk, acked, [last + 7], kvAfter)
  await again.close()
  return recovered
}

for (const point of [
  'write held',
  'temp file written',
  'rename not synced',
  'before segment removal',
  'after',
] as const) {
  test(`saveReady completes while a checkpoint's file is written; a crash at "${point}" loses nothing acknowledged`, async () => {
    await crashDuringCheckpoint(point, null)
    const seen = new Set<number>()
    for (let seed = 1; seed <= 8; seed++) seen.add(await crashDuringCheckpoint(point, seeded(seed)))
    if (point === 'rename not synced')
      assert.deepEqual([...seen].sort(), [20, 30], 'the drawn crashes both lose and keep the rename')
  })
}

test('a checkpoint due while one is being written is deferred, not queued; checkpoint() waits; writes never overlap', async () => {
  const disk = await gatedDisk()
  const s = await open(disk)
  const acked = new Acked()
  await acked.save(s, 1, 20, 'saveReady 1..20')
  const { write, ck: first } = await checkpointHeldAtWrite(disk, s, 20, 'the first checkpoint reaches its file write')
  await acked.save(s, 21, 35, 'saveReady while the first checkpoint is written')
  assert.equal(
    await within(s.maybeCheckpoint(35, CONF), 'a due maybeCheckpoint answers at once'),
    false,
    'due (15 entries past 20), but deferred while the previous one is being written',
  )
  await acked.save(s, 36, 36, 'saveReady after the deferred maybeCheckpoint')
  const explicit = tracked(s.checkpoint(36, CONF))
  await settle()
  assert.equal(explicit.settled(), false, 'checkpoint() waits for the write under way')
  assert.equal(first.settled(), false, 'which is still held')
  assert.equal(disk.maxConcurrentWrites, 1, 'one write at a time so far')
  write.release()
  assert.equal(await within(first.promise, 'the first checkpoint completes'), true)
  assert.equal(await within(explicit.promise, 'the explicit checkpoint completes'), true)
  assert.equal(s.checkpointIndex, 36)
  assert.equal(disk.maxConcurrentWrites, 1, 'the two checkpoint writes never overlapped')
  // The thresholds count from the checkpoint taken, not from the durable one.
  await acked.save(s, 37, 45, 'saveReady 37..45')
  assert.equal(await s.maybeCheckpoint(45, CONF), false, '9 entries past 36: not due')
  await acked.save(s, 46, 46, 'saveReady 46')
  assert.equal(await s.maybeCheckpoint(46, CONF), true, '10 entries past 36: due')
  await s.close()
})

test('checkpointPending: true only from a due maybeCheckpoint until its image is taken, false at once when none is due', async () => {
  const disk = await gatedDisk()
  const s = await open(disk)
  const acked = new Acked()
  await acked.save(s, 1, 5, 'saveReady 1..5')
  const notDue = s.maybeCheckpoint(5, CONF)
  assert.equal(s.checkpointPending, false, 'nothing due: the database may change at once')
  assert.equal(await notDue, false)
  await acked.save(s, 6, 20, 'saveReady 6..20')
  const write = disk.holdCall('writeAtomic', (p) => p === CKPT)
  const due = tracked(s.maybeCheckpoint(20, CONF))
  assert.equal(s.checkpointPending, true, 'due: the database must hold still until its image is taken')
  await within(write.reached, 'the checkpoint reaches its file write (its image is taken by then)')
  await settle()
  assert.equal(s.checkpointPending, false, 'image taken: the file write goes on in the background')
  assert.equal(due.settled(), false, 'not durable yet')
  await acked.save(s, 21, 35, 'saveReady while the checkpoint is written')
  const deferred = s.maybeCheckpoint(35, CONF)
  assert.equal(s.checkpointPending, false, 'due by count but deferred behind the write under way')
  assert.equal(await deferred, false)
  write.release()
  assert.equal(await within(due.promise, 'the checkpoint completes'), true)
  await s.close()
})

/** A leader's durable checkpoint at index 50 (entries k*=L*), to install on a follower. */
async function leaderSnapshot(): Promise<{ snap: Snapshot; kv: Record<string, string> }> {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  const leader = await MemberStorage.open(disk, '/data/leader', { clusterId: ID.clusterId, memberId: 9 }, sql)
  const es = kvEntries(1, 50, 1, 'L')
  await leader.saveReady(es, { term: 1, vote: 9, commit: 50 }, null)
  applyEntries(leader.db, es)
  await leader.checkpoint(50, CONF)
  const out = { snap: leader.snapshotForFollower(), kv: kvState(leader.db) }
  await leader.close()
  return out
}

test('installSnapshot (and saveReady with a snapshot) waits for a checkpoint being written', async () => {
  const leader = await leaderSnapshot()
  for (const via of ['installSnapshot', 'saveReady'] as const) {
    const disk = await gatedDisk()
    const s = await open(disk)
    const acked = new Acked()
    await acked.save(s, 1, 20, 'saveReady 1..20')
    const { write, ck } = await checkpointHeldAtWrite(disk, s, 20, 'the checkpoint reaches its file write')
    const install = tracked<unknown>(
      via === 'installSnapshot'
        ? s.installSnapshot(leader.snap)
        : s.saveReady([], { term: 2, vote: 0, commit: 50 }, leader.snap),
    )
    await settle()
    assert.equal(install.settled(), false, `${via}: the install waits for the checkpoint write`)
    assert.equal(disk.maxConcurrentWrites, 1, `${via}: its own checkpoint.db write has not started`)
    assert.equal(kvState(s.db).k0, 'v14', `${via}: the database is not replaced yet`)
    write.release()
    assert.equal(await within(ck.promise, `${via}: the checkpoint completes`), true)
    await within(install.promise, `${via}: then the install completes`)
    assert.equal(disk.maxConcurrentWrites, 1, `${via}: the two writes never overlapped`)
    assert.equal(s.checkpointIndex, 50, `${via}: the snapshot is the durable checkpoint`)
    assert.deepEqual(kvState(s.db), leader.kv)
    await s.close()
    const r = await open(disk)
    assert.equal(r.recovery.checkpointIndex, 50, `${via}: recovered from the installed snapshot`)
    assert.deepEqual(kvState(r.db), leader.kv)
    await r.close()
  }
})

test('close waits for a checkpoint being written, then releases the data dir', async () => {
  const disk = await gatedDisk()
  const s = await open(disk)
  const acked = new Acked()
  await acked.save(s, 1, 20, 'saveReady 1..20')
  const { write, ck } = await checkpointHeldAtWrite(disk, s, 20, 'the checkpoint reaches its file write')
  await acked.save(s, 21, 25, 'saveReady while the checkpoint is written')
  const kvBefore = kvState(s.db)
  const closing = tracked(s.close())
  await settle()
  assert.equal(closing.settled(), false, 'close waits for the checkpoint write')
  await assert.rejects(open(disk), LockHeldError, 'the data dir is still held meanwhile')
  write.release()
  await within(closing.promise, 'close completes once the write is done')
  assert.equal(await ck.promise, true, 'the checkpoint completed, durably')
  const r = await recoverAndCheck(disk, acked, [20], kvBefore)
  await r.close()
})

test('a failed background write is the one fatal error, for the call under way and every later one', async () => {
  const leader = await leaderSnapshot()
  const disk = await gatedDisk()
  const s = await open(disk)
  const acked = new Acked()
  await acked.save(s, 1, 20, 'saveReady 1..20')
  assert.equal(await s.checkpoint(20, CONF), true)
  await acked.save(s, 21, 30, 'saveReady 21..30')
  const { write, ck } = await checkpointHeldAtWrite(disk, s, 30, 'the checkpoint reaches its file write')
  await acked.save(s, 31, 32, 'saveReady while the checkpoint is written')
  // A saveReady under way when the write fails: its fsync is held until after the failure.
  const fsync = disk.holdCall('fsync', isSegment)
  const inFlight = tracked(s.saveReady(kvEntries(33, 33, 1), { term: 1, vote: 1, commit: 33 }, null))
  await within(fsync.reached, 'the saveReady reaches its fsync')
  write.fail(new DiskError('EIO', 'writeAtomic', CKPT))
  const err = await within(ck.promise.then(() => null, (e: unknown) => e), 'the failed checkpoint answers')
  assert.ok(err instanceof StorageFatalError, `a StorageFatalError, not ${String(err)}`)
  assert.match(err.message, /checkpoint: writeAtomic .*checkpoint\.db: EIO/)
  fsync.release()
  await assert.rejects(inFlight.promise, (e: unknown) => e === err, 'the saveReady under way fails with it')
  await assert.rejects(s.saveReady(kvEntries(34, 34, 1), null, null), (e: unknown) => e === err, 'a later saveReady')
  await assert.rejects(s.maybeCheckpoint(30, CONF), (e: unknown) => e === err, 'maybeCheckpoint')
  await assert.rejects(s.checkpoint(30, CONF), (e: unknown) => e === err, 'checkpoint')
  await assert.rejects(s.installSnapshot(leader.snap), (e: unknown) => e === err, 'installSnapshot')
  assert.equal(s.checkpointIndex, 20, 'the failed checkpoint never counts as durable')
  await s.close()
  // After a restart: the previous checkpoint, and every acknowledged entry (33 may be there too).
  const r = await open(disk)
  assert.equal(r.recovery.checkpointIndex, 20)
  assert.ok(r.raftLog.lastIndex() >= 32, 'every acknowledged entry is recovered')
  assert.deepEqual(plain(r.raftLog.entries(21, 33, Infinity)), plain(acked.log.filter((e) => e.index > 20)))
  await r.close()
})

/** `image` as an ImageSource, counting its reads. */
function source(image: Uint8Array): ImageSource & { reads: number } {
  return {
    length: image.length,
    reads: 0,
    read(from: number, to: number): Uint8Array {
      this.reads++
      return image.slice(from, to)
    },
  }
}

/** The checkpoint file for `image`, run to its end; what its header callback got. */
async function wholeFile(image: ImageSource, keep: boolean): Promise<{ file: Uint8Array[]; told: Uint8Array[][] }> {
  const told: Uint8Array[][] = []
  const file = await collectBytes(checkpointFile(image, keep, (head, kept) => told.push([head, ...kept])))
  return { file: [...(file as Uint8Array[])], told }
}

test('a large image is copied and checksummed a slice per turn: the same file as framed at once', async () => {
  const image = new Uint8Array(3.5 * CRC_SLICE)
  for (let i = 0; i < image.length; i++) image[i] = (i * 2654435761) >>> 24
  let turns = 0
  let counting = true
  const count = (): void => {
    if (!counting) return
    turns++
    setImmediate(count)
  }
  setImmediate(count)
  const src = source(image)
  const { file: chunks, told } = await wholeFile(src, false)
  counting = false
  assert.deepEqual(chunks[0], checkpointHeader(image), 'the same header')
  assert.deepEqual(Buffer.concat(chunks.slice(1)), Buffer.from(image), 'then the image')
  assert.equal(src.reads, 4, 'read in 4 slices')
  assert.ok(turns >= 3, `other work ran between the 4 slices (${turns} turns)`)
  assert.deepEqual(told, [[checkpointHeader(image)]], 'the header is told once, without the slices')

  const small = image.subarray(0, CRC_SLICE)
  let ran = false
  setImmediate(() => (ran = true))
  const one = await wholeFile(source(small), true)
  assert.deepEqual(one.file, [checkpointHeader(small), small])
  assert.deepEqual(one.told, [[checkpointHeader(small), small]], 'kept: the header and the slices')
  assert.equal(ran, false, 'an image of one slice takes no turn')
})

test('a checkpoint of a database larger than one slice holds the state it was taken at, though entries are applied while it is copied', async () => {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  const options = { checkpointEntries: 1e9, retainEntries: 3 }
  const s = await MemberStorage.open(disk, DIR, ID, sql, options)
  const big = (from: number, to: number, tag: string): Entry[] =>
    Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, 1, `key${(from + i) % 1500}=${tag}${from + i}${'x'.repeat(3000)}`))
  let index = 0
  const saveAndApply = async (es: Entry[]): Promise<void> => {
    await s.saveReady(es, { term: 1, vote: 1, commit: es[es.length - 1].index }, null)
    applyEntries(s.db, es)
    index = es[es.length - 1].index
  }
  // Compared as JSON (values are 3 KB: a failure's diff would be unreadable).
  const state = (db: Parameters<typeof kvState>[0]): string => JSON.stringify(kvState(db))
  for (let i = 0; i < 15; i++) await saveAndApply(big(index + 1, index + 100, 'a'))
  assert.ok(databaseSize(s.db) > 2 * CRC_SLICE, `the database spans slices (${databaseSize(s.db)} bytes)`)
  const at = index
  const expected = state(s.db)
  const ck = s.checkpoint(at, CONF)
  // Rewrite every key (and so most pages) while the image is copied, a slice per turn.
  let rounds = 0
  while (s.checkpointIndex < at && rounds < 200) {
    await saveAndApply(big(index + 1, index + 30, 'b'))
    rounds++
  }
  assert.equal(await ck, true)
  assert.ok(rounds >= 2, `entries were applied while the checkpoint was copied (${rounds} Readies)`)
  assert.ok(state(s.db) !== expected, 'the database moved on')
  const copy = new sql.Database(decodeCheckpoint(disk.readSync(CKPT), CKPT))
  assert.ok(state(copy) === expected, 'the checkpoint holds the state at its index')
  copy.close()
  const last = index
  await s.close()
  const r = await MemberStorage.open(disk, DIR, ID, sql, options)
  assert.equal(r.recovery.checkpointIndex, at)
  assert.ok(state(r.db) === expected, 'a restart starts from it')
  assert.equal(r.raftLog.lastIndex(), last, 'with the entries after it from the journal')
  await r.close()
})
