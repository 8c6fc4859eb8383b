/**
 * `GET /debug/vars`, as etcd serves Go's expvar page: one JSON object whose keys come in sorted
 * order, one `"name": value` per line. etcd publishes `cmdline`, `file_descriptor_limit`,
 * `memstats` and `raft.status`; the first three describe the process and come from the runtime
 * ({@link ProcessVars}), `raft.status` is Raft's status in etcd's JSON shape (ids in hex, states
 * named `StateLeader`, `StateReplicate`…, progress only on the leader).
 *
 * @module
 */
import type { ProgressState, Role, Status } from '../raft/types.ts'

/** The process's own variables, from the runtime; a missing one is left out of the page. */
export interface ProcessVars {
  /** The command line the process was started with. */
  readonly cmdline?: readonly string[]
  /** The soft limit on open files. */
  readonly file_descriptor_limit?: number
  /** Memory figures under Go's names where one means the same (bytes). */
  readonly memstats?: Readonly<Record<string, number>>
}

const RAFT_STATES: Readonly<Record<Role, string>> = {
  follower: 'StateFollower',
  'pre-candidate': 'StatePreCandidate',
  candidate: 'StateCandidate',
  leader: 'StateLeader',
}

const PROGRESS_STATES: Readonly<Record<ProgressState, string>> = {
  probe: 'StateProbe',
  replicate: 'StateReplicate',
  snapshot: 'StateSnapshot',
}

const hex = (id: number): string => id.toString(16)

/** Raft's status as etcd's `raft.Status` marshals it (field order included). */
export function raftStatusJson(s: Status): Record<string, unknown> {
  const progress: Record<string, unknown> = {}
  for (const [id, pr] of s.progress ?? []) progress[hex(id)] = { match: pr.match, next: pr.next, state: PROGRESS_STATES[pr.state] }
  return {
    id: hex(s.id),
    term: s.term,
    vote: hex(s.vote),
    commit: s.commit,
    lead: hex(s.lead),
    raftState: RAFT_STATES[s.role],
    applied: s.applied,
    progress,
    leadtransferee: hex(s.leadTransferee),
  }
}

/** The expvar page of `vars` (undefined values left out): `{`, sorted `"name": json` lines, `}`. */
export function renderDebugVars(vars: Readonly<Record<string, unknown>>): string {
  const lines = Object.keys(vars)
    .filter((name) => vars[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}: ${JSON.stringify(vars[name])}`)
  return `{\n${lines.join(',\n')}\n}\n`
}
