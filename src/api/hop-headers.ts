/**
 * Response headers that describe one hop, not the message: a server passing on an answer it
 * fetched (the gateway, a follower forwarding to its leader) drops them, and its own runtime sets
 * its own (a client's `Connection: close` is then honoured, and the length is the passed-on body's).
 *
 * @module
 */
export const HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'trailer',
  'upgrade',
  'proxy-authenticate',
])
