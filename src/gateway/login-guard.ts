/**
 * The gateway's step around `/v3/auth/authenticate`: a client over its limit of failed logins
 * (login-limiter.ts) gets the answer a member would give, etcd's `etcdserver: too many requests`
 * (429 / 8), and the cluster is not contacted. Otherwise the request goes on; the attempt stays
 * counted only when the answer is etcd's "authentication failed" (400 / 3). Every other answer
 * (a token, auth not enabled, the member's own 429, an unreachable cluster) is forgiven.
 *
 * Invariants: the answer passed on has the status, headers and body the member gave; a request
 * whose client address is unknown, or with no limiter, is passed through untouched.
 *
 * @module
 */
import { errorFromBody } from '../api/index.ts'
import { GrpcCode } from '../mvcc/errors.ts'
import { etcdErrorResponse, GatewayErrors } from './answers.ts'
import type { LoginLimiter } from './login-limiter.ts'

/** etcd's ErrAuthFailed, as a member answers a wrong password or an unknown user. */
export const AUTH_FAILED_MESSAGE = 'etcdserver: authentication failed, invalid user ID or password'

export async function guardLogin(
  limiter: LoginLimiter | null,
  client: string | undefined,
  send: () => Promise<Response>,
): Promise<Response> {
  if (limiter === null || client === undefined) return send()
  const attempt = limiter.begin(client)
  if (attempt === null) return etcdErrorResponse(GatewayErrors.tooManyRequests())
  let response: Response
  try {
    response = await send()
  } catch (err) {
    attempt.forgive()
    throw err
  }
  if (response.status !== 400) {
    attempt.forgive()
    return response
  }
  const text = await response.text()
  const error = errorFromBody(response.status, text)
  if (error.code !== GrpcCode.InvalidArgument || error.message !== AUTH_FAILED_MESSAGE) attempt.forgive()
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers })
}
