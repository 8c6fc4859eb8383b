/**
 * Both Disk implementations against the Disk contract, then what only each one has: the
 * in-memory disk's crash and fault model, and the node disk's pid lock (a second process on the
 * same dir is refused; a dead pid's lock is taken over).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFile, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { runDiskContract } from '../contracts/disk.contract.ts'
import { NodeDisk } from '../../src/storage/disk-node.ts'
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import { DiskError, LockHeldError } from '../../src/storage/disk.ts'
import { seeded, tempDir } from './helpers.ts'

runDiskContract('NodeDisk', async () => {
  const { dir, cleanup } = await tempDir()
  return { disk: new NodeDisk(), dir, cleanup }
})

runDiskContract('MemoryDisk', async () => {
  const disk = new MemoryDisk()
  await disk.mkdir('/data')
  return { disk, dir: '/data', cleanup: async () => undefined }
})

runDiskContract('MemoryDisk with latency (every operation settles on a later turn)', async () => {
  const disk = new MemoryDisk({ delay: () => new Promise((r) => setImmediate(r)) })
  await disk.mkdir('/data')
  return { disk, dir: '/data', cleanup: async () => undefined }
})

const t = (s: string): Uint8Array => new TextEncoder().encode(s)
const s = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b)

async function memDisk(rand?: (n: number) => number): Promise<MemoryDisk> {
  const disk = new MemoryDisk(rand === undefined ? {} : { rand })
  await disk.mkdir('/d')
  return disk
}

test('MemoryDisk crash (worst case): unsynced bytes and unsynced names are lost, synced ones stay', async () => {
  const disk = await memDisk()
  await disk.append('/d/a', t('synced'))
  await disk.fsync('/d/a')
  await disk.fsyncDir('/d')
  await disk.append('/d/a', t('+lost'))
  await disk.append('/d/b', t('never named'))
  await disk.fsync('/d/b')
  disk.crash()
  assert.equal(s(await disk.read('/d/a')), 'synced')
  assert.equal(await disk.exists('/d/b'), false, 'a file whose directory entry was never fsynced is gone')
})

test('MemoryDisk crash keeps a prefix of the unsynced appends (a torn tail), never other bytes', async () => {
  const seen = new Set<string>()
  for (let seed = 0; seed < 40; seed++) {
    const disk = await memDisk(seeded(seed))
    await disk.append('/d/a', t('base'))
    await disk.fsync('/d/a')
    await disk.fsyncDir('/d')
    await disk.append('/d/a', t('0123456789'))
    disk.crash()
    const after = s(await disk.read('/d/a')) as string
    assert.ok('base0123456789'.startsWith(after) && after.startsWith('base'), after)
    seen.add(after)
  }
  assert.ok(seen.size > 3, 'different seeds tear at different points')
})

test('MemoryDisk crash undoes an unsynced truncate', async () => {
  const disk = await memDisk(seeded(1))
  await disk.append('/d/a', t('abcdef'))
  await disk.fsync('/d/a')
  await disk.fsyncDir('/d')
  await disk.truncate('/d/a', 2)
  await disk.append('/d/a', t('XY'))
  disk.crash()
  assert.equal(s(await disk.read('/d/a')), 'abcdef')
})

test('MemoryDisk: a rename not followed by fsyncDir may be lost; writeAtomic is durable when it resolves', async () => {
  const outcomes = new Set<string>()
  for (let seed = 0; seed < 30; seed++) {
    const disk = await memDisk(seeded(seed))
    await disk.writeAtomic('/d/ck', t('old'))
    disk.haltAfter(3) // tmp write, tmp fsync, rename ... and the fsyncDir halts
    await assert.rejects(
      disk.writeAtomic('/d/ck', t('new')),
      (e: unknown) => e instanceof DiskError && e.code === 'EHALTED',
    )
    disk.crash()
    outcomes.add(s(await disk.read('/d/ck')) as string)
  }
  assert.deepEqual([...outcomes].sort(), ['new', 'old'])
  const disk = await memDisk(seeded(7))
  await disk.writeAtomic('/d/ck', t('v1'))
  disk.crash()
  assert.equal(s(await disk.read('/d/ck')), 'v1')
})

test('MemoryDisk haltAfter: the (n+1)-th mutating step and every later call reject until crash()', async () => {
  const disk = await memDisk()
  disk.haltAfter(1)
  await disk.append('/d/a', t('1'))
  await assert.rejects(disk.fsync('/d/a'), (e: unknown) => e instanceof DiskError && e.code === 'EHALTED')
  await assert.rejects(disk.read('/d/a'), (e: unknown) => e instanceof DiskError && e.code === 'EHALTED')
  assert.equal(disk.halted, true)
  disk.crash()
  assert.equal(disk.halted, false)
  assert.equal(await disk.exists('/d/a'), false)
})

test('MemoryDisk faults are drawn from the injected policy: ENOSPC on writes, EIO on fsync, reproducibly', async () => {
  const run = async (seed: number): Promise<string[]> => {
    const disk = new MemoryDisk({
      faults: { rand: seeded(seed), writeError: { num: 1, den: 4 }, fsyncError: { num: 1, den: 4 } },
    })
    await disk.mkdir('/d')
    const codes: string[] = []
    for (let i = 0; i < 40; i++) {
      try {
        await disk.append('/d/a', t('x'))
        await disk.fsync('/d/a')
        codes.push('ok')
      } catch (err) {
        codes.push((err as DiskError).code)
      }
    }
    return codes
  }
  const a = await run(5)
  assert.deepEqual(a, await run(5))
  assert.ok(a.includes('ENOSPC') && a.includes('EIO') && a.includes('ok'))
})

test('MemoryDisk: a failed fsync makes nothing durable', async () => {
  let fail = true
  const disk = new MemoryDisk({ faults: { rand: () => (fail ? 0 : 1), fsyncError: { num: 1, den: 2 } } })
  await disk.mkdir('/d')
  await disk.append('/d/a', t('data'))
  await assert.rejects(disk.fsync('/d/a'), (e: unknown) => e instanceof DiskError && e.code === 'EIO')
  fail = false
  await disk.fsyncDir('/d')
  disk.crash()
  assert.equal((await disk.read('/d/a')).length, 0)
})

test('MemoryDisk: crash releases locks (the holder died); the lock can be taken again', async () => {
  const disk = await memDisk()
  await disk.lock('/d/LOCK')
  await assert.rejects(disk.lock('/d/LOCK'), LockHeldError)
  disk.crash()
  const l = await disk.lock('/d/LOCK')
  await l.release()
})

const diskNodeModule = resolve('src/storage/disk-node.ts')

/** Runs a second node process that tries to lock `path`; returns its one-line verdict. */
function lockInAnotherProcess(path: string): string {
  const script = `
    import { NodeDisk } from ${JSON.stringify(diskNodeModule)}
    try { await new NodeDisk().lock(${JSON.stringify(path)}); console.log('locked') }
    catch (err) { console.log(err.name + ': ' + err.message) }`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  })
  return (r.stdout + r.stderr).trim()
}

test('NodeDisk lock: a second process on the same lock file is refused, naming our pid', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const lock = await new NodeDisk().lock(join(dir, 'LOCK'))
    const verdict = lockInAnotherProcess(join(dir, 'LOCK'))
    assert.match(verdict, /LockHeldError: .*locked by pid (\d+)/)
    assert.ok(verdict.includes(`pid ${process.pid}`), verdict)
    await lock.release()
    assert.equal(lockInAnotherProcess(join(dir, 'LOCK')), 'locked', 'free once released')
  } finally {
    await cleanup()
  }
})

test('NodeDisk lock: a lock left by a dead process is taken over; a live one is not', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const path = join(dir, 'LOCK')
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
    await writeFile(path, `${Number(dead.stdout.trim())}\n`)
    const lock = await new NodeDisk().lock(path)
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid))
    await lock.release()
    await writeFile(path, `${process.ppid}\n`)
    await assert.rejects(
      new NodeDisk().lock(path),
      (e: unknown) => e instanceof LockHeldError && e.message.includes(`pid ${process.ppid}`),
    )
    await writeFile(path, '')
    await assert.rejects(
      new NodeDisk().lock(path),
      LockHeldError,
      'an empty lock may be mid-creation: never stolen',
    )
  } finally {
    await cleanup()
  }
})

test('NodeDisk lock: our own pid in a lock this process does not hold is stale (pid reuse after restart)', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const path = join(dir, 'LOCK')
    await writeFile(path, `${process.pid}\n`)
    const lock = await new NodeDisk().lock(path)
    await assert.rejects(new NodeDisk().lock(path), LockHeldError)
    await lock.release()
  } finally {
    await cleanup()
  }
})

test('MemoryDisk with latency: an operation still waiting at a crash rejects and changes nothing', async () => {
  const gates: (() => void)[] = []
  const disk = new MemoryDisk({ delay: () => new Promise<void>((r) => gates.push(r)) })
  const mk = disk.mkdir('/d')
  gates.shift()!()
  await mk
  const write = disk.append('/d/a', t('late'))
  disk.crash()
  gates.shift()!()
  await assert.rejects(write, (e: unknown) => e instanceof DiskError && e.code === 'EHALTED')
  const ex = disk.exists('/d/a')
  gates.shift()!()
  assert.equal(await ex, false)
})
