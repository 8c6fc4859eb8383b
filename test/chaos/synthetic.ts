/**
 * Synthetic histories for the linearizability checker: the chaos workload's mix (35% get, 25% put,
 * 30% compare-and-set, 10% delete over a few keys, 8 clients with 0–10 ms pauses, calls of 5–125 ms
 * and a few up to 1 s) run against a true register, so every history is linearizable by
 * construction, with 3-second outages every 30 s in which calls are slow and writes end unknown
 * (half of those took effect, possibly seconds late, half never did). Used to measure the checker
 * on 20–30 minute histories without a cluster, and to plant a violation deep in one.
 *
 * @module
 */
import type { KvOp, Outcome } from './history.ts'
import { Rng } from './prng.ts'

export interface SyntheticOptions {
  readonly seed: number
  readonly seconds: number
  readonly clients?: number
  readonly keys?: number
  /** Chance that a write outside an outage ends unknown. */
  readonly unknownRate?: number
  /** How long after its call ends an unknown write that took effect may still take effect. */
  readonly maxLateMs?: number
}

interface Draft {
  readonly client: number
  readonly kind: KvOp['kind']
  readonly key: string
  readonly value?: string
  readonly invoke: number
  readonly complete: number
  readonly outcome: Outcome
  /** When the register applies it; Infinity: never (a failed op, or an unknown write that was lost). */
  readonly at: number
  expect?: string | null
  read?: string | null
  deleted?: number
  succeeded?: boolean
}

/** A linearizable history of about `seconds` of the workload, ops in invoke order. */
export function syntheticHistory(options: SyntheticOptions): KvOp[] {
  const rng = new Rng(options.seed)
  const keys = options.keys ?? 5
  const unknownRate = options.unknownRate ?? 0.005
  const maxLateMs = options.maxLateMs ?? 3000
  const end = options.seconds * 1000
  const outage = (t: number): boolean => t % 30_000 > 27_000
  const drafts: Draft[] = []
  for (let c = 0; c < (options.clients ?? 8); c++) {
    const r = rng.fork(`client-${c}`)
    let t = r.int(0, 10)
    for (let n = 0; t < end; n++) {
      const roll = r.int(1, 100)
      const kind: KvOp['kind'] = roll <= 35 ? 'get' : roll <= 60 ? 'put' : roll <= 90 ? 'cas' : 'delete'
      const slow = outage(t)
      const latency = slow
        ? r.int(50, 3000)
        : r.chance(0.03)
          ? r.int(100, 1000)
          : 5 + r.next() * r.next() * 120
      const lost = kind !== 'get' && (slow ? r.chance(0.3) : r.chance(unknownRate))
      const failed = !lost && (slow ? r.chance(0.2) : r.chance(0.005))
      const outcome: Outcome = lost ? 'unknown' : failed ? 'failed' : 'ok'
      const at =
        outcome === 'ok'
          ? t + r.next() * latency
          : outcome === 'unknown' && r.chance(0.5)
            ? t + r.next() * (latency + r.int(0, maxLateMs))
            : Infinity
      drafts.push({
        client: c,
        kind,
        key: `k/${r.int(0, keys - 1)}`,
        ...(kind === 'put' || kind === 'cas' ? { value: `c${c}-${n}` } : {}),
        invoke: t,
        complete: outcome === 'ok' ? t + latency : outcome === 'failed' ? t + latency : Infinity,
        outcome,
        at,
      })
      t += latency + r.int(0, 10)
    }
  }
  // Replay invokes (a compare-and-set expects the value its client would have seen last, mostly
  // the current one) and effects in time order against one register per key.
  const events: Array<{ time: number; draft: Draft; apply: boolean }> = []
  for (const d of drafts) {
    events.push({ time: d.invoke, draft: d, apply: false })
    if (d.at !== Infinity) events.push({ time: d.at, draft: d, apply: true })
  }
  events.sort((a, b) => a.time - b.time || (a.apply === b.apply ? 0 : a.apply ? 1 : -1))
  const register = new Map<string, string | null>()
  const previous = new Map<string, string | null>()
  for (const { draft: d, apply } of events) {
    const state = register.get(d.key) ?? null
    if (!apply) {
      if (d.kind === 'cas') d.expect = rng.chance(0.85) ? state : (previous.get(d.key) ?? null)
      continue
    }
    const write = (next: string | null): void => {
      previous.set(d.key, state)
      register.set(d.key, next)
    }
    if (d.kind === 'get') d.read = state
    else if (d.kind === 'put') write(d.value as string)
    else if (d.kind === 'delete') {
      d.deleted = state === null ? 0 : 1
      write(null)
    } else {
      d.succeeded = state === (d.expect ?? null)
      if (d.succeeded) write(d.value as string)
      else d.read = state
    }
  }
  drafts.sort((a, b) => a.invoke - b.invoke)
  return drafts.map((d, id): KvOp => {
    const { at: _at, ...rest } = d
    if (rest.outcome === 'ok') return { id, ...rest }
    const { read: _r, deleted: _d, succeeded: _s, ...unanswered } = rest
    return { id, ...unanswered }
  })
}
