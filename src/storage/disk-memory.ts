/**
 * The Disk port in memory, for tests and the simulator, modelling exactly what fsync promises and
 * no more. Each file is an inode with a volatile size and a durable one; each directory keeps the
 * name changes made since its last fsyncDir.
 *
 * `crash()` is a power loss / process kill:
 * - a file keeps its fsynced bytes plus, if it was only appended to since, a PREFIX of the
 *   unsynced bytes (a drawn length: this is the torn last record); a file truncated since its
 *   last fsync goes back to its fsynced contents;
 * - a directory keeps its fsynced names plus a drawn prefix of the later changes (creations,
 *   renames, removals, in order); a rename not followed by fsyncDir may therefore be lost;
 * - locks are released (their holder died); lock files stay, and are stale.
 * Without a `rand`, a crash is the worst case: every unsynced byte and name change is lost.
 *
 * Faults (drawn from the injected `faults.rand`, never Math.random): an append or a temp-file
 * write fails with ENOSPC after writing a drawn prefix, an fsync fails with EIO and makes
 * nothing durable. `haltAfter(n)` kills the "process" at the (n+1)-th mutating step: that step
 * and every later call reject with EHALTED until `crash()`. Directories are durable once made.
 *
 * @module
 */
import { DiskError, LockHeldError, collectBytes, concatBytes, dirOf } from './disk.ts'
import type { Disk, DiskLock, FileData } from './disk.ts'
import type { RandomInt } from '../raft/types.ts'

/** Odds as an integer ratio: `num` in `den`. */
export interface Ratio {
  readonly num: number
  readonly den: number
}

export interface FaultPolicy {
  readonly rand: RandomInt
  /** Odds that one append (or the temp-file write of writeAtomic) fails with ENOSPC. */
  readonly writeError?: Ratio
  /** Odds that one fsync or fsyncDir fails with EIO. */
  readonly fsyncError?: Ratio
}

export interface MemoryDiskOptions {
  /** Draws torn tails and surviving directory changes on `crash()`; none = worst case. */
  readonly rand?: RandomInt
  readonly faults?: FaultPolicy
  /**
   * Awaited before every operation (the simulator settles it from its event queue, to model
   * latency). An operation still waiting when `crash()` happens rejects with EHALTED.
   */
  readonly delay?: (op: string, path: string) => Promise<void>
}

/**
 * Invariant: `syncedSnapshot === null` iff the file was only appended to since its last fsync,
 * in which case the durable contents are `buf[0, syncedSize)`.
 */
class Inode {
  buf = new Uint8Array(64)
  size = 0
  syncedSize = 0
  syncedSnapshot: Uint8Array | null = null

  bytes(): Uint8Array {
    return this.buf.slice(0, this.size)
  }

  append(data: Uint8Array): void {
    if (this.size + data.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.size + data.length))
      grown.set(this.buf.subarray(0, this.size))
      this.buf = grown
    }
    this.buf.set(data, this.size)
    this.size += data.length
  }

  truncate(size: number): void {
    if (this.syncedSnapshot === null) this.syncedSnapshot = this.buf.slice(0, this.syncedSize)
    if (size > this.size) this.append(new Uint8Array(size - this.size))
    else {
      this.buf.fill(0, size, this.size)
      this.size = size
    }
  }

  sync(): void {
    this.syncedSize = this.size
    this.syncedSnapshot = null
  }

  crash(rand: RandomInt | null): void {
    if (this.syncedSnapshot !== null) {
      this.buf = new Uint8Array(Math.max(64, this.syncedSnapshot.length))
      this.buf.set(this.syncedSnapshot)
      this.size = this.syncedSnapshot.length
    } else {
      const unsynced = this.size - this.syncedSize
      this.size = this.syncedSize + (rand === null ? 0 : rand(unsynced + 1))
    }
    this.sync()
  }
}

type DirOp =
  | { readonly kind: 'link'; readonly path: string; readonly inode: Inode }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rename'; readonly path: string; readonly from: string; readonly inode: Inode }

export class MemoryDisk implements Disk {
  /** Current names. Invariant: every path's parent is in #dirs. */
  #names = new Map<string, Inode>()
  /** Names as they would be found after a crash with no directory change surviving. */
  #durable = new Map<string, Inode>()
  /** Directory changes since each directory's last fsyncDir, oldest first. */
  #pending = new Map<string, DirOp[]>()
  #dirs = new Set<string>(['/', '.'])
  #locks = new Set<string>()
  #rand: RandomInt | null
  #faults: FaultPolicy | null
  #delay: ((op: string, path: string) => Promise<void>) | null
  /** Bumped by crash(): operations issued before it must not touch the disk after it. */
  #epoch = 0
  #budget: number | null = null
  #halted = false
  #ops = 0
  #fsyncs = 0

  constructor(options: MemoryDiskOptions = {}) {
    this.#rand = options.rand ?? null
    this.#faults = options.faults ?? null
    this.#delay = options.delay ?? null
  }

  /** Mutating steps taken so far (a crash point is a number in [0, opCount]). */
  get opCount(): number {
    return this.#ops
  }

  /** Successful fsync + fsyncDir calls so far (writeAtomic counts its two). */
  get fsyncCount(): number {
    return this.#fsyncs
  }

  get halted(): boolean {
    return this.#halted
  }

  /** Replaces the fault policy (`null`: no more faults, e.g. for a liveness phase). */
  setFaults(faults: FaultPolicy | null): void {
    this.#faults = faults
  }

  /** Kills the process at the (n+1)-th mutating step from now; `null` disarms. */
  haltAfter(n: number | null): void {
    this.#budget = n
  }

  /** Power loss: see the module doc. The disk is usable again afterwards (a restarted process). */
  crash(rand: RandomInt | null = this.#rand): void {
    for (const [dir, ops] of this.#pending) {
      const survive = rand === null ? 0 : rand(ops.length + 1)
      for (const op of ops.slice(0, survive)) this.#apply(this.#durable, op)
      this.#pending.set(dir, [])
    }
    this.#names = new Map(this.#durable)
    for (const inode of new Set(this.#names.values())) inode.crash(rand)
    this.#locks.clear()
    this.#halted = false
    this.#budget = null
    this.#epoch++
  }

  /** The current bytes of `path` without going through the port (tests; no halt, no faults). */
  peek(path: string): Uint8Array | undefined {
    return this.#names.get(path)?.bytes()
  }

  /** Overwrites bytes of a fully synced file in place, durably, as bit rot would (tests). */
  corrupt(path: string, offset: number, bytes: Uint8Array): void {
    const inode = this.#names.get(path)
    if (inode === undefined || inode.size !== inode.syncedSize || inode.syncedSnapshot !== null)
      throw new RangeError(`corrupt: ${path} is missing or not synced`)
    if (offset + bytes.length > inode.size) throw new RangeError(`corrupt: ${path} is shorter`)
    inode.buf.set(bytes, offset)
  }

  async append(path: string, data: Uint8Array): Promise<void> {
    await this.#enter('append', path)
    this.#step('append', path)
    const inode = this.#openOrCreate(path)
    if (this.#draw(this.#faults?.writeError)) {
      inode.append(data.subarray(0, this.#faults!.rand(data.length)))
      throw new DiskError('ENOSPC', 'append', path)
    }
    inode.append(data)
  }

  async fsync(path: string): Promise<void> {
    await this.#enter('fsync', path)
    this.#step('fsync', path)
    const inode = this.#get('fsync', path)
    if (this.#draw(this.#faults?.fsyncError)) throw new DiskError('EIO', 'fsync', path)
    inode.sync()
    this.#fsyncs++
  }

  async fsyncDir(dir: string): Promise<void> {
    await this.#enter('fsyncDir', dir)
    this.#step('fsyncDir', dir)
    if (!this.#dirs.has(dir)) throw new DiskError('ENOENT', 'fsyncDir', dir)
    if (this.#draw(this.#faults?.fsyncError)) throw new DiskError('EIO', 'fsyncDir', dir)
    for (const op of this.#pending.get(dir) ?? []) this.#apply(this.#durable, op)
    this.#pending.set(dir, [])
    this.#fsyncs++
  }

  async read(path: string): Promise<Uint8Array> {
    await this.#enter('read', path)
    this.#alive('read', path)
    return this.#get('read', path).bytes()
  }

  /** `read` without the delay hook (nothing to wait for in memory); fails the same way. */
  readSync(path: string): Uint8Array {
    this.#alive('read', path)
    return this.#get('read', path).bytes()
  }

  async writeAtomic(path: string, data: FileData): Promise<void> {
    const bytes = concatBytes(await collectBytes(data))
    const tmp = `${path}.tmp`
    if (this.#names.has(tmp)) await this.remove(tmp)
    // One append whatever the chunks: the fault model draws once per temp-file write.
    await this.append(tmp, bytes)
    await this.fsync(tmp)
    await this.#enter('rename', path)
    this.#step('rename', path)
    const inode = this.#get('rename', tmp)
    this.#names.delete(tmp)
    this.#names.set(path, inode)
    this.#record({ kind: 'rename', path, from: tmp, inode })
    await this.fsyncDir(dirOf(path))
  }

  async truncate(path: string, size: number): Promise<void> {
    await this.#enter('truncate', path)
    this.#step('truncate', path)
    this.#get('truncate', path).truncate(size)
  }

  async list(dir: string): Promise<string[]> {
    await this.#enter('list', dir)
    this.#alive('list', dir)
    const prefix = dir.endsWith('/') ? dir : `${dir}/`
    return [...this.#names.keys()]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length))
      .sort()
  }

  async remove(path: string): Promise<void> {
    await this.#enter('remove', path)
    this.#step('remove', path)
    if (this.#names.has(path)) this.#unlink(path)
  }

  async exists(path: string): Promise<boolean> {
    await this.#enter('exists', path)
    this.#alive('exists', path)
    return this.#names.has(path) || this.#dirs.has(path)
  }

  async mkdir(dir: string): Promise<void> {
    await this.#enter('mkdir', dir)
    this.#alive('mkdir', dir)
    for (let d = dir; !this.#dirs.has(d); d = dirOf(d)) this.#dirs.add(d)
  }

  async lock(path: string): Promise<DiskLock> {
    await this.#enter('lock', path)
    this.#alive('lock', path)
    if (this.#locks.has(path)) throw new LockHeldError(path, 'another open of this in-memory disk')
    this.#locks.add(path)
    if (!this.#names.has(path)) this.#openOrCreate(path).append(new TextEncoder().encode('memory\n'))
    return {
      release: async (): Promise<void> => {
        if (!this.#locks.delete(path)) return
        this.#alive('unlock', path)
        this.#unlink(path)
      },
    }
  }

  async close(): Promise<void> {}

  async #enter(op: string, path: string): Promise<void> {
    if (this.#delay === null) return
    const epoch = this.#epoch
    await this.#delay(op, path)
    if (epoch !== this.#epoch) throw new DiskError('EHALTED', op, path)
  }

  #step(op: string, path: string): void {
    this.#alive(op, path)
    if (this.#budget !== null) {
      if (this.#budget === 0) {
        this.#halted = true
        throw new DiskError('EHALTED', op, path)
      }
      this.#budget--
    }
    this.#ops++
  }

  #alive(op: string, path: string): void {
    if (this.#halted) throw new DiskError('EHALTED', op, path)
  }

  #draw(odds: Ratio | undefined): boolean {
    return odds !== undefined && this.#faults !== null && this.#faults.rand(odds.den) < odds.num
  }

  #get(op: string, path: string): Inode {
    const inode = this.#names.get(path)
    if (inode === undefined) throw new DiskError('ENOENT', op, path)
    return inode
  }

  #openOrCreate(path: string): Inode {
    const found = this.#names.get(path)
    if (found !== undefined) return found
    if (!this.#dirs.has(dirOf(path))) throw new DiskError('ENOENT', 'create', path)
    const inode = new Inode()
    this.#link(path, inode)
    return inode
  }

  #link(path: string, inode: Inode): void {
    this.#names.set(path, inode)
    this.#record({ kind: 'link', path, inode })
  }

  #unlink(path: string): void {
    this.#names.delete(path)
    this.#record({ kind: 'unlink', path })
  }

  #record(op: DirOp): void {
    const dir = dirOf(op.path)
    const ops = this.#pending.get(dir)
    if (ops === undefined) this.#pending.set(dir, [op])
    else ops.push(op)
  }

  #apply(names: Map<string, Inode>, op: DirOp): void {
    if (op.kind === 'unlink') names.delete(op.path)
    else names.set(op.path, op.inode)
    if (op.kind === 'rename') names.delete(op.from)
  }
}
