/**
 * A linearizability checker for single-key register operations (put, get, delete, compare-and-set)
 * after Wing & Gong, with Lowe's memoization, as Knossos and Porcupine do it: the history is split
 * per key (P-compositionality: a history is linearizable iff each key's sub-history is), and each
 * sub-history is searched for a total order that respects real time and the register's semantics.
 *
 * Outcomes: failed operations are dropped (nothing happened); an unknown read is dropped (it had
 * no effect); an unknown write has no completion, so its effect may be placed anywhere after its
 * invoke, or nowhere (it never happened, which is the same as after everything else).
 *
 * Bounded memory and time on long histories (a 20-minute run is ~15k ops per key, ~150 of them
 * unknown): one search over a whole key keeps a memo entry per configuration, each naming the set
 * of linearized ops (O(n) each), and unknown writes, pending to the end, multiply the
 * configurations. So a key's history is cut into segments at quiescent points, where every
 * acknowledged op has either completed or not yet been invoked, and searched segment by segment:
 *
 * - Cuts. At a cut T every acknowledged op before T precedes every op after T in real time, so a
 *   linearization is the concatenation of one per segment, and what crosses the cut is only a
 *   configuration: the register's state and which unknown writes invoked before T are still
 *   unused. The search carries the set of every reachable configuration across each cut (exact:
 *   the history is linearizable iff that set is non-empty after the last segment). The memo of a
 *   segment's search is dropped at its end, and its keys are compact: the state, the linearized
 *   ops of the segment as a prefix length plus a bit window, and the unused unknowns.
 * - Dominance. A configuration with the same state and a superset of unused unknowns can do
 *   everything a smaller one can (an unknown may always stay unused), so only maximal ones are
 *   kept, across cuts and in the memo. Applying an unknown that leaves the state as it is only
 *   uses it up, so it is never tried.
 * - Opaque values. The register's step compares its state only with null and with the values an
 *   op names (a get's or failed compare-and-set's read, a compare-and-set's expected value).
 *   After a cut, two non-null values that no later op names behave identically, so a state
 *   holding such a value becomes OPAQUE, and an unused unknown put of such a value becomes a
 *   token "make the key hold some unnamed value"; an unknown compare-and-set of such a value a
 *   token "if the key holds e, make it hold some unnamed value" (keyed by e; every expected value
 *   of an unknown compare-and-set counts as named, for the whole history); an unknown delete is
 *   a token "make the key absent" from the start. Equal tokens are interchangeable, so the set of
 *   unused unknowns is a small multiset (e.g. 40 opaque puts, 12 deletes) rather than a subset
 *   of 150 ops. This loses nothing: an unknown whose value is read later stays itself until
 *   after the last op naming its value, and whatever order a token allows the op it stands for
 *   allowed too, and vice versa.
 *
 * An unknown write invoked after the last acknowledged op of its key can only come after
 * everything, so it is dropped. Unknown ops invoked inside a segment become usable once every
 * acknowledged op that completed before their invoke is linearized, as in the event list of
 * Wing & Gong; those invoked before a segment are usable at any point in it.
 *
 * @module
 */
import type { KvOp } from './history.ts'

export type Register = string | null

/**
 * The state of a register holding a value no later op names (see the module doc). Values written
 * by the workload are `c<client>-<n>`, so it cannot collide with one.
 */
const OPAQUE = '\u0001opaque'

/** One step of the register model: the next state, or undefined when the answer is impossible. */
export function step(state: Register, op: KvOp): Register | undefined {
  const known = op.outcome === 'ok'
  switch (op.kind) {
    case 'put':
      return op.value as string
    case 'get':
      return op.read === state ? state : undefined
    case 'delete':
      if (known && (op.deleted ?? 0) !== (state === null ? 0 : 1)) return undefined
      return null
    case 'cas': {
      const holds = state === (op.expect ?? null)
      if (!known) return holds ? (op.value as string) : state
      if (op.succeeded === true) return holds ? (op.value as string) : undefined
      if (holds) return undefined
      return op.read === undefined || op.read === state ? state : undefined
    }
  }
}

export interface KeyVerdict {
  readonly key: string
  readonly ops: number
  /** true: linearizable; false: not; 'timeout': the search ran out of budget. */
  readonly linearizable: boolean | 'timeout'
  /** Segments the key's history was cut into at quiescent points. */
  readonly segments?: number
  /** When not linearizable: the ops around the point where every order got stuck. */
  readonly excerpt?: readonly KvOp[]
  readonly reason?: string
}

export interface Verdict {
  readonly linearizable: boolean | 'timeout'
  readonly keys: readonly KeyVerdict[]
}

/** Checks every key's sub-history; `budgetMs` bounds the whole search. */
export function checkLinearizable(ops: readonly KvOp[], budgetMs = 30_000): Verdict {
  const byKey = new Map<string, KvOp[]>()
  for (const op of ops) {
    if (op.outcome === 'failed') continue
    if (op.kind === 'get' && op.outcome !== 'ok') continue
    const list = byKey.get(op.key) ?? []
    list.push(op)
    byKey.set(op.key, list)
  }
  const deadline = Date.now() + budgetMs
  const keys = [...byKey]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, list]) => checkKey(key, list, deadline))
  const linearizable = keys.some((k) => k.linearizable === false)
    ? false
    : keys.some((k) => k.linearizable === 'timeout')
      ? 'timeout'
      : true
  return { linearizable, keys }
}

/**
 * The unused unknown writes at some point: opaque puts, deletes, opaque compare-and-sets by
 * expected value (`ABSENT` for absence), and unknown ops still themselves (indices into the key's
 * unknown ops, sorted).
 */
interface Unused {
  readonly puts: number
  readonly deletes: number
  readonly cas: ReadonlyMap<string, number>
  readonly singles: readonly number[]
}

/** A configuration at a cut: the register's state and the unused unknowns. */
interface Config {
  readonly state: Register
  readonly unused: Unused
}

/** How an opaque compare-and-set expecting absence is keyed in {@link Unused.cas}. */
const ABSENT = '\u0000'

const NONE: Unused = { puts: 0, deletes: 0, cas: new Map(), singles: [] }

/** Whether `big` has at least every unused unknown `small` has. */
function covers(big: Unused, small: Unused): boolean {
  if (big.puts < small.puts || big.deletes < small.deletes || big.singles.length < small.singles.length)
    return false
  for (const [e, n] of small.cas) if ((big.cas.get(e) ?? 0) < n) return false
  return small.singles.every((i) => big.singles.includes(i))
}

/** Adds `unused` to the antichain `kept` unless covered; drops what it covers. False if covered. */
function keepMaximal(kept: Unused[], unused: Unused): boolean {
  if (kept.some((k) => covers(k, unused))) return false
  for (let i = kept.length - 1; i >= 0; i--) if (covers(unused, kept[i] as Unused)) kept.splice(i, 1)
  kept.push(unused)
  return true
}

/** A move using one unused unknown. */
type Use =
  | { readonly kind: 'put' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'cas'; readonly expect: string }
  | number

function withCas(cas: ReadonlyMap<string, number>, e: string, delta: number): Map<string, number> {
  const out = new Map(cas)
  const n = (out.get(e) ?? 0) + delta
  if (n === 0) out.delete(e)
  else out.set(e, n)
  return out
}

function without(u: Unused, use: Use): Unused {
  if (typeof use === 'number') return { ...u, singles: u.singles.filter((i) => i !== use) }
  if (use.kind === 'put') return { ...u, puts: u.puts - 1 }
  if (use.kind === 'delete') return { ...u, deletes: u.deletes - 1 }
  return { ...u, cas: withCas(u.cas, use.expect, -1) }
}

/** The effect of a use in `state`. */
function apply(state: Register, use: Use, unknown: readonly KvOp[]): Register {
  if (typeof use === 'number') return step(state, unknown[use] as KvOp) as Register
  if (use.kind === 'put') return OPAQUE
  if (use.kind === 'delete') return null
  return state === (use.expect === ABSENT ? null : use.expect) ? OPAQUE : state
}

/** The uses that change `state` (using an unknown that changes nothing only uses it up). */
function uses(state: Register, u: Unused, unknown: readonly KvOp[]): Use[] {
  const out: Use[] = []
  if (u.puts > 0 && state !== OPAQUE) out.push({ kind: 'put' })
  if (u.deletes > 0 && state !== null) out.push({ kind: 'delete' })
  const e = state === null ? ABSENT : state
  if (state !== OPAQUE && u.cas.has(e)) out.push({ kind: 'cas', expect: e })
  for (const i of u.singles) if (apply(state, i, unknown) !== state) out.push(i)
  return out
}

/** One key's sub-history, starting from an absent key. */
export function checkKey(key: string, ops: readonly KvOp[], deadline: number): KeyVerdict {
  const known = ops.filter((o) => o.outcome === 'ok').sort((a, b) => a.invoke - b.invoke || a.id - b.id)
  const unknown = ops
    .filter((o) => o.outcome === 'unknown' && o.kind !== 'get')
    .sort((a, b) => a.invoke - b.invoke || a.id - b.id)
  // Segments: [starts[s], starts[s + 1]) of `known`, cut where every earlier op has completed.
  const starts: number[] = []
  let maxComplete = -Infinity
  known.forEach((o, i) => {
    if (i === 0 || maxComplete < o.invoke) starts.push(i)
    maxComplete = Math.max(maxComplete, o.complete)
  })
  starts.push(known.length)
  const segments = starts.length - 1
  // Each unknown joins the first segment that has an op completing at or after its invoke.
  const joins: number[][] = Array.from({ length: segments }, () => [])
  let s = 0
  let segMax = -Infinity
  unknown.forEach((u, i) => {
    while (s < segments) {
      if (segMax === -Infinity)
        for (let j = starts[s] as number; j < (starts[s + 1] as number); j++)
          segMax = Math.max(segMax, (known[j] as KvOp).complete)
      if (u.invoke <= segMax) break
      s++
      segMax = -Infinity
    }
    if (s < segments) (joins[s] as number[]).push(i)
  })
  // The last segment naming each value (unknown compare-and-sets' expected values: always), and
  // the segment writing it (an unknown: the one it joins).
  const lastNamed = new Map<string, number>()
  const written = new Map<string, number>()
  for (let seg = 0; seg < segments; seg++) {
    for (let i = starts[seg] as number; i < (starts[seg + 1] as number); i++) {
      const o = known[i] as KvOp
      for (const v of [o.read, o.expect]) if (typeof v === 'string') lastNamed.set(v, seg)
      if (o.value !== undefined) written.set(o.value, seg)
    }
    for (const i of joins[seg] as number[]) {
      const o = unknown[i] as KvOp
      if (o.value !== undefined) written.set(o.value, seg)
    }
  }
  for (const o of unknown)
    if (o.kind === 'cas' && typeof o.expect === 'string') lastNamed.set(o.expect, Infinity)

  let configs: Config[] = [{ state: null, unused: NONE }]
  for (let seg = 0; seg < segments; seg++) {
    const segOps = known.slice(starts[seg], starts[seg + 1])
    const joining = (joins[seg] as number[]).map((i) => [i, unknown[i] as KvOp] as const)
    const result = searchSegment(segOps, joining, unknown, configs, deadline)
    if (result === 'timeout') return { key, ops: ops.length, segments, linearizable: 'timeout' }
    if (result.ends.length === 0)
      return { key, ops: ops.length, segments, linearizable: false, ...explain(ops, result.stuck) }
    configs = atCut(result.ends, seg, unknown, lastNamed, written)
  }
  return { key, ops: ops.length, segments, linearizable: true }
}

/**
 * Past the cut after segment `seg`: a state or unknown whose value no later op names becomes
 * opaque; an opaque compare-and-set whose expected value no state can hold any more (not the
 * state now, not written by an unused unknown or a later op) can never apply and is dropped.
 */
function atCut(
  ends: readonly Config[],
  seg: number,
  unknown: readonly KvOp[],
  lastNamed: ReadonlyMap<string, number>,
  written: ReadonlyMap<string, number>,
): Config[] {
  const unnamed = (v: string): boolean => (lastNamed.get(v) ?? -1) <= seg
  const byState = new Map<Register, Unused[]>()
  for (const c of ends) {
    const state = c.state !== null && c.state !== OPAQUE && unnamed(c.state) ? OPAQUE : c.state
    let { puts, cas } = c.unused
    const singles: number[] = []
    for (const i of c.unused.singles) {
      const op = unknown[i] as KvOp
      if (!unnamed(op.value as string)) singles.push(i)
      else if (op.kind === 'put') puts++
      else cas = withCas(cas, op.expect ?? ABSENT, 1)
    }
    const reachable = (e: string): boolean =>
      e === ABSENT ||
      e === state ||
      (written.get(e) ?? -1) > seg ||
      singles.some((i) => (unknown[i] as KvOp).value === e)
    if ([...cas.keys()].some((e) => !reachable(e)))
      cas = new Map([...cas].filter(([e]) => reachable(e)))
    const kept = byState.get(state) ?? []
    keepMaximal(kept, { puts, deletes: c.unused.deletes, cas, singles })
    byState.set(state, kept)
  }
  return [...byState].flatMap(([state, list]) => list.map((unused) => ({ state, unused })))
}

interface Frame {
  readonly state: Register
  readonly unused: Unused
  /** Unknowns of the segment that have joined `unused` (a prefix of the segment's list). */
  readonly joined: number
  /** The op (index in the segment) whose linearization led here; -1 for a start or a used unknown. */
  readonly via: number
  /** Candidate moves, computed on first visit; next to try. */
  moves: Array<{ readonly op: number } | { readonly use: Use }> | null
  next: number
}

/**
 * All configurations reachable at the end of a segment (every op of it linearized) from the
 * given ones; or the op where the deepest attempt got stuck when there are none.
 */
function searchSegment(
  segOps: readonly KvOp[],
  joining: ReadonlyArray<readonly [number, KvOp]>,
  unknown: readonly KvOp[],
  starts: readonly Config[],
  deadline: number,
): { ends: Config[]; stuck: KvOp | null } | 'timeout' {
  const m = segOps.length
  const done = new Uint8Array(m)
  let doneCount = 0
  let low = 0
  const memo = new Map<string, Unused[]>()
  const ends: Config[] = []
  let deepest = -1
  let stuck: KvOp | null = null
  let steps = 0
  /** The least completion among unlinearized ops, scanning only where it can still drop. */
  const pendingMin = (): number => {
    let min = Infinity
    for (let j = low; j < m && (segOps[j] as KvOp).invoke <= min; j++)
      if (done[j] === 0) min = Math.min(min, (segOps[j] as KvOp).complete)
    return min
  }
  /** The linearized ops: how many lead in invoke order, then a bit window up to the last one. */
  const linearizedKey = (): string => {
    let hi = m - 1
    while (hi >= low && done[hi] === 0) hi--
    let bits = ''
    for (let j = low; j <= hi; j++) bits += done[j] === 1 ? '1' : '0'
    return `${low}:${bits}`
  }
  const enter = (state: Register, unused: Unused, joined: number, via: number): Frame | null => {
    const min = pendingMin()
    let all = unused
    let j = joined
    for (; j < joining.length && (joining[j] as readonly [number, KvOp])[1].invoke <= min; j++) {
      const [i, u] = joining[j] as readonly [number, KvOp]
      all =
        u.kind === 'delete'
          ? { ...all, deletes: all.deletes + 1 }
          : { ...all, singles: [...all.singles, i].sort((a, b) => a - b) }
    }
    const memoKey = `${state === null ? ABSENT : state}|${linearizedKey()}`
    const seen = memo.get(memoKey) ?? []
    if (!keepMaximal(seen, all)) return null
    memo.set(memoKey, seen)
    return { state, unused: all, joined: j, via, moves: null, next: 0 }
  }
  for (const start of starts) {
    const first = enter(start.state, start.unused, 0, -1)
    if (first === null) continue
    const stack: Frame[] = [first]
    while (stack.length > 0) {
      if (++steps % 4096 === 0 && Date.now() > deadline) return 'timeout'
      const top = stack[stack.length - 1] as Frame
      if (top.moves === null) {
        if (doneCount === m) {
          ends.push({ state: top.state, unused: top.unused })
          top.moves = []
        } else {
          const min = pendingMin()
          const moves: NonNullable<Frame['moves']> = []
          for (let j = low; j < m && (segOps[j] as KvOp).invoke <= min; j++)
            if (done[j] === 0) moves.push({ op: j })
          for (const use of uses(top.state, top.unused, unknown)) moves.push({ use })
          top.moves = moves
        }
      }
      const move = top.moves[top.next++]
      if (move === undefined) {
        if (doneCount < m && doneCount >= deepest) {
          deepest = doneCount
          let min = Infinity
          for (let j = low; j < m; j++)
            if (done[j] === 0 && (segOps[j] as KvOp).complete < min) {
              min = (segOps[j] as KvOp).complete
              stuck = segOps[j] as KvOp
            }
        }
        stack.pop()
        if (top.via >= 0) {
          done[top.via] = 0
          doneCount--
          if (top.via < low) low = top.via
        }
        continue
      }
      if ('op' in move) {
        const next = step(top.state, segOps[move.op] as KvOp)
        if (next === undefined) continue
        done[move.op] = 1
        doneCount++
        while (low < m && done[low] === 1) low++
        const child = enter(next, top.unused, top.joined, move.op)
        if (child === null) {
          done[move.op] = 0
          doneCount--
          if (move.op < low) low = move.op
          continue
        }
        stack.push(child)
      } else {
        const next = apply(top.state, move.use, unknown)
        const child = enter(next, without(top.unused, move.use), top.joined, -1)
        if (child !== null) stack.push(child)
      }
    }
  }
  return { ends, stuck }
}

/** The op whose completion no order could reach, and the ops overlapping it or just before it. */
function explain(ops: readonly KvOp[], stuck: KvOp | null): { excerpt: KvOp[]; reason: string } {
  if (stuck === null) return { excerpt: [], reason: 'no linearization' }
  const from = stuck.invoke - 2000
  const excerpt = ops
    .filter((o) => (o.outcome === 'ok' ? o.complete : Infinity) >= from && o.invoke <= stuck.complete)
    .sort((a, b) => a.invoke - b.invoke)
    .slice(-40)
  return { excerpt, reason: `no order of the operations explains op ${stuck.id} (${describeOp(stuck)})` }
}

export function describeOp(op: KvOp): string {
  const t = `[${op.invoke.toFixed(1)}, ${op.outcome === 'ok' ? op.complete.toFixed(1) : '?'}]`
  const res =
    op.outcome !== 'ok'
      ? op.outcome
      : op.kind === 'get'
        ? `→ ${JSON.stringify(op.read)} @${op.revision}`
        : op.kind === 'delete'
          ? `→ deleted ${op.deleted} @${op.revision}`
          : op.kind === 'cas'
            ? `→ ${op.succeeded ? 'ok' : `else read ${JSON.stringify(op.read)}`} @${op.revision}`
            : `→ @${op.revision}`
  const args =
    op.kind === 'cas'
      ? `${JSON.stringify(op.expect)} → ${JSON.stringify(op.value)}`
      : op.kind === 'put'
        ? JSON.stringify(op.value)
        : ''
  return `c${op.client} #${op.id} ${t} ${op.kind} ${op.key} ${args} ${res}`.replace(/ +/g, ' ')
}
