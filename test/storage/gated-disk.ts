/**
 * A Disk for tests that must stop storage at a chosen point: a {@link MemoryDisk} (so crashes lose
 * what fsync did not promise) behind gates. `holdCall('writeAtomic')` stops the next writeAtomic
 * call before it does anything; `holdStep('rename')` stops a step inside one (through MemoryDisk's
 * `delay` hook: the temp file is then written and fsynced, the old file still in place);
 * `holdCall('remove', isSegment)` stops a segment removal. A held operation waits until released.
 *
 * `crash()` kills the "process" using this disk: every operation it started, held or not, never
 * settles (so the dead storage cannot write to its successor's files), then the MemoryDisk loses
 * what fsync did not promise. Operations started after the crash (the next incarnation) work.
 *
 * It also counts writeAtomic calls under way at once (`maxConcurrentWrites`), to check that two
 * checkpoint writes never overlap.
 *
 * @module
 */
import { MemoryDisk } from '../../src/storage/disk-memory.ts'
import type { Disk, DiskLock, FileData } from '../../src/storage/disk.ts'
import type { RandomInt } from '../../src/raft/types.ts'

export interface Gate {
  /** Resolves with the path once an operation has stopped here. */
  readonly reached: Promise<string>
  /** Lets the stopped operation go on (or, if none stopped yet, the next one pass). */
  release(): void
  /** Makes the stopped operation (or the next one) fail with `err` instead, doing nothing. */
  fail(err: Error): void
}

interface Armed {
  readonly op: string
  readonly match: (path: string) => boolean
  readonly gate: Gate
  arrive(path: string): Promise<void>
}

const NEVER: Promise<never> = new Promise<never>(() => undefined)

export class GatedDisk implements Disk {
  readonly memory: MemoryDisk
  #armed: Armed[] = []
  /** Bumped by crash(): an operation started before it never settles. */
  #generation = 0
  #writes = 0
  #maxWrites = 0

  constructor() {
    this.memory = new MemoryDisk({ delay: (op, path) => this.#gate(`step:${op}`, path) })
  }

  /** The most writeAtomic calls that were under way (called, not settled) at the same time. */
  get maxConcurrentWrites(): number {
    return this.#maxWrites
  }

  /** Stops the next call of Disk method `op` ('writeAtomic', 'remove', ...) on a path `match` accepts. */
  holdCall(op: string, match: (path: string) => boolean = () => true): Gate {
    return this.#hold(`call:${op}`, match)
  }

  /** Stops the next MemoryDisk step `op` ('rename', 'fsyncDir', 'append', ...), wherever it runs. */
  holdStep(op: string, match: (path: string) => boolean = () => true): Gate {
    return this.#hold(`step:${op}`, match)
  }

  #hold(op: string, match: (path: string) => boolean): Gate {
    let release!: () => void
    let fail!: (err: Error) => void
    const released = new Promise<void>((resolve, reject) => {
      release = resolve
      fail = reject
    })
    released.catch(() => undefined) // rejected only for the operation that waits on it
    let reach!: (path: string) => void
    const reached = new Promise<string>((r) => (reach = r))
    const gate: Gate = {
      reached,
      release,
      fail,
    }
    this.#armed.push({
      op,
      match,
      gate,
      arrive: (path) => {
        reach(path)
        return released
      },
    })
    return gate
  }

  /** Power loss for the process using this disk; see the module doc. */
  crash(rand: RandomInt | null = null): void {
    this.#generation++
    this.#armed = []
    this.memory.crash(rand)
  }

  readSync(path: string): Uint8Array {
    return this.memory.readSync(path)
  }

  append(path: string, data: Uint8Array): Promise<void> {
    return this.#call('append', path, () => this.memory.append(path, data))
  }

  fsync(path: string): Promise<void> {
    return this.#call('fsync', path, () => this.memory.fsync(path))
  }

  fsyncDir(dir: string): Promise<void> {
    return this.#call('fsyncDir', dir, () => this.memory.fsyncDir(dir))
  }

  read(path: string): Promise<Uint8Array> {
    return this.#call('read', path, () => this.memory.read(path))
  }

  async writeAtomic(path: string, data: FileData): Promise<void> {
    this.#writes++
    this.#maxWrites = Math.max(this.#maxWrites, this.#writes)
    try {
      await this.#call('writeAtomic', path, () => this.memory.writeAtomic(path, data))
    } finally {
      this.#writes--
    }
  }

  truncate(path: string, size: number): Promise<void> {
    return this.#call('truncate', path, () => this.memory.truncate(path, size))
  }

  list(dir: string): Promise<string[]> {
    return this.#call('list', dir, () => this.memory.list(dir))
  }

  remove(path: string): Promise<void> {
    return this.#call('remove', path, () => this.memory.remove(path))
  }

  exists(path: string): Promise<boolean> {
    return this.#call('exists', path, () => this.memory.exists(path))
  }

  mkdir(dir: string): Promise<void> {
    return this.#call('mkdir', dir, () => this.memory.mkdir(dir))
  }

  lock(path: string): Promise<DiskLock> {
    return this.#call('lock', path, () => this.memory.lock(path))
  }

  close(): Promise<void> {
    return this.#call('close', '', () => this.memory.close())
  }

  /** A Disk method: waits at its gate, then runs; never settles if the process died meanwhile. */
  async #call<T>(op: string, path: string, run: () => Promise<T>): Promise<T> {
    const generation = this.#generation
    await this.#gate(`call:${op}`, path)
    if (generation !== this.#generation) return NEVER
    try {
      return await run()
    } finally {
      // (A step still waiting at the crash rejects with EHALTED: it is swallowed here too.)
      if (generation !== this.#generation) await NEVER
    }
  }

  /** Waits at the first armed gate for `op` (`call:<method>` or `step:<op>`) on `path`. */
  #gate(op: string, path: string): Promise<void> {
    const i = this.#armed.findIndex((a) => a.op === op && a.match(path))
    if (i < 0) return Promise.resolve()
    const a = this.#armed[i] as Armed
    this.#armed.splice(i, 1)
    return a.arrive(path)
  }
}
