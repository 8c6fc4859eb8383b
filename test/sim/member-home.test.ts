/**
 * The member's simulated disk: fsync settles from the scheduler, a crash keeps only what was
 * synced (without torn tails), the Disk of a dead incarnation never settles again, and the
 * ackBeforeFsync variant answers fsync before the data is durable.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MemberConfig } from '../../src/member/index.ts'
import { MemberHome, newMemberDiskCounts } from './member-home.ts'
import { Prng } from './prng.ts'
import { Scheduler } from './scheduler.ts'

const NEVER = { num: 0, den: 1 }
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function home(ackBeforeFsync: boolean): { home: MemberHome; scheduler: Scheduler } {
  const scheduler = new Scheduler()
  const disk = { fsyncMin: 3, fsyncMax: 3, torn: NEVER }
  const options = { disk, writeError: NEVER, fsyncError: NEVER, ackBeforeFsync }
  // The config is only carried for the member; the disk does not read it.
  const h = new MemberHome(1, {} as MemberConfig, new Prng(7), options, scheduler, newMemberDiskCounts())
  return { home: h, scheduler }
}

test('fsync waits for its event; a crash keeps the synced bytes; a dead incarnation is cut off', async () => {
  const { home: h, scheduler } = home(false)
  const disk = h.connect()
  await disk.mkdir('/d')
  await disk.append('/d/j', new Uint8Array([1, 2]))
  let synced = false
  const sync = Promise.all([disk.fsync('/d/j'), disk.fsyncDir('/d')]).then(() => (synced = true))
  await settle()
  assert.equal(synced, false, 'fsync settled without its event')
  assert.equal(scheduler.step(), 'fsync')
  assert.equal(scheduler.step(), 'fsync')
  await sync
  assert.equal(scheduler.now, 3)
  await disk.append('/d/j', new Uint8Array([3]))
  h.crash()
  let late = false
  void disk.read('/d/j').then(() => (late = true))
  await settle()
  assert.equal(late, false, 'the dead incarnation read its disk')
  assert.deepEqual([...(await h.connect().read('/d/j'))], [1, 2])
})

test('ackBeforeFsync answers at once; a crash before the latency loses the "synced" bytes', async () => {
  const { home: h, scheduler } = home(true)
  const disk = h.connect()
  await disk.mkdir('/d')
  await disk.append('/d/j', new Uint8Array([1]))
  await disk.fsync('/d/j')
  const dir = disk.fsyncDir('/d')
  while (scheduler.step() !== null) await settle()
  await dir
  await disk.append('/d/j', new Uint8Array([2]))
  await disk.fsync('/d/j')
  h.crash()
  assert.deepEqual([...(await h.connect().read('/d/j'))], [1])
})
