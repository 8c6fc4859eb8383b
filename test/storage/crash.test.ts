/**
 * Crash tests: a member-like workload on the in-memory disk is killed at a random disk step
 * (between an append and its fsync, inside a checkpoint's rename, during journal rotation and
 * segment removal, inside recovery itself...), the disk loses what fsync did not promise (torn
 * tails, lost renames), and the data dir is reopened. Like the member, the workload often goes on
 * saving without waiting for a checkpoint to be durable, and every disk operation may yield a
 * drawn number of turns first, so saveReady calls interleave with checkpoint file writes in drawn
 * orders (and a checkpoint may come due while the previous one is still being written). After
 * recovery:
 *   - no acknowledged write is lost: the log and hard state equal those after the last
 *     saveReady that resolved, or after the one in flight (its record is atomic);
 *   - the MVCC state equals the committed log applied up to the recovered applied index, and the
 *     log still holds every entry after it;
 *   - the repaired dir keeps working (write, close, reopen).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { MemberStorage } from '../../src/storage/member-storage.ts'
import type { Entry, HardState, RandomInt, Snapshot } from '../../src/raft/types.ts'
import { ID, appliedIndex, applyEntries, entry, kvState, loadSql, seeded } from './helpers.ts'

const sql = await loadSql()
const DIR = '/data/m1'
const CONF = { voters: [1, 2, 3], learners: [] }
const OPTIONS = { checkpointEntries: 6, retainEntries: 2, checkpointBytes: 1500 }

interface Durable {
  readonly log: readonly Entry[]
  readonly hs: HardState
}

/** What the workload knows: acknowledged state, the state if the in-flight save lands, commits. */
class Model {
  acked: Durable = { log: [], hs: { term: 0, vote: 0, commit: 0 } }
  pending: Durable | null = null
  /** committed[i] = entry i + 1; never changes once there. */
  committed: Entry[] = []
}

/** The KV state after applying committed entries 1..upTo (what the MVCC stand-in holds). */
function expectedKv(
  model: Model,
  upTo: number,
  sqlDb: InstanceType<typeof sql.Database>,
): Record<string, string> {
  applyEntries(sqlDb, model.committed.slice(0, upTo))
  return kvState(sqlDb)
}

/**
 * A MemoryDisk whose every operation first yields a drawn number (0-2) of event-loop turns, so that
 * a checkpoint's background write and the workload's saves interleave in drawn orders.
 */
function shuffledDisk(seed: number): MemoryDisk {
  const turns = seeded(seed ^ 0x2545f491)
  return new MemoryDisk({
    rand: seeded(seed ^ 0x5bd1e995),
    delay: async () => {
      for (let n = turns(3); n > 0; n--) await new Promise((r) => setImmediate(r))
    },
  })
}

/** How often the property really interleaved: saves that resolved while a checkpoint was being written. */
const stats = { savesDuringCheckpointWrites: 0 }

async function workload(disk: MemoryDisk, rand: RandomInt, model: Model, steps: number): Promise<void> {
  const s = await MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
  // Checkpoints not waited for at once. All of them settle before this returns (a halted disk
  // fails every later operation), so nothing of this "process" touches the disk after its crash.
  const checkpoints: Promise<boolean>[] = []
  try {
    await runSteps(s, rand, model, steps, checkpoints)
    await s.close()
  } finally {
    await Promise.allSettled(checkpoints)
  }
  await Promise.all(checkpoints) // a failed background write fails the workload
}

async function runSteps(
  s: MemberStorage,
  rand: RandomInt,
  model: Model,
  steps: number,
  checkpoints: Promise<boolean>[],
): Promise<void> {
  let log = [...model.acked.log]
  let hs = model.acked.hs
  let applied = appliedIndex(s.db)
  const unsettled = new Set<Promise<boolean>>()
  const save = async (es: Entry[], next: HardState, newLog: Entry[]): Promise<void> => {
    model.pending = { log: newLog, hs: next }
    await s.saveReady(es, next, null)
    for (const c of unsettled) void c.then((taken) => taken && stats.savesDuringCheckpointWrites++, () => undefined)
    model.acked = model.pending
    model.pending = null
    log = newLog
    hs = next
  }
  for (let step = 0; step < steps; step++) {
    const last = log.length === 0 ? s.raftLog.lastIndex() : log[log.length - 1].index
    const r = rand(10)
    if (r < 5) {
      const n = 1 + rand(6)
      const es = Array.from({ length: n }, (_, i) =>
        entry(last + 1 + i, hs.term || 1, `k${rand(5)}=s${step}.${i}`),
      )
      await save(es, { ...hs, term: hs.term || 1 }, [...log, ...es])
    } else if (r < 7 && last > hs.commit && log.length > 0) {
      const from = hs.commit + 1 + rand(last - hs.commit)
      const term = hs.term + 1
      const es = Array.from({ length: 1 + rand(3) }, (_, i) =>
        entry(from + i, term, `k${rand(5)}=c${step}.${i}`),
      )
      await save(es, { term, vote: 2, commit: hs.commit }, [...log.filter((e) => e.index < from), ...es])
    } else if (last > hs.commit) {
      await save([], { ...hs, commit: last }, log)
      const newly = log.filter((e) => e.index > applied && e.index <= last)
      for (const e of newly) if (model.committed.length < e.index) model.committed.push(e)
      applyEntries(s.db, newly)
      applied = last
      // The database changes next only after the next save resolves, as in the member.
      const checkpoint = s.maybeCheckpoint(applied, CONF)
      checkpoint.catch(() => undefined) // awaited by workload(); handled until then
      checkpoints.push(checkpoint)
      unsettled.add(checkpoint)
      void checkpoint.finally(() => unsettled.delete(checkpoint)).catch(() => undefined)
      if (rand(2) === 0) await checkpoint
    }
  }
}

async function check(disk: MemoryDisk, model: Model): Promise<MemberStorage> {
  const s = await MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
  const log = s.raftLog
  const first = log.firstIndex()
  const got = log
    .entries(first, log.lastIndex() + 1, Infinity)
    .map((e) => [e.index, e.term, Buffer.from(e.data).toString()])
  const hs = log.initialState().hardState
  const candidates = [model.acked, model.pending].filter((c): c is Durable => c !== null)
  const match = candidates.find((c) => {
    const want = c.log
      .filter((e) => e.index >= first)
      .map((e) => [e.index, e.term, Buffer.from(e.data).toString()])
    const lastWant = c.log.length === 0 ? 0 : c.log[c.log.length - 1].index
    return (
      JSON.stringify(want) === JSON.stringify(got) &&
      log.lastIndex() === Math.max(lastWant, first - 1) &&
      JSON.stringify(c.hs) === JSON.stringify(hs)
    )
  })
  assert.ok(
    match,
    `recovered state is neither the acknowledged one nor the in-flight one:\n${JSON.stringify({ got, hs, first })}`,
  )
  model.acked = match
  model.pending = null
  const applied = appliedIndex(s.db)
  assert.ok(
    first - 1 <= applied && applied <= hs.commit,
    `compacted ${first - 1} ≤ applied ${applied} ≤ commit ${hs.commit}`,
  )
  const scratch = new sql.Database()
  assert.deepEqual(kvState(s.db), expectedKv(model, applied, scratch))
  scratch.close()
  return s
}

test('crash at any disk step of a member workload loses nothing acknowledged (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(1 << 30), fc.nat(130), async (seed, haltAt) => {
      const disk = shuffledDisk(seed)
      await disk.mkdir('/data')
      const model = new Model()
      disk.haltAfter(haltAt)
      try {
        await workload(disk, seeded(seed), model, 40)
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code
        assert.equal(code, 'EHALTED', String(err))
      }
      disk.crash()
      const s = await check(disk, model)
      await s.close()
      // The repaired dir keeps working, through another crash-free round and a reopen.
      await workload(disk, seeded(seed + 1), model, 10)
      const again = await check(disk, model)
      await again.close()
    }),
    { numRuns: 250 },
  )
  assert.ok(
    stats.savesDuringCheckpointWrites > 100,
    `only ${stats.savesDuringCheckpointWrites} saves resolved while a checkpoint was being written`,
  )
})

test('a crash during recovery itself (cutting a torn tail, removing leftovers) is recoverable', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(1 << 30), fc.nat(300), fc.nat(12), async (seed, haltAt, haltInRecovery) => {
      const disk = shuffledDisk(seed)
      await disk.mkdir('/data')
      const model = new Model()
      disk.haltAfter(haltAt)
      await workload(disk, seeded(seed), model, 30).catch(() => undefined)
      disk.crash()
      disk.haltAfter(haltInRecovery)
      await MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
        .then((s) => s.close())
        .catch(() => undefined)
      disk.crash()
      const s = await check(disk, model)
      await s.close()
    }),
    { numRuns: 150 },
  )
})

/** A leader's checkpoint at index 20 over entries k*=L* (for install tests). */
async function leaderSnapshot(): Promise<{ snap: Snapshot; kv: Record<string, string>; entries: Entry[] }> {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  const s = await MemberStorage.open(disk, '/data/leader', { clusterId: ID.clusterId, memberId: 9 }, sql)
  const es = Array.from({ length: 20 }, (_, i) => entry(i + 1, 1, `k${i % 5}=L${i + 1}`))
  await s.saveReady(es, { term: 1, vote: 9, commit: 20 }, null)
  applyEntries(s.db, es)
  await s.checkpoint(20, CONF)
  const out = { snap: s.snapshotForFollower(), kv: kvState(s.db), entries: es }
  await s.close()
  return out
}

test('crash at any step around installing a snapshot: before it is durable the old state, after it the new', async () => {
  const leader = await leaderSnapshot()
  await fc.assert(
    fc.asyncProperty(fc.nat(1 << 30), fc.nat(60), async (seed, haltAt) => {
      const disk = new MemoryDisk({ rand: seeded(seed) })
      await disk.mkdir('/data')
      const s = await MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
      await s.saveReady([entry(1, 1, 'k0=F1'), entry(2, 1, 'k1=F2')], { term: 2, vote: 0, commit: 1 }, null)
      disk.haltAfter(haltAt)
      let installed = false
      let acked = 2
      try {
        await s.saveReady([], { term: 2, vote: 0, commit: 20 }, leader.snap)
        installed = true
        await s.saveReady([entry(21, 2, 'k9=F21')], { term: 2, vote: 0, commit: 20 }, null)
        acked = 21
        await s.close()
      } catch {
        // halted
      }
      disk.crash()
      const r = await MemberStorage.open(disk, DIR, ID, sql, OPTIONS)
      const isNew = r.raftLog.firstIndex() === 21
      if (installed) assert.ok(isNew, 'an acknowledged install survives')
      if (isNew) {
        assert.deepEqual(kvState(r.db), leader.kv)
        assert.equal(r.raftLog.term(20), 1)
        assert.ok(r.raftLog.lastIndex() >= (acked === 21 ? 21 : 20))
        assert.equal(r.raftLog.initialState().hardState.term, 2)
      } else {
        assert.equal(r.raftLog.lastIndex(), 2)
        assert.deepEqual(kvState(r.db), {})
      }
      await r.close()
    }),
    { numRuns: 150 },
  )
})
