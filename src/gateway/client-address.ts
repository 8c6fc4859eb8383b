/**
 * Who the client is, as far as the runtime can tell: the address the gateway limits failed logins
 * by (login-guard.ts).
 *
 *   Node (@hono/node-server)   the socket's remote address (`env.incoming`); a header saying
 *                              otherwise is the client's own word and is ignored.
 *   Workers                    the `CF-Connecting-IP` header, which Cloudflare's edge sets
 *                              (replacing any the client sent); when it is missing or does not
 *                              look like an IP address: none.
 *
 * Invariants: an address is at most {@link MAX_ADDRESS_LENGTH} characters (an IPv6 address in
 * text), so what the limiter keeps per client is bounded; no address (undefined) means the
 * gateway does not limit that request itself (the members still do).
 *
 * @module
 */
import type { Context } from 'hono'

/** The client's address for a request, or undefined when the runtime does not say. */
export type ClientAddress = (c: Context) => string | undefined

/** The longest textual IP address: an IPv6 address with an embedded IPv4 one. */
export const MAX_ADDRESS_LENGTH = 45

const IP_TEXT = /^[0-9A-Fa-f:.]+$/

/** What @hono/node-server passes as the app's env, as far as this needs it. */
interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
}

/** The runtime's answer: Node's socket when there is one, else Cloudflare's header. */
export const runtimeClientAddress: ClientAddress = (c) => {
  const incoming = (c.env as NodeBindings | undefined)?.incoming
  if (typeof incoming === 'object' && incoming !== null) return plausible(incoming.socket?.remoteAddress)
  return plausible(c.req.header('cf-connecting-ip'))
}

function plausible(address: string | undefined): string | undefined {
  if (address === undefined || address.length > MAX_ADDRESS_LENGTH || !IP_TEXT.test(address)) return undefined
  return address
}
