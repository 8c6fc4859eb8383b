/**
 * Vouching for a certificate-only user across a forward: with `--client-cert-auth`, a follower
 * that forwards a leader-only call (forward.ts) has verified the client's TLS certificate, but the
 * leader only sees the follower's own certificate. The follower therefore adds
 *
 *   x-edgecd-forwarded-user:  <the client's CN, percent-encoded UTF-8>
 *   x-edgecd-forwarded-proof: <ms timestamp>.<hex HMAC-SHA256>
 *
 * and the leader takes that CN as the request's certificate user only if the proof verifies.
 *
 * Invariants:
 * - The MAC key is derived from the cluster's replicated auth secret (32 random bytes proposed by
 *   the first `auth enable`, auth-store.ts `jwtKey`) and the cluster token. The secret never
 *   leaves the members (only root can read it, through a snapshot), so no client can compute a
 *   proof; the cluster token alone (often left at its default) is not enough. Before auth was
 *   first enabled there is no key: nothing is vouched for (a CN means nothing while auth is off).
 * - The MAC covers the target member's ID, the method, the path, the timestamp and the user: a
 *   proof is good for that one call shape on that one member, for {@link FORWARDED_USER_VALIDITY_MS}
 *   either side of the verifier's clock. It travels only member to member over TLS.
 * - A claim is only ever considered on a request that arrived with the forwarded marker over a
 *   TLS connection whose certificate the server verified, with --client-cert-auth on (tls.ts
 *   `connectionOf`), for a leader-only call (app.ts). A claim that fails verification grants
 *   nothing: the connection then has no certificate user at all.
 * - A member never passes on claim headers a client sent: forward.ts copies only an allow-list
 *   of headers and adds its own claim for the CN it verified itself.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Connection } from './auth-gate.ts'
import type { MemberContext } from './member-context.ts'

export const FORWARDED_USER_HEADER = 'x-edgecd-forwarded-user'
export const FORWARDED_PROOF_HEADER = 'x-edgecd-forwarded-proof'

/** How far (ms) a proof's timestamp may be from the verifier's clock, either way. */
export const FORWARDED_USER_VALIDITY_MS = 30_000

/** The claim headers as received: nothing in it is verified. */
export interface ForwardedClaim {
  readonly user: string
  readonly proof: string
}

/** What a proof is bound to besides the user. */
export interface ForwardedCall {
  /** The member the call is sent to (the leader). */
  readonly target: number
  readonly method: string
  readonly path: string
}

const KEY_LABEL = 'edgecd forwarded-user key v1\n'
const PROOF = /^(\d{1,16})\.([0-9a-f]{64})$/

/** The MAC key from the replicated auth secret and the cluster token; null before auth was ever enabled. */
export function forwardedUserKey(authSecret: Uint8Array | null, clusterToken: string): Buffer | null {
  if (authSecret === null || authSecret.length === 0) return null
  return createHmac('sha256', authSecret).update(KEY_LABEL).update(clusterToken).digest()
}

function mac(key: Buffer, call: ForwardedCall, at: number, user: string): Buffer {
  const head = `v1\n${call.target}\n${call.method.toUpperCase()}\n${call.path}\n${at}\n`
  return createHmac('sha256', key).update(head).update(user, 'utf8').digest()
}

/** The claim headers vouching that `user` makes `call` at time `now` (ms). */
export function signForwardedUser(key: Buffer, call: ForwardedCall, user: string, now: number): Record<string, string> {
  const at = Math.floor(now)
  return {
    [FORWARDED_USER_HEADER]: encodeURIComponent(user),
    [FORWARDED_PROOF_HEADER]: `${at}.${mac(key, call, at, user).toString('hex')}`,
  }
}

/** The user `claim` vouches for on `call`, or null when the proof is missing, stale or wrong. */
export function verifyForwardedUser(key: Buffer | null, claim: ForwardedClaim, call: ForwardedCall, now: number): string | null {
  if (key === null) return null
  const m = PROOF.exec(claim.proof)
  if (m === null) return null
  const at = Number(m[1])
  if (!(Math.abs(now - at) <= FORWARDED_USER_VALIDITY_MS)) return null
  let user: string
  try {
    user = decodeURIComponent(claim.user)
  } catch {
    return null
  }
  if (user === '') return null
  const expected = mac(key, call, at, user)
  const given = Buffer.from(m[2] as string, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected) ? user : null
}

/** The claim headers of `headers`, unverified; null unless both are present. */
export function readForwardedClaim(headers: { get(name: string): string | null | undefined }): ForwardedClaim | null {
  const user = headers.get(FORWARDED_USER_HEADER)
  const proof = headers.get(FORWARDED_PROOF_HEADER)
  return typeof user === 'string' && typeof proof === 'string' ? { user, proof } : null
}

function keyOf(m: MemberContext): Buffer | null {
  return forwardedUserKey(m.actor.auth.jwtKey(), m.clusterToken)
}

/**
 * Follower side: the claim headers for forwarding `request` to member `target` on behalf of the
 * certificate user of `connection`; none without a verified CN or before auth was ever enabled.
 */
export function vouchForCaller(m: MemberContext, connection: Connection, request: Request, target: number): Record<string, string> {
  const user = connection.commonName
  if (user === null || user === '') return {}
  const key = keyOf(m)
  if (key === null) return {}
  const call = { target, method: request.method, path: new URL(request.url).pathname }
  return signForwardedUser(key, call, user, m.actor.clock.now())
}

/**
 * Leader side: `connection` without its unverified claim; with the claimed user as its certificate
 * user when `honoured` (a leader-only call) and the proof holds for this member, method and path.
 */
export function settleForwardedClaim(
  m: MemberContext,
  connection: Connection,
  request: { readonly method: string; readonly path: string },
  honoured: boolean,
): Connection {
  const claim = connection.forwardClaim
  if (claim === undefined) return connection
  const base: Connection = { address: connection.address, commonName: connection.commonName }
  if (!honoured) return base
  const call = { target: m.actor.config.id, method: request.method, path: request.path }
  const user = verifyForwardedUser(keyOf(m), claim, call, m.actor.clock.now())
  return user === null ? base : { address: connection.address, commonName: user }
}
