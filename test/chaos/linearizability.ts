/**
 * A linearizability checker for single-key register operations (put, get, delete, compare-and-set)
 * after Wing & Gong, with Lowe's memoization, as Knossos and Porcupine do it: the history is split
 * per key (P-compositionality: a history is linearizable iff each key's sub-history is), and each
 * sub-history is searched for a total order that respects real time and the register's semantics.
 *
 * Outcomes: failed operations are dropped (nothing happened); an unknown read is dropped (it had
 * no effect); an unknown write gets an infinite completion time, so the search may place its
 * effect anywhere after its invoke, or after everything else (it never happened).
 *
 * @module
 */
import type { KvOp } from './history.ts'

export type Register = string | null

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
  /** When not linearizable: the ops around the point where every order got stuck. */
  readonly excerpt?: readonly KvOp[]
  readonly reason?: string
}

export interface Verdict {
  readonly linearizable: boolean | 'timeout'
  readonly keys: readonly KeyVerdict[]
}

interface Node {
  readonly op: KvOp | null
  /** For a call node, its return node; null for a return node. */
  readonly match: Node | null
  readonly index: number
  prev: Node | null
  next: Node | null
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

/** One key's sub-history, starting from an absent key. */
export function checkKey(key: string, ops: readonly KvOp[], deadline: number): KeyVerdict {
  const n = ops.length
  const events: Array<{ time: number; call: boolean; i: number }> = []
  ops.forEach((op, i) => {
    events.push({ time: op.invoke, call: true, i })
    events.push({ time: op.outcome === 'ok' ? op.complete : Infinity, call: false, i })
  })
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.i - b.i : a.call ? -1 : 1))
  const returns = new Map<number, Node>()
  const head: Node = { op: null, match: null, index: -1, prev: null, next: null }
  let tail = head
  const calls: Node[] = []
  for (const e of events) {
    const node: Node = e.call
      ? { op: ops[e.i] as KvOp, match: null, index: e.i, prev: tail, next: null }
      : { op: null, match: null, index: e.i, prev: tail, next: null }
    if (e.call) calls.push(node)
    else returns.set(e.i, node)
    tail.next = node
    tail = node
  }
  for (const c of calls) (c as { match: Node | null }).match = returns.get(c.index) as Node

  const words = Math.ceil(n / 32)
  const linearized = new Uint32Array(words)
  const cache = new Set<string>()
  const stack: Array<{ node: Node; state: Register }> = []
  let state: Register = null
  let entry: Node | null = head.next
  let deepest = 0
  let stuckAt: KvOp | null = null
  let steps = 0
  while (head.next !== null) {
    if (++steps % 4096 === 0 && Date.now() > deadline) return { key, ops: n, linearizable: 'timeout' }
    if (entry === null) break
    if (entry.match !== null) {
      const next = step(state, entry.op as KvOp)
      if (next !== undefined) {
        linearized[entry.index >>> 5] = (linearized[entry.index >>> 5] as number) | (1 << (entry.index & 31))
        const memo = `${next === null ? '\u0000' : next}|${linearized.join(',')}`
        if (!cache.has(memo)) {
          cache.add(memo)
          stack.push({ node: entry, state })
          state = next
          lift(entry)
          entry = head.next
          continue
        }
        linearized[entry.index >>> 5] = (linearized[entry.index >>> 5] as number) & ~(1 << (entry.index & 31))
      }
      entry = entry.next
    } else {
      if (stack.length >= deepest) {
        deepest = stack.length
        stuckAt = ops[entry.index] as KvOp
      }
      const top = stack.pop()
      if (top === undefined) return { key, ops: n, linearizable: false, ...explain(ops, stuckAt) }
      entry = top.node
      state = top.state
      linearized[entry.index >>> 5] = (linearized[entry.index >>> 5] as number) & ~(1 << (entry.index & 31))
      unlift(entry)
      entry = entry.next
    }
  }
  return { key, ops: n, linearizable: true }
}

function lift(call: Node): void {
  const ret = call.match as Node
  ;(call.prev as Node).next = call.next
  if (call.next !== null) call.next.prev = call.prev
  ;(ret.prev as Node).next = ret.next
  if (ret.next !== null) ret.next.prev = ret.prev
}

function unlift(call: Node): void {
  const ret = call.match as Node
  ;(ret.prev as Node).next = ret
  if (ret.next !== null) ret.next.prev = ret
  ;(call.prev as Node).next = call
  if (call.next !== null) call.next.prev = call
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
