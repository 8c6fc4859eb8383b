/**
 * What a chaos run records: every client operation with its invoke and complete times and its
 * outcome, every watch stream's messages, the lease timeline, and the faults. Times are
 * milliseconds since the start of the run (performance.now() based, fractional).
 *
 * Outcomes: `ok` (an answer came back), `failed` (an error that proves nothing happened: a
 * validation error, or a refusal the client knows was never proposed), `unknown` (a timeout or a
 * lost connection: a write may or may not have happened, at any time after its invoke).
 *
 * @module
 */

export type Outcome = 'ok' | 'failed' | 'unknown'

/** A single-key operation: the subject of the linearizability checker. */
export interface KvOp {
  readonly id: number
  readonly client: number
  readonly kind: 'put' | 'get' | 'delete' | 'cas'
  readonly key: string
  /** put, cas: the value written (unique per run). */
  readonly value?: string
  /** cas: the value compared with; null means "the key does not exist". */
  readonly expect?: string | null
  readonly invoke: number
  complete: number
  outcome: Outcome
  /** get: the value read (null: absent); cas that did not succeed: the value its else-branch read. */
  read?: string | null
  /** delete: keys deleted (0 or 1). */
  deleted?: number
  /** cas: whether the compare held. */
  succeeded?: boolean
  /** The answer's header revision. */
  revision?: number
  /** get: the key's mod_revision (0: absent). */
  modRevision?: number
  error?: string
}

export interface WatchEventRecord {
  readonly type: 'PUT' | 'DELETE'
  readonly key: string
  readonly value: string
  readonly modRevision: number
}

export interface WatchMessage {
  readonly at: number
  readonly kind: 'created' | 'events' | 'progress' | 'canceled'
  readonly revision: number
  readonly events: readonly WatchEventRecord[]
  readonly compactRevision?: number
}

/** One watch stream as the test opened it (the client reconnects inside it transparently). */
export interface WatchSegment {
  readonly watcher: number
  /** The start revision asked for (0: from now). */
  readonly startRevision: number
  readonly opened: number
  readonly messages: WatchMessage[]
  error?: string
}

export interface LeaseRecord {
  readonly id: string
  readonly ttl: number
  readonly grantInvoke: number
  /** Successful keepalives: invoke time and the TTL (seconds) the answer gave. */
  readonly keepalives: Array<{ readonly invoke: number; readonly ttl: number }>
  /** Keys attached with an acknowledged put. */
  readonly keys: string[]
  /** When the test last sent a keepalive (or the grant): the lease is not renewed after. */
  lastRenewInvoke: number
  revokeInvoke?: number
}

export interface FaultRecord {
  readonly kind: string
  readonly target: string
  readonly start: number
  end: number
  readonly detail?: string
  /** kill of the leader: ms until a new leader was agreed on. */
  newLeaderMs?: number
}

export interface History {
  readonly ops: KvOp[]
  readonly watches: WatchSegment[]
  readonly leases: LeaseRecord[]
  readonly faults: FaultRecord[]
}

export function emptyHistory(): History {
  return { ops: [], watches: [], leases: [], faults: [] }
}
