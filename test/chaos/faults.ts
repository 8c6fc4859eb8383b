/**
 * The nemesis: one fault at a time, drawn from the run's seed, each bounded in time and healed
 * before the next one; `healAll()` undoes whatever is left before the final checks.
 *
 *   kill-leader, kill-random   kill -9, restart on the same data dir after a while
 *   pause                      SIGSTOP for 2–4 election timeouts, then SIGCONT
 *   partition                  a random minority cut off from the majority (both directions)
 *   isolate-leader             the leader cut off from everyone (both directions)
 *   asymmetric                 the leader's outgoing (or incoming) traffic only
 *   slow-disk                  fsyncs of one member 100 ms slower (EDGECD_FAULT_DISK, SIGUSR2)
 *   disk-eio                   one member restarted with fsyncs failing after a few; it must stop
 *
 * @module
 */
import type { ChaosCluster } from './cluster.ts'
import type { FaultRecord } from './history.ts'
import type { Rng } from './prng.ts'

export const FAULT_KINDS = [
  'kill-leader',
  'kill-random',
  'pause',
  'partition',
  'isolate-leader',
  'asymmetric',
  'slow-disk',
  'disk-eio',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** The disk fault every member starts with, disarmed (SIGUSR2 arms it). */
export const SLOW_DISK_ENV = { EDGECD_FAULT_DISK: 'slow:100,off' }

export class Nemesis {
  readonly #cluster: ChaosCluster
  readonly #rng: Rng
  readonly #now: () => number
  readonly #faults: FaultRecord[]
  readonly #kinds: readonly FaultKind[]
  /**
   * Members whose slow disk is armed, with the PID of the process it was armed in: SIGUSR2 toggles
   * it, and a process started since (after a kill) starts disarmed, so it must not be signalled.
   */
  readonly #slow = new Map<string, number>()

  constructor(
    cluster: ChaosCluster,
    rng: Rng,
    now: () => number,
    faults: FaultRecord[],
    kinds: readonly FaultKind[] = FAULT_KINDS,
  ) {
    this.#cluster = cluster
    this.#rng = rng
    this.#now = now
    this.#faults = faults
    this.#kinds = kinds
  }

  /** Injects faults until `until` (ms since the run's start), then heals everything. */
  async run(until: number, log: (line: string) => void): Promise<void> {
    while (this.#now() < until - 1000) {
      await sleep(Math.min(this.#rng.int(1000, 3000), Math.max(0, until - this.#now())))
      if (this.#now() >= until - 1000) break
      const kind = this.#rng.pick(this.#kinds)
      const duration = Math.min(this.#rng.int(1500, 6000), Math.max(500, until - this.#now()))
      const record = await this.inject(kind, duration)
      if (record !== null)
        log(`  ${(record.start / 1000).toFixed(1)}s ${record.kind} ${record.target} ${record.detail ?? ''}`)
    }
    await this.healAll()
  }

  /** One fault for `duration` ms; null when it could not be applied (e.g. no leader to kill). */
  async inject(kind: FaultKind, duration: number): Promise<FaultRecord | null> {
    const c = this.#cluster
    const names = c.members.map((m) => m.name)
    const leader = (await c.leader())?.name
    const start = this.#now()
    const record = (target: string, detail?: string): FaultRecord => {
      const r: FaultRecord = { kind, target, start, end: start, ...(detail === undefined ? {} : { detail }) }
      this.#faults.push(r)
      return r
    }
    switch (kind) {
      case 'kill-leader':
      case 'kill-random': {
        const target = kind === 'kill-leader' ? leader : this.#rng.pick(names)
        if (target === undefined) return null
        const r = record(target)
        await c.kill(target)
        if (target === leader) r.newLeaderMs = await this.#timeToLeader(target, duration)
        await sleep(Math.max(0, duration - (this.#now() - start)))
        c.spawn(target, SLOW_DISK_ENV)
        r.end = this.#now()
        return r
      }
      case 'pause': {
        const target = this.#rng.pick(names)
        const ms = this.#rng.int(2, 4) * c.options.electionMs
        const r = record(target, `${ms} ms`)
        c.signal(target, 'SIGSTOP')
        await sleep(ms)
        c.signal(target, 'SIGCONT')
        r.end = this.#now()
        return r
      }
      case 'partition':
      case 'isolate-leader': {
        const shuffled = this.#rng.shuffle(names)
        const minority =
          kind === 'isolate-leader'
            ? leader === undefined
              ? []
              : [leader]
            : shuffled.slice(0, this.#rng.int(1, Math.floor((names.length - 1) / 2)))
        if (minority.length === 0) return null
        const majority = names.filter((n) => !minority.includes(n))
        const r = record(minority.join('+'), `| ${majority.join('+')}`)
        this.#cut(minority, majority, true, true)
        await sleep(duration)
        this.#cut(minority, majority, false, false)
        r.end = this.#now()
        return r
      }
      case 'asymmetric': {
        const target = leader ?? this.#rng.pick(names)
        const outgoing = this.#rng.chance(0.5)
        const others = names.filter((n) => n !== target)
        const r = record(target, outgoing ? 'outgoing cut' : 'incoming cut')
        this.#cut([target], others, outgoing, !outgoing)
        await sleep(duration)
        this.#cut([target], others, false, false)
        r.end = this.#now()
        return r
      }
      case 'slow-disk': {
        // Only a member that answers: one still starting has no SIGUSR2 handler yet, and the
        // signal's default action would end it.
        const ready = await Promise.all(names.map((n) => c.answers(n)))
        const candidates = names.filter((_, i) => ready[i] === true)
        if (candidates.length === 0) return null
        const target = this.#rng.pick(candidates)
        const pid = c.pidOf(target)
        if (pid === null) return null
        const r = record(target, SLOW_DISK_ENV.EDGECD_FAULT_DISK.split(',')[0])
        this.#slow.set(target, pid)
        c.signal(target, 'SIGUSR2')
        await sleep(duration)
        this.#disarm(target)
        r.end = this.#now()
        return r
      }
      case 'disk-eio': {
        const target = this.#rng.pick(names)
        const after = this.#rng.int(3, 40)
        const r = record(target, `eio-after:${after}`)
        await c.kill(target)
        c.spawn(target, { EDGECD_FAULT_DISK: `eio-after:${after}` })
        c.member(target).expectedExit = true
        const died = await Promise.race([
          c.member(target).exited.then(() => true),
          sleep(Math.max(duration, 6000)).then(() => false),
        ])
        r.end = this.#now()
        ;(r as { detail?: string }).detail =
          `eio-after:${after}, ${died ? `member stopped (${c.member(target).lastExit})` : 'still running'}`
        await c.kill(target)
        c.spawn(target, SLOW_DISK_ENV)
        return r
      }
    }
  }

  /** Heals the network, resumes paused members, restarts dead ones, disarms slow disks. */
  async healAll(): Promise<void> {
    const c = this.#cluster
    c.healNetwork()
    for (const m of c.members) {
      if (m.paused) c.signal(m.name, 'SIGCONT')
      if (!c.isRunning(m.name)) c.spawn(m.name, SLOW_DISK_ENV)
    }
    for (const name of [...this.#slow.keys()]) this.#disarm(name)
  }

  /** Disarms the member's slow disk if the process it was armed in still runs. */
  #disarm(name: string): void {
    const armedIn = this.#slow.get(name)
    this.#slow.delete(name)
    if (armedIn !== undefined && armedIn === this.#cluster.pidOf(name)) this.#cluster.signal(name, 'SIGUSR2')
  }

  #cut(a: readonly string[], b: readonly string[], aToB: boolean, bToA: boolean): void {
    for (const x of a) {
      for (const y of b) {
        this.#cluster.setLink(x, y, aToB)
        this.#cluster.setLink(y, x, bToA)
      }
    }
  }

  /** Milliseconds until the other members agree on a new leader (Infinity: not within `limit`). */
  async #timeToLeader(old: string, limit: number): Promise<number> {
    const start = this.#now()
    while (this.#now() - start < Math.max(limit, 10_000)) {
      const l = await this.#cluster.leader()
      if (l !== null && l.name !== old) return this.#now() - start
      await sleep(25)
    }
    return Infinity
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
