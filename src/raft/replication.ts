/**
 * What a leader sends to followers: appends (or a snapshot when the entries it needs are
 * compacted), heartbeats, and the TimeoutNow of a leadership transfer. Each function reads the
 * follower's Progress and updates it for what was sent.
 *
 * @module
 */
import type { Raft } from './raft.ts'
import type { Progress } from './tracker/progress.ts'
import { SnapshotUnavailableError } from './types.ts'
import type { Entry, NodeId, Snapshot } from './types.ts'

/**
 * Sends `to` the entries after its `next` index (one MsgApp, at most maxSizePerMsg), or a snapshot
 * if they were compacted. With `sendIfEmpty`, an entry-less MsgApp still goes out (to carry the
 * commit index or probe). Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress(to)
  if (pr === undefined || to === r.id || pr.isPaused()) return false
  const prevIndex = pr.next - 1
  const last = r.log.lastIndex()
  // A stale ack could in principle put next past our log; there is nothing to send then.
  if (prevIndex > last) return false
  const prevTerm = r.log.termOrNull(prevIndex)
  if (prevTerm === null) return sendSnapshot(r, to, pr)
  const ents: Entry[] = pr.next <= last ? r.log.entriesFrom(pr.next, r.maxSizePerMsg) : []
  if (ents.length === 0 && !sendIfEmpty) return false
  r.send({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed })
  pr.sentEntries(ents.length, prevIndex + ents.length)
  return true
}

/**
 * The follower needs entries we no longer have: send the latest snapshot and wait for it. When
 * the storage has none yet, nothing is sent and the progress is left as it is: the follower's
 * next response (a heartbeat's at the latest) brings us back here.
 */
function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  let snapshot: Snapshot
  try {
    snapshot = r.log.snapshot()
  } catch (err) {
    if (err instanceof SnapshotUnavailableError) return false
    throw err
  }
  if (snapshot.metadata.index === 0) throw new Error('raft: need a snapshot but storage has none')
  r.send({ type: 'MsgSnap', to, snapshot })
  pr.becomeSnapshot(snapshot.metadata.index)
  return true
}

/** Sends every other member what it is missing (and at least the commit index). */
export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.ids()) if (id !== r.id) maybeSendAppend(r, id, true)
}

/**
 * Sends a heartbeat to every other member. The commit index is capped at what each follower is
 * known to hold; the context carries the read-index round in flight, if any.
 */
export function bcastHeartbeat(r: Raft): void {
  const context = r.readOnly.context()
  for (const id of r.tracker.ids()) {
    if (id === r.id) continue
    const pr = r.tracker.progress(id) as Progress
    r.send({ type: 'MsgHeartbeat', to: id, commit: Math.min(pr.match, r.log.committed), context })
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'MsgTimeoutNow', to })
}
