/**
 * The Disk port: the only way storage/ touches files. Two implementations: disk-node.ts (node:fs)
 * and disk-memory.ts (in memory, with the crash and fault model the simulator needs). Both pass
 * test/contracts/disk.contract.ts.
 *
 * Durability contract (what callers may rely on, and all they may rely on):
 * - `append`, `truncate` change a file's contents; they are durable only after `fsync(path)`.
 * - A new name (a created file, a removed file) is durable only after `fsyncDir(dir)`.
 * - `writeAtomic` is durable when it resolves: temp file, fsync, rename, fsync of the directory.
 *   A crash before it resolves leaves either the old file or the new one, never a mix. Its data
 *   may come in chunks (written back to back), so a caller need not copy a large image behind
 *   a header, or be produced while it is written ({@link StreamedBytes}), so a caller need not
 *   hold a large image at all.
 * - `readSync` is optional: an implementation that can read a file without yielding offers it,
 *   and storage then reads the checkpoint file back when raft asks for a snapshot (a synchronous
 *   call) instead of keeping a copy of it in memory.
 * - Every failure is a {@link DiskError} carrying an errno-like code (ENOENT, ENOSPC, EIO, ...).
 *
 * Paths are POSIX-style strings ('/'-separated); `joinPath` builds them.
 *
 * @module
 */

/** Errno-like codes the port reports. `EHALTED` is the in-memory disk's "the process died". */
export type DiskErrorCode = 'ENOENT' | 'EEXIST' | 'ENOSPC' | 'EIO' | 'EHALTED' | 'EOTHER'

export class DiskError extends Error {
  readonly code: DiskErrorCode
  readonly op: string
  readonly path: string

  constructor(code: DiskErrorCode, op: string, path: string, cause?: unknown) {
    super(`${op} ${path}: ${code}`, cause === undefined ? undefined : { cause })
    this.name = 'DiskError'
    this.code = code
    this.op = op
    this.path = path
  }
}

/** A data dir lock is held by another live process (or by this one, through another open). */
export class LockHeldError extends Error {
  readonly path: string

  constructor(path: string, holder: string) {
    super(`${path} is locked by ${holder}; is another member running on this data dir?`)
    this.name = 'LockHeldError'
    this.path = path
  }
}

/** An exclusive lock on a data dir, held until `release()`. */
export interface DiskLock {
  release(): Promise<void>
}

/** File contents: one array, or chunks to be written back to back. */
export type Bytes = Uint8Array | readonly Uint8Array[]

/**
 * File contents produced while they are written: `chunks`, back to back, after `headerBytes`
 * bytes left for the header, which `header()` gives once the last chunk has been taken (it may
 * depend on them all, as a checksum does). `header()` is called once, before the file replaces
 * its path. A writer that needs everything at once uses {@link collectBytes}.
 */
export interface StreamedBytes {
  readonly headerBytes: number
  readonly chunks: AsyncIterable<Uint8Array>
  header(): Uint8Array
}

/** What `writeAtomic` writes: bytes at hand, or bytes produced as they are written. */
export type FileData = Bytes | StreamedBytes

export function isStreamed(data: FileData): data is StreamedBytes {
  return !(data instanceof Uint8Array) && !Array.isArray(data)
}

/** The header a streamed file's `header()` gave, checked against the room left for it. */
export function streamedHeader(data: StreamedBytes): Uint8Array {
  const header = data.header()
  if (header.length !== data.headerBytes)
    throw new Error(`streamed file: a header of ${header.length} bytes where ${data.headerBytes} were left`)
  return header
}

/** `data`'s chunks in file order, all of them at hand (a streamed file is run to its end). */
export async function collectBytes(data: FileData): Promise<Bytes> {
  if (!isStreamed(data)) return data
  const chunks: Uint8Array[] = []
  for await (const chunk of data.chunks) chunks.push(chunk)
  return [streamedHeader(data), ...chunks]
}

/** The chunks of `data`, in order. */
export function chunksOf(data: Bytes): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data
}

/** `data` as one array (a copy only when it comes in several chunks). */
export function concatBytes(data: Bytes): Uint8Array {
  if (data instanceof Uint8Array) return data
  if (data.length === 1) return data[0] as Uint8Array
  const out = new Uint8Array(data.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of data) {
    out.set(c, at)
    at += c.length
  }
  return out
}

export interface Disk {
  /** Appends `data` to `path`, creating the file if missing. Not durable until `fsync`. */
  append(path: string, data: Uint8Array): Promise<void>
  /** Makes the contents of `path` durable (fdatasync). A new name also needs `fsyncDir`. */
  fsync(path: string): Promise<void>
  /** Makes the names in `dir` (creations, renames, removals) durable. */
  fsyncDir(dir: string): Promise<void>
  /** The whole current contents of `path`. Throws ENOENT when missing. Caller owns the result. */
  read(path: string): Promise<Uint8Array>
  /** Optional: `read`, synchronously (same errors). See the durability contract above. */
  readSync?(path: string): Uint8Array
  /**
   * Replaces `path` with `data` (its chunks back to back) atomically and durably (temp + fsync +
   * rename + fsyncDir).
   */
  writeAtomic(path: string, data: FileData): Promise<void>
  /** Cuts `path` to `size` bytes. Not durable until `fsync`. */
  truncate(path: string, size: number): Promise<void>
  /** Names (not paths) of the files in `dir`, sorted; [] when `dir` does not exist. */
  list(dir: string): Promise<string[]>
  /** Removes `path` if present. Not durable until `fsyncDir`. */
  remove(path: string): Promise<void>
  exists(path: string): Promise<boolean>
  /** Creates `dir` and its parents if missing (durably). */
  mkdir(dir: string): Promise<void>
  /**
   * Takes the exclusive lock file `path` (O_EXCL + the holder's identity). A lock left by a dead
   * holder is taken over; a live one makes this throw {@link LockHeldError}.
   */
  lock(path: string): Promise<DiskLock>
  /** Closes any file handles cached by the implementation; later calls reopen them. */
  close(): Promise<void>
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i)
}
