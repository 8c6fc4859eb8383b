/**
 * The peer handshake: the headers a dialling member puts on its WebSocket upgrade request, and
 * the check the accepting member runs on them before it upgrades.
 *
 *   x-edgecd-cluster-token: <shared secret>   must equal ours, else 401
 *   x-edgecd-member-id:     <decimal NodeId>   must be a current peer, else 403 (400 if garbled,
 *                                              410 if that member was removed from the cluster)
 *
 * @module
 */
import type { NodeId } from '../raft/types.ts'

export const TOKEN_HEADER = 'x-edgecd-cluster-token'
export const MEMBER_HEADER = 'x-edgecd-member-id'

export type Admission =
  | { readonly ok: true; readonly from: NodeId }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 410; readonly reason: string }

/** The upgrade answer that tells a dialling member it was removed from the cluster. */
export const REMOVED_STATUS = 410

/**
 * Decides whether a dialling member may connect. `isPeer` tells whether an ID is in the current
 * peer set, `isRemoved` whether it was removed from the cluster. The token comparison takes the
 * same time wherever the strings first differ.
 */
export function admit(
  expectedToken: string,
  token: string | undefined,
  memberId: string | undefined,
  isPeer: (id: NodeId) => boolean,
  isRemoved: (id: NodeId) => boolean = () => false,
): Admission {
  if (token === undefined || !sameSecret(token, expectedToken)) {
    return { ok: false, status: 401, reason: token === undefined ? 'missing cluster token' : 'wrong cluster token' }
  }
  const from = memberId !== undefined && /^[1-9][0-9]{0,15}$/.test(memberId) ? Number(memberId) : NaN
  if (!Number.isSafeInteger(from)) return { ok: false, status: 400, reason: 'missing or invalid member id' }
  if (isRemoved(from)) return { ok: false, status: REMOVED_STATUS, reason: `member ${from} was removed from the cluster` }
  if (!isPeer(from)) return { ok: false, status: 403, reason: `member ${from} is not a peer` }
  return { ok: true, from }
}

/** Constant-time (in the position of the first difference) string equality. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i % Math.max(a.length, 1)) | 0) ^ b.charCodeAt(i)
  return diff === 0
}
