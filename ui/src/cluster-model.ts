/**
 * Turns successive /ui/api/cluster snapshots into what the cluster view draws: each member's role
 * and health, who leads, the leader changes seen, and per-interval rates (requests/s, entries
 * applied/s, WAL fsync latency mean and p99) from the differences of the members' counters.
 *
 * @module
 */
import type { UiCluster, UiMember } from '../../src/gateway/ui-cluster.ts'
import type { MetricsSummary } from '../../src/gateway/ui-metrics.ts'

export type { UiCluster, UiMember }

export type Role = 'leader' | 'follower' | 'learner' | 'down'

export interface Point {
  readonly time: number
  /** HTTP requests per second over every member; null when no member counts them. */
  readonly requests: number | null
  /** Raft entries applied per second (the most any member applied). */
  readonly applied: number | null
  /** WAL fsync latency over the interval, in milliseconds, all members together. */
  readonly fsyncMean: number | null
  readonly fsyncP99: number | null
}

export interface LeaderEvent {
  readonly time: number
  readonly text: string
}

export interface ClusterState {
  readonly snapshot: UiCluster | null
  readonly leaderId: string
  readonly term: string
  readonly points: readonly Point[]
  readonly events: readonly LeaderEvent[]
}

export const HISTORY = 60
const EVENTS = 50

export const EMPTY: ClusterState = { snapshot: null, leaderId: '', term: '', points: [], events: [] }

/** The leader the member with the highest term believes in ('' when nobody knows one). */
export function leaderOf(snapshot: UiCluster): { id: string; term: string } {
  let best: { id: string; term: bigint } | undefined
  for (const m of snapshot.members) {
    const s = m.status
    if (s === undefined || s.leader === '0' || s.leader === '') continue
    const term = BigInt(s.raftTerm)
    if (best === undefined || term > best.term) best = { id: s.leader, term }
  }
  return best === undefined ? { id: '', term: '' } : { id: best.id, term: String(best.term) }
}

export function roleOf(member: UiMember, leaderId: string): Role {
  if (!member.reachable) return 'down'
  if (member.learner) return 'learner'
  return member.id !== '' && member.id === leaderId ? 'leader' : 'follower'
}

export function healthOf(member: UiMember): { ok: boolean; text: string } {
  if (!member.reachable) return { ok: false, text: member.error ?? 'unreachable' }
  if (member.status?.leader === '0') return { ok: false, text: 'no leader' }
  if ((member.status?.errors.length ?? 0) > 0) return { ok: false, text: member.status?.errors.join(', ') ?? '' }
  return { ok: true, text: 'healthy' }
}

export function memberLabel(member: UiMember | undefined, id: string): string {
  if (member !== undefined && member.name !== '') return member.name
  return id === '' ? 'none' : BigInt(id).toString(16)
}

function rates(prev: UiCluster, next: UiCluster): Point {
  const seconds = (next.time - prev.time) / 1000
  const before = new Map<string, MetricsSummary>()
  for (const m of prev.members) if (m.metrics !== undefined) before.set(m.endpoint, m.metrics)
  let requests = 0
  let counted = false
  let applied: number | null = null
  let fsyncCount = 0
  let fsyncSum = 0
  const buckets = new Map<number, number>()
  for (const m of next.members) {
    const a = before.get(m.endpoint)
    const b = m.metrics
    if (a === undefined || b === undefined || seconds <= 0) continue
    if (b.requests > 0) counted = true
    if (b.requests >= a.requests) requests += b.requests - a.requests
    if (b.applied >= a.applied) applied = Math.max(applied ?? 0, (b.applied - a.applied) / seconds)
    const dc = b.fsync.count - a.fsync.count
    if (dc > 0) {
      fsyncCount += dc
      fsyncSum += b.fsync.sum - a.fsync.sum
      for (const [le, cum] of b.fsync.buckets) {
        const old = a.fsync.buckets.find(([l]) => l === le)?.[1] ?? 0
        buckets.set(le, (buckets.get(le) ?? 0) + cum - old)
      }
    }
  }
  let p99: number | null = null
  if (fsyncCount > 0) {
    const bounds = [...buckets.entries()].sort((x, y) => x[0] - y[0])
    const want = fsyncCount * 0.99
    p99 = (bounds.find(([, cum]) => cum >= want)?.[0] ?? bounds[bounds.length - 1]?.[0] ?? 0) * 1000
  }
  return {
    time: next.time,
    requests: counted && seconds > 0 ? requests / seconds : null,
    applied,
    fsyncMean: fsyncCount > 0 ? (fsyncSum / fsyncCount) * 1000 : null,
    fsyncP99: p99,
  }
}

/** The next state after a new snapshot (or after a failed fetch: `snapshot` null keeps the last). */
export function advance(state: ClusterState, snapshot: UiCluster): ClusterState {
  const { id, term } = leaderOf(snapshot)
  const events = [...state.events]
  const name = (leader: string, s: UiCluster): string => memberLabel(s.members.find((m) => m.id === leader), leader)
  if (state.snapshot === null) {
    events.unshift({ time: snapshot.time, text: id === '' ? 'no leader' : `${name(id, snapshot)} leads (term ${term})` })
  } else if (id !== state.leaderId) {
    const from = state.leaderId === '' ? 'no leader' : name(state.leaderId, state.snapshot)
    const to = id === '' ? 'no leader' : `${name(id, snapshot)} (term ${term})`
    events.unshift({ time: snapshot.time, text: `leader changed: ${from} → ${to}` })
  }
  const points = state.snapshot === null ? [] : [...state.points, rates(state.snapshot, snapshot)].slice(-HISTORY)
  return { snapshot, leaderId: id, term, points, events: events.slice(0, EVENTS) }
}
