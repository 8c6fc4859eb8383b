/**
 * One user's permission checks against the replicated auth store and MVCC store: used when a
 * request arrives (auth-gate.ts) and again when a proposed write is applied, if the auth store
 * changed in between (see {@link checkAtApply}).
 *
 * Everything a check reads is replicated state (roles, permissions, the keys attached to a
 * lease), never a clock, so a check made at apply gives the same answer on every member.
 *
 * @module
 */
import { prefixRangeEnd } from '../api/index.ts'
import type { Command, EtcdError, MvccStore, RequestOp, TxnRequest } from '../mvcc/index.ts'
import { AuthErrors } from './auth-errors.ts'
import { covers, type Access } from './auth-perms.ts'
import { ROOT, type AuthStore, type StoredPermission } from './auth-store.ts'
import { prefixOf } from './concurrency.ts'

const EMPTY = new Uint8Array(0)

export interface Principal {
  readonly name: string
  readonly root: boolean
  /** The auth store's revision when the principal was looked up (its rights are as of then). */
  readonly authRevision: number
}

/** Who a proposal acts for, carried in its Raft entry (envelope.ts). */
export interface ProposedBy {
  readonly user: string
  readonly authRevision: number
}

/** The principal named `name` as the auth store knows it now. */
export function principalOf(auth: AuthStore, name: string): Principal {
  return { name, root: auth.user(name)?.roles.includes(ROOT) ?? false, authRevision: auth.revision() }
}

/** Checks of one principal; each throws `permission denied` when refused. */
export class Checker {
  readonly principal: Principal
  readonly #store: MvccStore
  readonly #perms: StoredPermission[]
  readonly #roles: readonly string[]

  constructor(auth: AuthStore, store: MvccStore, principal: Principal) {
    this.principal = principal
    this.#store = store
    this.#roles = auth.user(principal.name)?.roles ?? []
    this.#perms = this.#roles.flatMap((r) => auth.role(r) ?? [])
  }

  root(): void {
    if (!this.principal.root) throw AuthErrors.permissionDenied()
  }

  hasRole(role: string): boolean {
    return this.#roles.includes(role)
  }

  need(access: Access, key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this.principal.root && !covers(this.#perms, access, key, rangeEnd)) throw AuthErrors.permissionDenied()
  }

  prefix(name: Uint8Array, ...access: Access[]): void {
    const prefix = prefixOf(name)
    for (const a of access) this.need(a, prefix, prefixRangeEnd(prefix))
  }

  put(key: Uint8Array, prevKv: boolean, lease: bigint): void {
    this.need('write', key, EMPTY)
    if (prevKv) this.need('read', key, EMPTY)
    if (lease !== 0n) this.leaseKeys('write', lease)
  }

  deleteRange(key: Uint8Array, rangeEnd: Uint8Array, prevKv: boolean): void {
    this.need('write', key, rangeEnd)
    if (prevKv) this.need('read', key, rangeEnd)
  }

  txn(t: TxnRequest): void {
    for (const c of t.compare) this.need('read', c.key, c.rangeEnd)
    for (const op of [...t.success, ...t.failure]) this.#op(op)
  }

  /** Every key attached to `lease`. */
  leaseKeys(access: Access, lease: bigint): void {
    if (this.principal.root) return
    for (const k of this.#store.leaseKeys(lease)) this.need(access, k, EMPTY)
  }

  #op(op: RequestOp): void {
    if (op.type === 'range') this.need('read', op.request.key, op.request.rangeEnd)
    else if (op.type === 'put') this.put(op.request.key, op.request.prevKv, op.request.lease)
    else if (op.type === 'delete-range') this.deleteRange(op.request.key, op.request.rangeEnd, op.request.prevKv)
    else this.txn(op.request)
  }
}

/**
 * The check a proposed command passes again when it is applied (etcd's auth applier). Only when
 * the auth store changed since the request was checked (`by.authRevision` is older) is there
 * anything to do: then the user's rights as of now decide, so a permission revoked, a role
 * taken away or a user deleted while the write was in flight stops it. Auth turned off since
 * lets it through. Answers the error to fail the command with, or null to apply it.
 */
export function checkAtApply(auth: AuthStore, store: MvccStore, by: ProposedBy, command: Command): EtcdError | null {
  if (!auth.enabled() || by.authRevision >= auth.revision()) return null
  if (auth.user(by.user) === null) return AuthErrors.permissionDenied()
  const g = new Checker(auth, store, principalOf(auth, by.user))
  try {
    switch (command.type) {
      case 'put':
        g.put(command.request.key, command.request.prevKv, command.request.lease)
        break
      case 'delete-range':
        g.deleteRange(command.request.key, command.request.rangeEnd, command.request.prevKv)
        break
      case 'txn':
        g.txn(command.request)
        break
      case 'lease-revoke':
        g.leaseKeys('write', command.request.id)
        break
      case 'lease-grant':
      case 'lease-checkpoint':
      case 'compaction':
        break
      case 'alarm':
        g.root()
        break
    }
    return null
  } catch (err) {
    return err as EtcdError
  }
}
