/**
 * Merges the MsgApps of one Ready that continue one another into one message per run.
 *
 * A leader sends an append for every proposal it steps (each one carries only the entries its
 * follower does not have yet), so a Ready that took in 64 proposals holds 64 one-entry MsgApps
 * per follower: 64 messages to encode, decode, step and answer where one would do. It also sends
 * an empty one to every follower each time its commit index moves (under load, about every
 * other Ready has one next to the append of new entries).
 *
 * Two messages merge when they go to the same peer with nothing else to that peer between them,
 * both are MsgApps of the same term, the second starts where the first ends (its index and
 * logTerm are the first's last entry, or the first's own index and logTerm if it has none), and
 * the first does not start below the commit index it carries. A follower drops an append that
 * starts below its commit index (answering with that index), and an append or commit update
 * merged into a dropped one is lost with it (the follower then rejects what comes next, or its
 * next heartbeat answer has the leader probe again; a leader that compacted its log meanwhile
 * must send a snapshot).
 * A probe resent from behind (the leader does not yet know how far the follower is) starts below
 * the commit index it carries, and so below the follower's commit index as this leader set it:
 * such a message takes no merge. One starting at or above it is dropped only by a follower that
 * a previous leader brought further than this one has committed yet, right after an election
 * (the follower rejects, and the leader backtracks from the index it answers with).
 * The merged message has the first's index and logTerm, both entry lists, and the second's
 * commit. A follower that steps it ends with the log and commit index it would have after
 * stepping the two (commit = min(commit, last new entry) is reached either way, and the commit
 * index only grows), and answers once with the last index, which frees the leader's inflight
 * slots of both (they are freed up to an index).
 * Messages to each peer keep their order. A merge that would carry more than `maxBytes` of entry
 * data is not made, so a merged message is no larger than what the leader may send at once.
 *
 * @module
 */
import type { Entry, Message, NodeId } from './types.ts'

export function coalesceAppends(messages: readonly Message[], maxBytes: number): Message[] {
  const out: Message[] = []
  /**
   * For each peer: where its latest message is in `out`, whether appends may merge into it (it
   * starts at or above the commit index it was sent with), its entry bytes, and, once something
   * merged into it, the entry list being gathered (one array per merged message, so a run of N
   * merges copies each entry once).
   */
  const latest = new Map<NodeId, { at: number; open: boolean; bytes: number; entries: Entry[] | null }>()
  for (const m of messages) {
    const prior = latest.get(m.to)
    const bytes = entryBytes(m)
    if (prior !== undefined && prior.open && continues(out[prior.at] as Message, m) && prior.bytes + bytes <= maxBytes) {
      const first = out[prior.at] as Message
      prior.entries ??= [...first.entries]
      for (const e of m.entries) prior.entries.push(e)
      out[prior.at] = { ...first, entries: prior.entries, commit: m.commit }
      prior.bytes += bytes
      continue
    }
    latest.set(m.to, { at: out.length, open: m.index >= m.commit, bytes, entries: null })
    out.push(m)
  }
  return out
}

function continues(first: Message, next: Message): boolean {
  if (first.type !== 'MsgApp' || next.type !== 'MsgApp') return false
  if (first.from !== next.from || first.term !== next.term) return false
  const last = first.entries[first.entries.length - 1]
  const index = last === undefined ? first.index : last.index
  const term = last === undefined ? first.logTerm : last.term
  return next.index === index && next.logTerm === term
}

function entryBytes(m: Message): number {
  let n = 0
  for (const e of m.entries) n += e.data.length
  return n
}
