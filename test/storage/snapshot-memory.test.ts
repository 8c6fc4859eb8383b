/**
 * Issue #8 (memory per member), storage side:
 * - the checkpoint bytes are not kept in memory when the disk reads synchronously: the snapshot a
 *   follower gets is read back from checkpoint.db, paired with the metadata of the checkpoint the
 *   file holds, also while a checkpoint is replacing it; without `readSync` they are kept as before;
 * - a checkpoint is written as two chunks (header, image) instead of a framed copy;
 * - the raft log keeps entry data in buffers of its own, not views into larger ones.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeCheckpoint, encodeCheckpoint } from '../../src/storage/checkpoint.ts'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { NodeDisk } from '../../src/storage/disk-node.ts'
import { DiskError } from '../../src/storage/disk.ts'
import type { Disk, StreamedBytes } from '../../src/storage/disk.ts'
import { StorageFatalError } from '../../src/storage/errors.ts'
import { MemberStorage } from '../../src/storage/member-storage.ts'
import type { StorageOptions } from '../../src/storage/member-storage.ts'
import { MeteredDisk } from '../../src/storage/metered-disk.ts'
import { RaftLog } from '../../src/storage/raft-log.ts'
import type { Snapshot } from '../../src/raft/types.ts'
import { ID, applyEntries, entry, kvEntries, kvState, loadSql, tempDir } from './helpers.ts'

const sql = await loadSql()
const CONF = { voters: [1, 2, 3], learners: [] }
const DIR = '/data/m1'
const CKPT = `${DIR}/checkpoint.db`
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

async function freshDisk(delay?: (op: string, path: string) => Promise<void>): Promise<MemoryDisk> {
  const disk = new MemoryDisk(delay === undefined ? {} : { delay })
  await disk.mkdir('/data')
  return disk
}

/** `disk` without `readSync`, as the simulator's wrapper is: the bytes must then stay in memory. */
function withoutReadSync(disk: Disk): Disk {
  return {
    append: (p, d) => disk.append(p, d),
    fsync: (p) => disk.fsync(p),
    fsyncDir: (d) => disk.fsyncDir(d),
    read: (p) => disk.read(p),
    writeAtomic: (p, d) => disk.writeAtomic(p, d),
    truncate: (p, n) => disk.truncate(p, n),
    list: (d) => disk.list(d),
    remove: (p) => disk.remove(p),
    exists: (p) => disk.exists(p),
    mkdir: (d) => disk.mkdir(d),
    lock: (p) => disk.lock(p),
    close: () => disk.close(),
  }
}

function open(disk: Disk, options: StorageOptions = {}): Promise<MemberStorage> {
  return MemberStorage.open(disk, DIR, ID, sql, options)
}

/** Saves, commits and applies entries from..to in one Ready. */
async function apply(s: MemberStorage, from: number, to: number): Promise<void> {
  const es = kvEntries(from, to, 1)
  await s.saveReady(es, { term: 1, vote: 1, commit: to }, null)
  applyEntries(s.db, es)
}

/** The checkpoint index recorded INSIDE a snapshot's SQLite image (what the bytes really are). */
function indexInside(snap: Snapshot): number {
  const db = new sql.Database(decodeCheckpoint(snap.data, 'snapshot'))
  try {
    const meta = new RaftLog(db).checkpointMeta()
    assert.ok(meta !== null, 'the image has checkpoint metadata')
    return meta.index
  } finally {
    db.close()
  }
}

test('NodeDisk: writeAtomic writes chunks back to back; readSync reads the current file, ENOENT when missing', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const disk = new NodeDisk()
    const p = join(dir, 'f')
    await disk.writeAtomic(p, [bytes('head|'), bytes(''), bytes('body')])
    assert.equal(new TextDecoder().decode(await readFile(p)), 'head|body')
    assert.equal(new TextDecoder().decode(disk.readSync(p)), 'head|body')
    await writeFile(p, 'changed')
    assert.equal(new TextDecoder().decode(disk.readSync(p)), 'changed', 'not a cached copy')
    assert.throws(
      () => disk.readSync(join(dir, 'missing')),
      (err: unknown) => err instanceof DiskError && err.code === 'ENOENT' && err.op === 'read',
    )
    await disk.close()
  } finally {
    await cleanup()
  }
})

/**
 * A streamed file of `chunks` after a 4-byte header 'HEAD' (its last byte the number of chunks
 * taken), calling `before(i)` before it produces chunk i.
 */
function streamed(chunks: readonly Uint8Array[], before: (i: number) => Promise<void>): StreamedBytes {
  let taken = 0
  async function* produce(): AsyncGenerator<Uint8Array> {
    for (const [i, chunk] of chunks.entries()) {
      await before(i)
      taken++
      yield chunk
    }
  }
  return { headerBytes: 4, chunks: produce(), header: () => Uint8Array.of(72, 69, 65, taken) }
}

test('NodeDisk: a streamed writeAtomic writes each chunk before the next is produced, then its header in front', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const disk = new NodeDisk()
    const p = join(dir, 'f')
    const chunks = [bytes('one|'), new Uint8Array(3 * 1024 * 1024).fill(7), bytes('|three')]
    const sizes: number[] = []
    await disk.writeAtomic(p, streamed(chunks, async () => void sizes.push((await stat(`${p}.tmp`)).size)))
    assert.deepEqual(sizes, [0, 4 + 4, 4 + 4 + 3 * 1024 * 1024], 'the temp file had every earlier chunk')
    const want = Buffer.concat([Buffer.from('HEA'), Buffer.of(3), ...chunks])
    assert.ok(Buffer.from(await readFile(p)).equals(want), 'header, then the chunks')
    const wrong = { ...streamed([bytes('x')], async () => {}), header: () => bytes('toolong') }
    await assert.rejects(
      disk.writeAtomic(p, wrong),
      (err: unknown) => err instanceof DiskError && /a header of 7 bytes where 4 were left/.test(String((err.cause as Error).message)),
    )
    assert.ok(Buffer.from(await readFile(p)).equals(want), 'a failed write leaves the file as it was')
    await disk.close()
  } finally {
    await cleanup()
  }
})

test('MemoryDisk: a streamed writeAtomic is one durable file, header first', async () => {
  const disk = await freshDisk()
  await disk.writeAtomic('/data/f', streamed([bytes('ab'), bytes('cd')], async () => {}))
  disk.crash()
  assert.equal(new TextDecoder().decode(await disk.read('/data/f')), 'HEA\x02abcd')
})

test('MemoryDisk: chunked writeAtomic is one durable file; readSync fails like read', async () => {
  const disk = await freshDisk()
  await disk.writeAtomic('/data/f', [bytes('ab'), bytes('cd')])
  disk.crash(null)
  assert.deepEqual(disk.readSync('/data/f'), bytes('abcd'))
  assert.deepEqual(await disk.read('/data/f'), bytes('abcd'))
  assert.throws(() => disk.readSync('/data/nope'), (err: unknown) => err instanceof DiskError && err.code === 'ENOENT')
  disk.haltAfter(0)
  await assert.rejects(disk.append('/data/f', bytes('x')))
  assert.throws(() => disk.readSync('/data/f'), (err: unknown) => err instanceof DiskError && err.code === 'EHALTED')
})

test('MeteredDisk offers readSync exactly when the disk it wraps does', async () => {
  const inner = await freshDisk()
  await inner.writeAtomic('/data/f', bytes('x'))
  const metered = new MeteredDisk(inner, { now: () => 0 })
  assert.equal(typeof metered.readSync, 'function')
  assert.deepEqual(metered.readSync?.('/data/f'), bytes('x'))
  assert.equal(new MeteredDisk(withoutReadSync(inner), { now: () => 0 }).readSync, undefined)
})

test('a checkpoint file is the header then the image: the same bytes encodeCheckpoint frames', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await apply(s, 1, 20)
  await s.checkpoint(20, CONF)
  const file = disk.readSync(CKPT)
  const image = decodeCheckpoint(file, CKPT)
  assert.deepEqual(encodeCheckpoint(image.slice()), file)
  await s.close()
})

test('with readSync the snapshot is read back from checkpoint.db, not held: a change on disk shows', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await apply(s, 1, 20)
  await s.checkpoint(20, CONF)
  const a = s.snapshotForFollower()
  assert.deepEqual(a.metadata, { index: 20, term: 1, confState: CONF })
  assert.deepEqual(a.data, disk.readSync(CKPT))
  assert.equal(indexInside(a), 20)
  const b = s.snapshotForFollower()
  assert.notEqual(b.data, a.data, 'each answer is a fresh read, nothing is cached')
  // Bit rot in the image (not the header): the answer carries it, so it came from the file.
  const at = a.data.length - 10
  disk.corrupt(CKPT, at, Uint8Array.of(a.data[at]! ^ 0xff))
  assert.equal(s.snapshotForFollower().data[at], a.data[at]! ^ 0xff)
  await s.close()
})

test('without readSync the bytes stay in memory, as before: a change on disk does not show', async () => {
  const mem = await freshDisk()
  const s = await open(withoutReadSync(mem))
  await apply(s, 1, 20)
  await s.checkpoint(20, CONF)
  const a = s.snapshotForFollower()
  assert.deepEqual(a.data, mem.readSync(CKPT))
  assert.equal(s.snapshotForFollower().data, a.data, 'the same held bytes every time')
  const at = a.data.length - 10
  const before = a.data[at]!
  mem.corrupt(CKPT, at, Uint8Array.of(before ^ 0xff))
  assert.equal(s.snapshotForFollower().data[at], before)
  assert.equal(indexInside(s.snapshotForFollower()), 20)
  await s.close()
})

test('a checkpoint file replaced or damaged behind our back is a StorageFatalError, never a mismatched snapshot', async () => {
  const disk = await freshDisk()
  const s = await open(disk)
  await apply(s, 1, 20)
  await s.checkpoint(20, CONF)
  const good = disk.readSync(CKPT)
  disk.corrupt(CKPT, 12, Uint8Array.of(good[12]! ^ 1)) // the header's CRC
  assert.throws(() => s.snapshotForFollower(), (err: unknown) => err instanceof StorageFatalError && /checkpoint\.db/.test(err.message))
  await s.close()
})

test('recovery does not keep the checkpoint it loaded: the recovered member reads it back', async () => {
  const disk = await freshDisk()
  const s = await open(disk, { checkpointEntries: 10 })
  await apply(s, 1, 25)
  assert.equal(await s.maybeCheckpoint(25, CONF), true)
  await s.close()
  const r = await open(disk, { checkpointEntries: 10 })
  assert.equal(r.recovery.checkpointIndex, 25)
  const snap = r.snapshotForFollower()
  assert.deepEqual(snap.metadata, { index: 25, term: 1, confState: CONF })
  assert.equal(indexInside(snap), 25)
  const at = snap.data.length - 10
  disk.corrupt(CKPT, at, Uint8Array.of(snap.data[at]! ^ 0xff))
  assert.equal(r.snapshotForFollower().data[at], snap.data[at]! ^ 0xff, 'read back from the file')
  await r.close()
})

test('while a checkpoint replaces the file, every answer pairs metadata with the bytes of the same checkpoint', async () => {
  // Pause the disk at the rename of checkpoint.db (old file still there) and at the fsyncDir after it
  // (new file there, checkpoint not yet done), and ask for the snapshot at each pause.
  let pauseAt: ((op: string, path: string) => boolean) | null = null
  let paused: { op: string; release: () => void } | null = null
  const disk = await freshDisk(async (op, path) => {
    if (pauseAt === null || !pauseAt(op, path)) return
    await new Promise<void>((resolve) => {
      paused = {
        op,
        release: () => {
          paused = null
          resolve()
        },
      }
    })
  })
  const waitPaused = async (op: string): Promise<{ op: string; release: () => void }> => {
    for (let i = 0; i < 1000; i++) {
      const p = paused as { op: string; release: () => void } | null
      if (p !== null) {
        assert.equal(p.op, op, `paused at ${p.op}, expected ${op}`)
        return p
      }
      await new Promise((r) => setImmediate(r))
    }
    assert.fail(`the checkpoint never reached ${op}`)
  }
  const s = await open(disk)
  await apply(s, 1, 20)
  await s.checkpoint(20, CONF)
  await apply(s, 21, 30)

  let renamed = false
  pauseAt = (op, path) => (op === 'rename' && path === CKPT) || (renamed && op === 'fsyncDir' && path === DIR)
  const done = s.checkpoint(30, CONF)
  const atRename = await waitPaused('rename')
  const before = s.snapshotForFollower()
  assert.equal(before.metadata.index, 20, 'before the rename: the old checkpoint')
  assert.equal(indexInside(before), 20, 'old metadata, old bytes')
  renamed = true
  atRename.release()
  const atSync = await waitPaused('fsyncDir')
  const after = s.snapshotForFollower()
  assert.equal(after.metadata.index, 30, 'after the rename: the new checkpoint')
  assert.equal(indexInside(after), 30, 'new metadata, new bytes')
  pauseAt = null
  atSync.release()
  assert.equal(await done, true)
  const final = s.snapshotForFollower()
  assert.equal(final.metadata.index, 30)
  assert.equal(indexInside(final), 30)
  await s.close()
})

test('a follower installs a read-back snapshot and then serves its own checkpoint the same way', async () => {
  const leaderDisk = await freshDisk()
  const leader = await open(leaderDisk, { checkpointEntries: 10 })
  await apply(leader, 1, 30)
  await leader.checkpoint(30, CONF)
  const snap = leader.snapshotForFollower()
  const state = kvState(leader.db)
  await leader.close()

  const fDisk = await freshDisk()
  const follower = await MemberStorage.open(fDisk, DIR, { clusterId: ID.clusterId, memberId: 2 }, sql)
  const db = await follower.installSnapshot(snap)
  assert.deepEqual(kvState(db), state)
  const own = follower.snapshotForFollower()
  assert.deepEqual(own.metadata, snap.metadata)
  assert.deepEqual(own.data, fDisk.readSync(CKPT))
  assert.equal(indexInside(own), 30)
  await follower.close()
})

test('the raft log keeps entry data in buffers of its own (a view would keep its whole buffer)', async () => {
  const db = new sql.Database()
  try {
    const log = new RaftLog(db)
    const big = new Uint8Array(2048)
    big.set(bytes('k=v'), 100)
    const view = big.subarray(100, 103) // like msgpack's encode(): 3 bytes of a 2 KiB buffer
    const whole = bytes('whole')
    log.append([entry(1, 1, view), entry(2, 1, whole)])
    const [e1, e2] = log.entries(1, 3, Infinity)
    assert.deepEqual(e1!.data, bytes('k=v'))
    assert.equal(e1!.data.buffer.byteLength, 3, 'the kept copy is exactly the entry')
    assert.equal(e2!.data, whole, 'data that owns its buffer is kept as it is')
    big.fill(0) // the caller's buffer may be reused: the log is unaffected
    assert.deepEqual(log.entries(1, 2, Infinity)[0]!.data, bytes('k=v'))
  } finally {
    db.close()
  }
})
