/**
 * Storage benchmark, on the real disk (NodeDisk in a temp dir):
 *   1. group commit: fsyncs per committed entry with N concurrent producers, where a member-like
 *      loop turns everything queued into ONE saveReady (one journal record, one fsync);
 *   2. recovery time of a 100k-entry journal (no checkpoint);
 *   3. checkpoint time and size at 100k keys of 256-byte values in the real MVCC store, and
 *      reopening from it.
 * Run: node --expose-gc --import tsx bench/storage.ts [keys,keys…]  (default 100000: the keys of
 * part 3; --expose-gc makes part 3's "buffers grew by" figure exact)
 *
 * @module
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import initSqlJs from 'sql.js'
import type { SqlJsStatic } from 'sql.js'
import { databaseImage, MemberStorage, MeteredDisk, NodeDisk } from '../src/storage/index.ts'
import { MvccStore, encodeCommand } from '../src/mvcc/index.ts'
import type { Entry } from '../src/raft/types.ts'

const ID = { clusterId: 'bench', memberId: 1 }
const CONF = { voters: [1], learners: [] }
const sql: SqlJsStatic = await initSqlJs()
const root = await mkdtemp(join(tmpdir(), 'edgecd-bench-'))

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const fmt = (n: number, d = 2): string => n.toFixed(d)

async function groupCommit(producers: number, total: number): Promise<void> {
  const latencies: number[] = []
  const disk = new MeteredDisk(new NodeDisk(), {
    now: () => performance.now(),
    onFsync: (kind, ms) => {
      if (kind === 'file') latencies.push(ms)
    },
  })
  const storage = await MemberStorage.open(disk, join(root, `gc-${producers}`), ID, sql, {
    checkpointEntries: 1e9,
  })
  const baseFsyncs = disk.fsyncCount
  const queue: { data: Uint8Array; done: () => void }[] = []
  const waiter: { wake: (() => void) | null } = { wake: null }
  let index = 0
  let batches = 0
  let running = true
  const loop = (async (): Promise<void> => {
    while (running || queue.length > 0) {
      if (queue.length === 0) {
        await new Promise<void>((r) => (waiter.wake = r))
        continue
      }
      const batch = queue.splice(0, queue.length)
      const entries: Entry[] = batch.map((p) => ({ index: ++index, term: 1, type: 'normal', data: p.data }))
      await storage.saveReady(entries, { term: 1, vote: 1, commit: index }, null)
      batches++
      for (const p of batch) p.done()
    }
  })()
  const propose = (data: Uint8Array): Promise<void> =>
    new Promise((done) => {
      queue.push({ data, done })
      waiter.wake?.()
      waiter.wake = null
    })
  const perProducer = Math.ceil(total / producers)
  const data = new Uint8Array(256).fill(7)
  const start = performance.now()
  await Promise.all(
    Array.from({ length: producers }, async () => {
      for (let i = 0; i < perProducer; i++) await propose(data)
    }),
  )
  const secs = (performance.now() - start) / 1000
  running = false
  waiter.wake?.()
  await loop
  const fsyncs = disk.fsyncCount - baseFsyncs
  latencies.sort((a, b) => a - b)
  console.log(
    `  producers=${String(producers).padStart(4)}  entries=${index}  fsyncs=${fsyncs}  ` +
      `fsync/entry=${fmt(fsyncs / index, 3)}  mean batch=${fmt(index / batches, 1)}  ` +
      `entries/s=${fmt(index / secs, 0)}  fsync p50=${fmt(quantile(latencies, 0.5))}ms ` +
      `p99=${fmt(quantile(latencies, 0.99))}ms`,
  )
  await storage.close()
}

/** A 100k-entry journal written `perRecord` entries per Ready (fsync only at the end), then reopened. */
async function recovery(n: number, perRecord: number): Promise<void> {
  const dir = join(root, `recovery-${perRecord}`)
  const storage = await MemberStorage.open(new NodeDisk(), dir, ID, sql, {
    checkpointEntries: 1e9,
    checkpointBytes: 1e12,
  })
  const data = new Uint8Array(100).fill(3)
  for (let i = 1; i <= n; i += perRecord) {
    const entries: Entry[] = Array.from({ length: perRecord }, (_, k) => ({
      index: i + k,
      term: 1,
      type: 'normal',
      data,
    }))
    const last = i + perRecord - 1
    await storage.saveReady(entries, { term: 1, vote: 1, commit: last }, null, last >= n)
  }
  await storage.close()
  const size = (await stat(join(dir, 'journal-0000000000000001.log'))).size
  const start = performance.now()
  const again = await MemberStorage.open(new NodeDisk(), dir, ID, sql)
  const ms = performance.now() - start
  console.log(
    `  ${again.recovery.entries} entries (100-byte payloads, ${again.recovery.records} records, ` +
      `${fmt(size / 2 ** 20, 1)} MiB journal): recovery ${fmt(ms, 0)} ms ` +
      `(${fmt(ms / (n / 1000), 2)} ms per 1k entries)`,
  )
  await again.close()
}

/**
 * 100k puts of 256-byte values through the member's path (saveReady in Readies of 1000, the real
 * MVCC store's applyBatch, maybeCheckpoint with the default every-10k-entries policy), then one
 * more checkpoint timed at 100k keys, and a reopen from it.
 */
async function checkpoint(keys: number): Promise<void> {
  const dir = join(root, 'checkpoint')
  const disk = new MeteredDisk(new NodeDisk(), { now: () => performance.now() })
  const storage = await MemberStorage.open(disk, dir, ID, sql)
  const store = new MvccStore(storage.db)
  const value = new Uint8Array(256)
  let index = 0
  let checkpoints = 0
  let checkpointMs = 0
  let t = performance.now()
  while (index < keys) {
    const entries: Entry[] = []
    for (let k = 0; k < 1000 && index < keys; k++) {
      value.fill(index & 0xff)
      const key = new TextEncoder().encode(`/registry/key-${String(index).padStart(8, '0')}`)
      const request = { key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }
      entries.push({ index: ++index, term: 1, type: 'normal', data: encodeCommand({ type: 'put', request }) })
    }
    await storage.saveReady(entries, { term: 1, vote: 1, commit: index }, null)
    store.applyBatch(entries.map((e) => ({ index: e.index, data: e.data })))
    const c = performance.now()
    if (await storage.maybeCheckpoint(store.appliedIndex(), CONF)) {
      checkpoints++
      checkpointMs += performance.now() - c
    }
  }
  const loadMs = performance.now() - t
  await storage.saveReady([{ index: ++index, term: 1, type: 'normal', data: new Uint8Array(0) }], null, null)
  store.applyBatch([{ index, data: new Uint8Array(0) }])
  t = performance.now()
  const image = databaseImage(storage.db)
  const copyMs = performance.now() - t
  const fsyncs = disk.fsyncCount
  // One checkpoint with a saveReady queued right behind it (as a member's next Ready would be):
  // how long that write waits, and the longest stall of the event loop meanwhile.
  const stalls = monitorEventLoopDelay({ resolution: 1 })
  stalls.enable()
  // And the most memory it held in buffers at once (sampled every turn; garbage not yet collected counts).
  // Under --expose-gc, garbage from before is collected first, so that its collection meanwhile
  // does not hide what the checkpoint holds.
  const collect = (globalThis as { gc?: () => void }).gc
  collect?.()
  const buffersBefore = process.memoryUsage().arrayBuffers
  let buffersPeak = buffersBefore
  const sampler = setInterval(() => (buffersPeak = Math.max(buffersPeak, process.memoryUsage().arrayBuffers)), 1)
  t = performance.now()
  const ckpt = storage.checkpoint(index, CONF)
  await storage.saveReady([{ index: ++index, term: 1, type: 'normal', data: new Uint8Array(0) }], null, null)
  const heldMs = performance.now() - t
  await ckpt
  const ckptMs = performance.now() - t
  stalls.disable()
  clearInterval(sampler)
  const stallMs = stalls.max / 1e6
  const size = (await stat(join(dir, 'checkpoint.db'))).size
  const logRows = storage.raftLog.lastIndex() - storage.raftLog.firstIndex() + 1
  store.close()
  await storage.close()
  t = performance.now()
  const again = await MemberStorage.open(new NodeDisk(), dir, ID, sql)
  const reopened = new MvccStore(again.db)
  const reopenMs = performance.now() - t
  const count = reopened.range({
    key: new Uint8Array([0]),
    rangeEnd: new Uint8Array([0]),
    limit: 0,
    revision: 0,
    sortOrder: 'NONE',
    sortTarget: 'KEY',
    serializable: true,
    keysOnly: false,
    countOnly: true,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  }).count
  reopened.close()
  await again.close()
  console.log(
    `  ${keys} puts x 256 B through saveReady + MvccStore.applyBatch + maybeCheckpoint: ${fmt(loadMs, 0)} ms, ` +
      `${checkpoints} checkpoints on the way (mean ${fmt(checkpointMs / Math.max(1, checkpoints), 0)} ms)\n` +
      `  at ${keys} keys: a copy of the database alone ${fmt(copyMs, 0)} ms (${fmt(image.length / 2 ** 20, 1)} MiB); ` +
      `checkpoint (snapshot + rotate + copy + crc + write + fsync + rename + dir fsync) ${fmt(ckptMs, 0)} ms, ` +
      `a write queued behind it waited ${fmt(heldMs, 1)} ms, longest event-loop stall meanwhile ${fmt(stallMs, 1)} ms, ` +
      `${disk.fsyncCount - fsyncs} fsyncs, buffers grew by at most ${fmt((buffersPeak - buffersBefore) / 2 ** 20, 1)} MiB; file ${fmt(size / 2 ** 20, 1)} MiB (raft log entries kept: ${logRows}); ` +
      `reopen + MvccStore load ${fmt(reopenMs, 0)} ms (${count} keys back)`,
  )
}

try {
  console.log('1. group commit (NodeDisk, 256-byte entries)')
  for (const n of [1, 8, 64, 256]) await groupCommit(n, n === 1 ? 2000 : 10_000)
  console.log('2. recovery')
  await recovery(100_000, 100)
  await recovery(100_000, 1)
  console.log('3. checkpoint')
  for (const keys of (process.argv[2] ?? '100000').split(',').map(Number)) await checkpoint(keys)
} finally {
  await rm(root, { recursive: true, force: true })
}
