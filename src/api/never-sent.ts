/**
 * Whether a failed HTTP request provably never left this process: every error code in it (Node's,
 * undici's, down its causes) is one that only a connection attempt can raise. Such a request may
 * be sent again anywhere (the client's retries, the gateway's failover, a member's forward to a
 * new leader); any other failure may have reached the server.
 *
 * @module
 */

/** Error codes (Node's, undici's) that can only happen before a request leaves this process. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** True when `error` proves the connection was never established (every cause is a connect error). */
export function neverSent(error: unknown): boolean {
  const codes: string[] = []
  collectCodes(error, codes, 0)
  return codes.length > 0 && codes.every((code) => NEVER_SENT.has(code))
}

function collectCodes(error: unknown, out: string[], depth: number): void {
  if (typeof error !== 'object' || error === null || depth > 4) return
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string') out.push(code)
  if (Array.isArray(errors)) for (const e of errors) collectCodes(e, out, depth + 1)
  else if (cause !== undefined) collectCodes(cause, out, depth + 1)
}
