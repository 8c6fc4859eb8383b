/**
 * The chaos run's checkers besides linearizability: revisions seen by clients never go back,
 * every acknowledged write is in the final history, the six watch guarantees etcd documents,
 * and leases. Each returns a list of violations (empty: fine), each with a short history excerpt.
 *
 * The reference the watch and write checks compare with is the final event history: revision →
 * the events of that revision, in order, read with a watch from the first retained revision once
 * every fault is healed. The workload writes only keys under the watched range, so every revision
 * after the first has at least one event, and a gap in revisions is a lost event.
 *
 * @module
 */
import { describeOp } from './linearizability.ts'
import type { KvOp, LeaseRecord, WatchEventRecord, WatchSegment } from './history.ts'

export interface Violation {
  readonly check: string
  readonly message: string
  readonly excerpt?: readonly string[]
}

export type EventHistory = ReadonlyMap<number, readonly WatchEventRecord[]>

function sameEvents(a: readonly WatchEventRecord[], b: readonly WatchEventRecord[]): boolean {
  return (
    a.length === b.length &&
    a.every((e, i) => {
      const f = b[i] as WatchEventRecord
      return e.type === f.type && e.key === f.key && e.value === f.value && e.modRevision === f.modRevision
    })
  )
}

export function describeEvent(e: WatchEventRecord): string {
  return `${e.type} ${e.key}${e.type === 'PUT' ? `=${JSON.stringify(e.value)}` : ''} @${e.modRevision}`
}

/**
 * Real-time order of revisions: an operation invoked after another completed sees at least its
 * revision (a linearizable read) or a higher one (a write that changed something).
 */
export function checkRevisionsMonotonic(ops: readonly KvOp[]): Violation[] {
  const done = ops.filter((o) => o.outcome === 'ok' && o.revision !== undefined)
  const byComplete = [...done].sort((a, b) => a.complete - b.complete)
  const byInvoke = [...done].sort((a, b) => a.invoke - b.invoke)
  const out: Violation[] = []
  let max = 0
  let maxOp: KvOp | null = null
  let j = 0
  for (const op of byInvoke) {
    while (j < byComplete.length && (byComplete[j] as KvOp).complete < op.invoke) {
      const c = byComplete[j++] as KvOp
      if ((c.revision as number) > max) {
        max = c.revision as number
        maxOp = c
      }
    }
    const rev = op.revision as number
    const wrote =
      op.kind === 'put' ||
      (op.kind === 'cas' && op.succeeded === true) ||
      (op.kind === 'delete' && op.deleted === 1)
    if (rev < max || (wrote && rev === max && maxOp !== null && maxOp.id !== op.id)) {
      out.push({
        check: 'revision-monotonic',
        message: `op ${op.id} saw revision ${rev} after op ${maxOp?.id} had completed at revision ${max}`,
        excerpt: [describeOp(maxOp as KvOp), describeOp(op)],
      })
      if (out.length >= 10) break
    }
  }
  return out
}

/**
 * Every acknowledged write is in the final history, at the revision its answer named, and no write
 * reported as failed happened. `firstRevision`: the first revision the reference holds.
 */
export function checkWritesInHistory(
  ops: readonly KvOp[],
  history: EventHistory,
  firstRevision: number,
): {
  violations: Violation[]
  lost: number
} {
  const out: Violation[] = []
  let lost = 0
  const written = new Map<string, KvOp>()
  for (const op of ops) if (op.value !== undefined) written.set(op.value, op)
  for (const op of ops) {
    if (op.outcome !== 'ok' || op.revision === undefined || op.revision < firstRevision) continue
    const events = history.get(op.revision) ?? []
    let expected: WatchEventRecord | null = null
    if (op.kind === 'put' || (op.kind === 'cas' && op.succeeded === true))
      expected = { type: 'PUT', key: op.key, value: op.value as string, modRevision: op.revision }
    else if (op.kind === 'delete' && op.deleted === 1)
      expected = { type: 'DELETE', key: op.key, value: '', modRevision: op.revision }
    if (expected === null) continue
    const e = expected
    if (
      !events.some(
        (f) => f.type === e.type && f.key === e.key && (e.type === 'DELETE' || f.value === e.value),
      )
    ) {
      lost++
      out.push({
        check: 'acknowledged-write-lost',
        message: `op ${op.id} was acknowledged at revision ${op.revision} but the final history has ${events.map(describeEvent).join(', ') || 'nothing'} there`,
        excerpt: [describeOp(op)],
      })
    }
  }
  for (const [rev, events] of history) {
    for (const e of events) {
      if (e.type !== 'PUT' || !e.key.startsWith('k/')) continue
      const op = written.get(e.value)
      if (op === undefined)
        out.push({ check: 'phantom-write', message: `${describeEvent(e)} was never written by a client` })
      else if (op.outcome === 'failed')
        out.push({
          check: 'failed-write-happened',
          message: `op ${op.id} failed (${op.error}) but happened at revision ${rev}`,
          excerpt: [describeOp(op)],
        })
    }
  }
  return { violations: out, lost }
}

/** The final value of every key in the reference, and what the final reads returned, agree. */
export function checkFinalState(
  history: EventHistory,
  finalReads: ReadonlyMap<string, string | null>,
): Violation[] {
  const last = new Map<string, string | null>()
  for (const rev of [...history.keys()].sort((a, b) => a - b))
    for (const e of history.get(rev) ?? []) last.set(e.key, e.type === 'PUT' ? e.value : null)
  const out: Violation[] = []
  for (const [key, value] of finalReads) {
    if (!last.has(key)) continue
    if ((last.get(key) ?? null) !== value)
      out.push({
        check: 'final-state',
        message: `${key} reads ${JSON.stringify(value)} but its last event says ${JSON.stringify(last.get(key))}`,
      })
  }
  return out
}

/**
 * etcd's watch guarantees, per watcher (its segments in order; a later segment resumes from the
 * revision after the last event the earlier ones delivered):
 * - ordered: revisions increase from one message to the next, never go back;
 * - unique: no revision is delivered twice;
 * - atomic: the events of one revision come in one message, all of them;
 * - reliable: no revision between the first and the last delivered is missing, and each matches
 *   the final history;
 * - resumable: a segment restarted from the last seen revision + 1 starts exactly there;
 * - bookmarkable: a progress notification at revision P comes only after every event ≤ P.
 */
export function checkWatches(
  segments: readonly WatchSegment[],
  history: EventHistory,
  firstRevision: number,
): Violation[] {
  const out: Violation[] = []
  const watchers = new Map<number, WatchSegment[]>()
  for (const s of segments) watchers.set(s.watcher, [...(watchers.get(s.watcher) ?? []), s])
  for (const [watcher, segs] of watchers) {
    const fail = (check: string, message: string, excerpt?: string[]): void => {
      if (out.filter((v) => v.message.startsWith(`watcher ${watcher}`)).length < 5)
        out.push({
          check,
          message: `watcher ${watcher}: ${message}`,
          ...(excerpt === undefined ? {} : { excerpt }),
        })
    }
    let delivered = 0
    const seen = new Set<number>()
    for (const seg of segs) {
      // Revision 1 is the empty store: no events.
      let expectNext = seg.startRevision > 0 ? Math.max(seg.startRevision, 2) : 0
      if (seg.startRevision > 0 && delivered > 0 && seg.startRevision !== delivered + 1)
        fail(
          'resumable',
          `segment opened at ${seg.opened.toFixed(0)} ms asked for revision ${seg.startRevision}, expected ${delivered + 1}`,
        )
      for (const m of seg.messages) {
        if (m.kind === 'created') {
          if (expectNext === 0) expectNext = Math.max(m.revision + 1, 2)
          continue
        }
        if (m.kind === 'canceled') break
        if (m.kind === 'progress') {
          if (expectNext > 0 && m.revision >= expectNext)
            fail(
              'bookmarkable',
              `progress at revision ${m.revision} before the events of revision ${expectNext} were delivered`,
            )
          continue
        }
        const revs = [...new Set(m.events.map((e) => e.modRevision))]
        for (let i = 1; i < m.events.length; i++) {
          if (
            (m.events[i] as WatchEventRecord).modRevision < (m.events[i - 1] as WatchEventRecord).modRevision
          )
            fail('ordered', `events out of order in one message: ${m.events.map(describeEvent).join(', ')}`)
        }
        for (const rev of revs) {
          const got = m.events.filter((e) => e.modRevision === rev)
          if (expectNext > 0 && rev < expectNext) {
            const again = seen.has(rev)
            fail(
              again ? 'unique' : 'ordered',
              `revision ${rev} ${again ? 'delivered again' : 'out of order'} (next expected ${expectNext})`,
              got.map(describeEvent),
            )
            continue
          }
          if (expectNext > 0 && rev > expectNext) {
            const missing = history.get(expectNext)
            fail(
              'reliable',
              `revisions ${expectNext}..${rev - 1} were never delivered`,
              (missing ?? []).map(describeEvent),
            )
          }
          const want = history.get(rev)
          if (rev >= firstRevision && want !== undefined && !sameEvents(got, want))
            fail(
              got.length < want.length ? 'atomic' : 'reliable',
              `revision ${rev} differs from the final history`,
              [`got:  ${got.map(describeEvent).join(', ')}`, `want: ${want.map(describeEvent).join(', ')}`],
            )
          else if (rev >= firstRevision && want === undefined)
            fail('reliable', `revision ${rev} is not in the final history`, got.map(describeEvent))
          expectNext = rev + 1
          delivered = Math.max(delivered, rev)
          seen.add(rev)
        }
      }
    }
  }
  return out
}

/** When, at the latest, a revision had happened: the first completion of an op that saw it. */
export function firstSeen(ops: readonly KvOp[]): (revision: number) => number {
  const done = ops
    .filter((o) => o.outcome === 'ok' && o.revision !== undefined)
    .sort((a, b) => (a.revision as number) - (b.revision as number))
  const suffixMin: number[] = new Array(done.length + 1).fill(Infinity)
  for (let i = done.length - 1; i >= 0; i--)
    suffixMin[i] = Math.min(suffixMin[i + 1] as number, (done[i] as KvOp).complete)
  return (revision: number): number => {
    let lo = 0
    let hi = done.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (((done[mid] as KvOp).revision as number) < revision) lo = mid + 1
      else hi = mid
    }
    return suffixMin[lo] as number
  }
}

/**
 * Lease-protected keys vanish only after their lease ended: a key's DELETE that no client caused
 * must not be seen by anyone before the lease's last renewal + TTL (or its revoke was sent); and a
 * lease left to expire long enough ago has no keys left (`finalKeys`: keys still present).
 */
export function checkLeases(
  leases: readonly LeaseRecord[],
  history: EventHistory,
  ops: readonly KvOp[],
  finalKeys: ReadonlySet<string>,
  endTime: number,
  graceMs: number,
): Violation[] {
  const seen = firstSeen(ops)
  const deletedAt = new Map<string, number>()
  for (const [rev, events] of history)
    for (const e of events) if (e.type === 'DELETE' && !deletedAt.has(e.key)) deletedAt.set(e.key, rev)
  const out: Violation[] = []
  for (const lease of leases) {
    const aliveUntil = Math.max(
      lease.grantInvoke + lease.ttl * 1000,
      ...lease.keepalives.map((k) => k.invoke + k.ttl * 1000),
    )
    const earliest = lease.revokeInvoke !== undefined ? Math.min(lease.revokeInvoke, aliveUntil) : aliveUntil
    for (const key of lease.keys) {
      const rev = deletedAt.get(key)
      if (rev !== undefined) {
        const at = seen(rev)
        if (at < earliest)
          out.push({
            check: 'lease-early-expiry',
            message: `${key} (lease ${lease.id}, TTL ${lease.ttl}s) was deleted at revision ${rev}, seen at ${at.toFixed(0)} ms, but the lease was alive until ${earliest.toFixed(0)} ms`,
          })
      }
      const shouldBeGone = lease.revokeInvoke ?? lease.lastRenewInvoke + lease.ttl * 1000
      if (finalKeys.has(key) && shouldBeGone + graceMs < endTime)
        out.push({
          check: 'lease-never-expired',
          message: `${key} (lease ${lease.id}) is still present, its lease ended at ${shouldBeGone.toFixed(0)} ms`,
        })
    }
  }
  return out
}
