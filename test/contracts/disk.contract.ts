/**
 * The Disk contract: what storage/ relies on from a Disk, checked against every implementation
 * (test/storage/disk.test.ts runs it for NodeDisk in a temp dir and for MemoryDisk). Durability
 * across crashes is not observable here (a live process sees its own unsynced writes); the
 * in-memory disk's crash model has its own tests. Not a test file: `runDiskContract` registers.
 *
 * @module
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { DiskError, LockHeldError, joinPath } from '../../src/storage/disk.ts'
import type { Disk } from '../../src/storage/disk.ts'

export interface DiskFixture {
  readonly disk: Disk
  /** An existing, empty directory for this test. */
  readonly dir: string
  cleanup(): Promise<void>
}

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

export function runDiskContract(name: string, makeDisk: () => Promise<DiskFixture>): void {
  const withDisk = (title: string, fn: (disk: Disk, dir: string) => Promise<void>): void => {
    test(title, async () => {
      const f = await makeDisk()
      try {
        await fn(f.disk, f.dir)
      } finally {
        await f.disk.close()
        await f.cleanup()
      }
    })
  }

  describe(`Disk contract: ${name}`, () => {
    withDisk('append creates the file and appends; read returns everything written', async (disk, dir) => {
      const p = joinPath(dir, 'a.log')
      assert.equal(await disk.exists(p), false)
      await disk.append(p, bytes(1, 2, 3))
      await disk.append(p, bytes(4))
      await disk.append(p, new Uint8Array(0))
      assert.deepEqual(await disk.read(p), bytes(1, 2, 3, 4))
      assert.equal(await disk.exists(p), true)
    })

    withDisk(
      'a large append is written whole, and read returns a copy the caller owns',
      async (disk, dir) => {
        const p = joinPath(dir, 'big')
        const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
        await disk.append(p, big)
        const back = await disk.read(p)
        assert.equal(back.length, big.length)
        assert.deepEqual(back.subarray(big.length - 5), big.subarray(big.length - 5))
        back[0] = 99
        assert.equal((await disk.read(p))[0], 0)
      },
    )

    withDisk('reading, fsyncing or truncating a missing file fails with ENOENT', async (disk, dir) => {
      const p = joinPath(dir, 'missing')
      for (const op of [() => disk.read(p), () => disk.fsync(p), () => disk.truncate(p, 0)]) {
        await assert.rejects(op(), (err: unknown) => err instanceof DiskError && err.code === 'ENOENT')
      }
    })

    withDisk('fsync and fsyncDir succeed on what exists', async (disk, dir) => {
      const p = joinPath(dir, 'f')
      await disk.append(p, text('x'))
      await disk.fsync(p)
      await disk.fsyncDir(dir)
      await disk.append(p, text('y'))
      await disk.fsync(p)
      assert.deepEqual(await disk.read(p), text('xy'))
    })

    withDisk('truncate cuts the file; appends continue from the new end', async (disk, dir) => {
      const p = joinPath(dir, 't')
      await disk.append(p, text('hello world'))
      await disk.fsync(p)
      await disk.truncate(p, 5)
      await disk.append(p, text('!'))
      await disk.fsync(p)
      assert.deepEqual(await disk.read(p), text('hello!'))
      await disk.truncate(p, 0)
      assert.equal((await disk.read(p)).length, 0)
    })

    withDisk('writeAtomic creates or replaces a file and leaves no temp file', async (disk, dir) => {
      const p = joinPath(dir, 'ckpt')
      await disk.writeAtomic(p, text('one'))
      assert.deepEqual(await disk.read(p), text('one'))
      await disk.writeAtomic(p, text('second version'))
      assert.deepEqual(await disk.read(p), text('second version'))
      assert.deepEqual(await disk.list(dir), ['ckpt'])
    })

    withDisk(
      'writeAtomic over a file being appended to replaces it; later appends go to the new file',
      async (disk, dir) => {
        const p = joinPath(dir, 'x')
        await disk.append(p, text('old'))
        await disk.writeAtomic(p, text('new'))
        await disk.append(p, text('+'))
        assert.deepEqual(await disk.read(p), text('new+'))
      },
    )

    withDisk(
      'list gives sorted file names, [] for a missing dir; remove is idempotent',
      async (disk, dir) => {
        for (const n of ['b', 'a', 'c']) await disk.append(joinPath(dir, n), text(n))
        assert.deepEqual(await disk.list(dir), ['a', 'b', 'c'])
        await disk.remove(joinPath(dir, 'b'))
        await disk.remove(joinPath(dir, 'b'))
        await disk.fsyncDir(dir)
        assert.deepEqual(await disk.list(dir), ['a', 'c'])
        assert.deepEqual(await disk.list(joinPath(dir, 'nope')), [])
      },
    )

    withDisk('a removed file can be created again from empty', async (disk, dir) => {
      const p = joinPath(dir, 'r')
      await disk.append(p, text('abc'))
      await disk.remove(p)
      assert.equal(await disk.exists(p), false)
      await disk.append(p, text('z'))
      assert.deepEqual(await disk.read(p), text('z'))
    })

    withDisk('mkdir creates nested directories; files can be made inside', async (disk, dir) => {
      const sub = joinPath(joinPath(dir, 'one'), 'two')
      await disk.mkdir(sub)
      await disk.mkdir(sub)
      assert.equal(await disk.exists(sub), true)
      await disk.append(joinPath(sub, 'f'), text('1'))
      assert.deepEqual(await disk.list(sub), ['f'])
    })

    withDisk('lock is exclusive until released, and can be taken again after', async (disk, dir) => {
      const p = joinPath(dir, 'LOCK')
      const held = await disk.lock(p)
      await assert.rejects(disk.lock(p), LockHeldError)
      await held.release()
      const again = await disk.lock(p)
      await again.release()
    })

    withDisk('close drops cached handles; the disk keeps working afterwards', async (disk, dir) => {
      const p = joinPath(dir, 'c')
      await disk.append(p, text('a'))
      await disk.close()
      await disk.append(p, text('b'))
      await disk.fsync(p)
      assert.deepEqual(await disk.read(p), text('ab'))
    })
  })
}
