/**
 * A Disk decorator that counts fsyncs and reports how long each took, for the member's metrics
 * (Prometheus histograms later) and the storage bench. Time comes from an injected `now()` (ms),
 * so the simulator can pass its virtual clock.
 *
 * @module
 */
import type { Disk, DiskLock, FileData } from './disk.ts'

export type FsyncKind = 'file' | 'dir' | 'atomic-write'

export interface DiskMetricsHooks {
  /** Milliseconds, monotonic. */
  readonly now: () => number
  /** Called after every successful fsync, fsyncDir and writeAtomic (which fsyncs twice). */
  readonly onFsync?: (kind: FsyncKind, durationMs: number, path: string) => void
}

export class MeteredDisk implements Disk {
  readonly #inner: Disk
  readonly #hooks: DiskMetricsHooks
  #fsyncs = 0
  #bytesAppended = 0
  /** The inner disk's synchronous read, when it has one. */
  readonly readSync?: (path: string) => Uint8Array

  constructor(inner: Disk, hooks: DiskMetricsHooks) {
    this.#inner = inner
    this.#hooks = hooks
    if (inner.readSync !== undefined) this.readSync = (path) => (inner.readSync as (p: string) => Uint8Array).call(inner, path)
  }

  /** fsync + fsyncDir calls, plus two per writeAtomic. */
  get fsyncCount(): number {
    return this.#fsyncs
  }

  get bytesAppended(): number {
    return this.#bytesAppended
  }

  async append(path: string, data: Uint8Array): Promise<void> {
    await this.#inner.append(path, data)
    this.#bytesAppended += data.length
  }

  fsync(path: string): Promise<void> {
    return this.#timed('file', path, 1, () => this.#inner.fsync(path))
  }

  fsyncDir(dir: string): Promise<void> {
    return this.#timed('dir', dir, 1, () => this.#inner.fsyncDir(dir))
  }

  writeAtomic(path: string, data: FileData): Promise<void> {
    return this.#timed('atomic-write', path, 2, () => this.#inner.writeAtomic(path, data))
  }

  read(path: string): Promise<Uint8Array> {
    return this.#inner.read(path)
  }

  truncate(path: string, size: number): Promise<void> {
    return this.#inner.truncate(path, size)
  }

  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir)
  }

  remove(path: string): Promise<void> {
    return this.#inner.remove(path)
  }

  exists(path: string): Promise<boolean> {
    return this.#inner.exists(path)
  }

  mkdir(dir: string): Promise<void> {
    return this.#inner.mkdir(dir)
  }

  lock(path: string): Promise<DiskLock> {
    return this.#inner.lock(path)
  }

  close(): Promise<void> {
    return this.#inner.close()
  }

  async #timed(kind: FsyncKind, path: string, count: number, op: () => Promise<void>): Promise<void> {
    const start = this.#hooks.now()
    await op()
    this.#fsyncs += count
    this.#hooks.onFsync?.(kind, this.#hooks.now() - start, path)
  }
}
