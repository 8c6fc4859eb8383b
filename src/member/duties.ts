/**
 * The member's periodic duties, run on every tick after Raft's own:
 * - leader: propose revokes for expired leases and checkpoints of remaining TTLs (so a new
 *   leader resumes each lease where it was, not at its full TTL);
 * - every member: the automatic compactor (`--auto-compaction-mode/retention`), which compacts
 *   only while it leads;
 * - leader: promote learners that have caught up (`--auto-promote`);
 * - every member: publish its name and client URLs into the member list once;
 * - every member: progress notifications to watchers that asked for them;
 * - a follower without a leader in its member table: ask the other members for their member
 *   lists and add routes to members it does not know yet (MemberActor.learnPeers).
 * At most one proposal of each kind is in flight; a failed one is simply tried again later.
 *
 * @module
 */
import type { MemberActor } from './actor.ts'
import { Errors } from '../mvcc/index.ts'
import { AutoCompactor } from './auto-compactor.ts'
import type { AutoCompactionMode } from './config.ts'
import type { FetchMembers } from './identity-file.ts'

export interface DutiesConfig {
  readonly autoCompactionMode: AutoCompactionMode
  readonly autoCompactionRetention: number
  readonly autoPromote: boolean
  /** Milliseconds between progress notifications to watchers that asked (etcd: 10 minutes). */
  readonly progressNotifyMs: number
  /** Most leases revoked per tick, so a mass expiry does not flood the log. */
  readonly maxRevokesPerTick: number
  /** Asks running members (by client URL) for their member list; absent: peers are not learned. */
  readonly fetchMembers?: FetchMembers
}

type Kind = 'checkpoint' | 'compact' | 'promote' | 'publish'

export class Duties {
  readonly #actor: MemberActor
  readonly #config: DutiesConfig
  readonly #compactor: AutoCompactor
  readonly #inFlight = new Set<Kind | string>()
  #nextSlowAt = 0
  #nextProgressAt: number

  constructor(actor: MemberActor, config: DutiesConfig) {
    this.#actor = actor
    this.#config = config
    this.#compactor = new AutoCompactor(config.autoCompactionMode, config.autoCompactionRetention)
    this.#nextProgressAt = actor.clock.now() + config.progressNotifyMs
  }

  /** Called once per tick. */
  run(): void {
    const actor = this.#actor
    if (actor.removed) return
    const now = actor.clock.now()
    const store = actor.store
    if (actor.isLeader) {
      for (const id of store.lessor.expired(now, this.#config.maxRevokesPerTick))
        this.#once(`revoke:${id}`, () => actor.propose({ type: 'lease-revoke', request: { id } }))
      const checkpoints = store.lessor.checkpoints(now)
      if (checkpoints.length > 0)
        this.#once('checkpoint', () => actor.propose({ type: 'lease-checkpoint', request: { checkpoints } }))
    }
    const target = this.#compactor.poll(now, store.currentRevision(), actor.isLeader)
    if (target !== null) this.#compact(target)

    if (now >= this.#nextProgressAt) {
      this.#nextProgressAt = now + this.#config.progressNotifyMs
      actor.hub.progress()
    }
    // Slower duties: about once per election timeout.
    if (now < this.#nextSlowAt) return
    this.#nextSlowAt = now + actor.config.tickMs * actor.config.electionTicks
    const me = actor.member(actor.config.id)
    if (
      actor.leader !== 0 &&
      me !== undefined &&
      (me.name !== actor.config.name || me.clientUrls.join(',') !== actor.config.clientUrls.join(','))
    )
      this.#once('publish', () => actor.publish())
    if (actor.isLeader && this.#config.autoPromote) this.#promoteCaughtUpLearners()
    if (!actor.isLeader && actor.member(actor.leader) === undefined) this.#learnPeers()
  }

  /** Proposes the compaction the compactor asked for; one to a revision compacted already is done. */
  #compact(target: number): void {
    const actor = this.#actor
    const done = (): void => this.#compactor.done(actor.clock.now(), target)
    if (target <= actor.store.compactRevision()) return done()
    actor.log.info({ revision: target }, 'auto-compaction')
    this.#once('compact', async () => {
      const applied = await actor.propose({ type: 'compaction', request: { revision: target, physical: false } })
      if (applied.error !== null && applied.error.message !== Errors.compacted().message) throw applied.error
      done()
    })
  }

  /** No leader, or one missing from the member table: this member may be behind a membership change. */
  #learnPeers(): void {
    const fetchMembers = this.#config.fetchMembers
    if (fetchMembers === undefined) return
    const actor = this.#actor
    // A member serves its API on its peer URL too (as seedMembers asks there when joining).
    const urls = actor.members().flatMap((m) => (m.id === actor.config.id ? [] : m.peerUrls))
    if (urls.length === 0) return
    this.#once('learn-peers', async () => actor.learnPeers((await fetchMembers(urls)).members))
  }

  #promoteCaughtUpLearners(): void {
    const progress = this.#actor.status().progress
    if (progress === null) return
    let best = 0
    for (const p of progress.values()) best = Math.max(best, p.match)
    for (const [id, p] of progress) {
      if (!p.isLearner || p.match < best * 0.9 || p.match === 0) continue
      const info = this.#actor.member(id)
      this.#once('promote', async () => {
        await this.#actor.proposeConfChange('add-voter', id, info?.peerUrls ?? [])
        this.#actor.log.info({ member: id }, 'promoted a caught-up learner')
      })
      return
    }
  }

  #once(kind: string, run: () => Promise<unknown>): void {
    if (this.#inFlight.has(kind)) return
    this.#inFlight.add(kind)
    run()
      .catch((err: Error) => this.#actor.log.debug({ duty: kind, err: err.message }, 'duty failed; will retry'))
      .finally(() => this.#inFlight.delete(kind))
  }
}
