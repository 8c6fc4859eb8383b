/**
 * What a watch stream may create: with auth enabled, each create request needs read permission
 * on its whole range, checked when it arrives (etcd's rule: later permission changes do not
 * touch a running watcher). The caller is identified once per stream, at its first create; an
 * unidentified or unpermitted create is refused in etcd's shape, as a gRPC error text:
 *
 *   {"watch_id":"-1","created":true,"canceled":true,
 *    "cancel_reason":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
 *
 * It also caps the watchers one stream holds at once (--max-watchers-per-stream); a create
 * beyond the cap is refused the same way with `etcdserver: too many watchers on the WatchStream`.
 *
 * @module
 */
import { EtcdError, GrpcCode, type WatchCreateRequest, type WatchResponse } from '../mvcc/index.ts'
import { AuthErrors } from './auth-errors.ts'
import { authGate, tokenOf, type Connection, type Principal } from './auth-gate.ts'
import { DEFAULT_STREAM_LIMITS, type MemberContext } from './member-context.ts'

export const TOO_MANY_WATCHERS = 'etcdserver: too many watchers on the WatchStream'

const CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(GrpcCode).map(([name, code]) => [code, name]),
)

/** `rpc error: code = PermissionDenied desc = etcdserver: permission denied`. */
export function grpcErrorText(err: EtcdError): string {
  return `rpc error: code = ${CODE_NAMES[err.code] ?? 'Unknown'} desc = ${err.message}`
}

export class WatchGuard {
  readonly #m: MemberContext
  readonly #headers: Headers
  readonly #connection: Connection
  #identity: Promise<Principal | EtcdError> | null = null

  constructor(m: MemberContext, headers: Headers, connection: Connection) {
    this.#m = m
    this.#headers = headers
    this.#connection = connection
  }

  /** Why `create` must be refused on a stream holding `live` watchers, or null to let it through. */
  async refusal(create: WatchCreateRequest, live: number): Promise<string | null> {
    if (live >= (this.#m.streams ?? DEFAULT_STREAM_LIMITS).maxWatchers) return TOO_MANY_WATCHERS
    const store = this.#m.actor.auth
    // While auth is off, a token is refused as a bad one (auth-gate.ts).
    if (!store.enabled()) return tokenOf(this.#headers) === null ? null : grpcErrorText(AuthErrors.invalidToken())
    this.#identity ??= authGate(this.#m)
      .principal(this.#m.actor, this.#headers, this.#connection)
      .catch((err: unknown) => (err instanceof EtcdError ? err : new EtcdError(GrpcCode.Unknown, String(err))))
    const who = await this.#identity
    if (who instanceof EtcdError) return grpcErrorText(who)
    if (!authGate(this.#m).canRead(this.#m, who, create.key, create.rangeEnd))
      return grpcErrorText(new EtcdError(GrpcCode.PermissionDenied, 'etcdserver: permission denied'))
    return null
  }

  /** The refusal message, in the order of the stream's other responses. */
  refused(reason: string): WatchResponse {
    const revision = this.#m.actor.hub.revision
    return {
      watchId: -1, headerRevision: revision, created: true, canceled: true, compactRevision: 0, cancelReason: reason, events: [],
    }
  }
}
