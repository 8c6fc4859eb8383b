/**
 * What a simulated member keeps across its incarnations: its command line (a {@link MemberConfig})
 * and its data dir, a {@link MemoryDisk} from src/storage driven by the simulator:
 *
 *   latency ── fsync and fsyncDir wait a drawn [fsyncMin, fsyncMax] ms, settled by a scheduler
 *              event (MemoryDisk's `delay` hook); every other operation settles at once
 *   crash   ── MemoryDisk.crash: unsynced bytes and name changes are lost, or with odds `torn` a
 *              drawn prefix of them survives (a torn last record); pending fsyncs never finish
 *   faults  ── optional ENOSPC on append and EIO on fsync/fsyncDir, drawn per operation from the
 *              home's own stream (MemoryDisk's fault policy); `calm()` turns them off
 *
 * Each incarnation reaches the disk through {@link MemberHome.connect}. Invariant: after a crash,
 * the Disk handed to an earlier incarnation never settles again, so a dead process cannot write
 * to its successor's files. Only fsyncs can straddle a crash (they are the only operations that
 * wait for an event), which is exactly where unsynced data lives.
 *
 * The `ackBeforeFsync` variant (a deliberately broken member) answers every fsync at once and
 * makes the data durable only after the drawn latency.
 *
 * @module
 */
import type { MemberConfig } from '../../src/member/index.ts'
import { MemoryDisk, type Disk } from '../../src/storage/index.ts'
import type { NodeId, RandomInt } from '../../src/raft/types.ts'
import type { NodeMedium } from './node-port.ts'
import type { Prng, Ratio } from './prng.ts'
import type { Scheduler, Timer } from './scheduler.ts'
import type { DiskOptions } from './sim-disk.ts'

/** Totals over every member disk of a cluster. */
export interface MemberDiskCounts {
  /** fsync and fsyncDir calls that waited for their latency. */
  fsyncs: number
  crashes: number
  /** Crashes that kept a drawn prefix of the unsynced data instead of losing all of it. */
  tornCrashes: number
}

export function newMemberDiskCounts(): MemberDiskCounts {
  return { fsyncs: 0, crashes: 0, tornCrashes: 0 }
}

export interface MemberHomeOptions {
  readonly disk: DiskOptions
  /** Per-operation fault odds; both never = a disk without faults. */
  readonly writeError: Ratio
  readonly fsyncError: Ratio
  readonly ackBeforeFsync: boolean
}

const RESOLVED: Promise<void> = Promise.resolve()
const NEVER: Promise<never> = new Promise<never>(() => undefined)

export class MemberHome implements NodeMedium {
  readonly id: NodeId
  readonly config: MemberConfig
  readonly disk: MemoryDisk
  readonly #latency: Prng
  readonly #torn: Prng
  /** Draws the surviving prefix of unsynced data on a torn crash. */
  readonly #tails: RandomInt
  readonly #options: MemberHomeOptions
  readonly #scheduler: Scheduler
  readonly #counts: MemberDiskCounts
  readonly #pending = new Set<Timer>()
  /** Bumped by every crash; a connection of an older generation is dead. */
  #generation = 0
  #faulty: boolean

  constructor(
    id: NodeId,
    config: MemberConfig,
    prng: Prng,
    options: MemberHomeOptions,
    scheduler: Scheduler,
    counts: MemberDiskCounts,
  ) {
    this.id = id
    this.config = config
    this.#latency = prng.fork('latency')
    this.#torn = prng.fork('torn')
    this.#options = options
    this.#scheduler = scheduler
    this.#counts = counts
    this.#faulty = options.writeError.num > 0 || options.fsyncError.num > 0
    const tails = prng.fork('tails')
    const faults = prng.fork('faults')
    // RandomInt is asked for [0, n) with n = 0 when a zero-length prefix is the only choice.
    this.#tails = (n) => (n > 0 ? tails.int(n) : 0)
    this.disk = new MemoryDisk({
      ...(this.#faulty
        ? {
            faults: {
              rand: (n: number) => (n > 0 ? faults.int(n) : 0),
              writeError: options.writeError,
              fsyncError: options.fsyncError,
            },
          }
        : {}),
      delay: (op) => this.#delay(op),
    })
  }

  /** True while drawn storage faults are on: a member may then stop on a DiskError. */
  get faulty(): boolean {
    return this.#faulty
  }

  /** The Disk port for the incarnation starting now (dead after the next crash). */
  connect(): Disk {
    const generation = this.#generation
    const d = this.disk
    const live = <T>(op: () => Promise<T>): Promise<T> => (generation === this.#generation ? op() : NEVER)
    const lyingFsync = (path: string): Promise<void> => {
      d.fsync(path).catch(() => undefined)
      return RESOLVED
    }
    const fsync = this.#options.ackBeforeFsync ? lyingFsync : (path: string): Promise<void> => d.fsync(path)
    return {
      append: (path, data) => live(() => d.append(path, data)),
      fsync: (path) => live(() => fsync(path)),
      fsyncDir: (dir) => live(() => d.fsyncDir(dir)),
      read: (path) => live(() => d.read(path)),
      writeAtomic: (path, data) => live(() => d.writeAtomic(path, data)),
      truncate: (path, size) => live(() => d.truncate(path, size)),
      list: (dir) => live(() => d.list(dir)),
      remove: (path) => live(() => d.remove(path)),
      exists: (path) => live(() => d.exists(path)),
      mkdir: (dir) => live(() => d.mkdir(dir)),
      lock: (path) => live(() => d.lock(path)),
      close: () => live(() => d.close()),
    }
  }

  /** Power loss: see the module doc. */
  crash(): void {
    this.#generation++
    for (const t of this.#pending) t.cancel()
    this.#pending.clear()
    this.#counts.crashes++
    const torn = this.#torn.ratio(this.#options.disk.torn)
    if (torn) this.#counts.tornCrashes++
    this.disk.crash(torn ? this.#tails : null)
  }

  /** No more drawn faults (the liveness phase). */
  calm(): void {
    this.#faulty = false
    this.disk.setFaults(null)
  }

  #delay(op: string): Promise<void> {
    if (op !== 'fsync' && op !== 'fsyncDir') return RESOLVED
    this.#counts.fsyncs++
    const ms = this.#latency.range(this.#options.disk.fsyncMin, this.#options.disk.fsyncMax)
    return new Promise<void>((resolve) => {
      const timer = this.#scheduler.after(ms, 'fsync', () => {
        this.#pending.delete(timer)
        resolve()
      })
      this.#pending.add(timer)
    })
  }
}
