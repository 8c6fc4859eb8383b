/**
 * Node's fetch (undici) gives up on an answer whose headers take over 300 s to come
 * (headersTimeout) and on a body that stays quiet for 300 s (bodyTimeout). etcd's calls know no
 * such limits: a lock waits as long as it must, and a watch may see no event for hours, so a
 * gateway passing on a quiet watch, or a follower forwarding a waiting lock to its leader, must
 * not cut it off. The Node processes (member, gateway, CLI) make an untimed dispatcher their
 * fetch's at start; their own deadlines stay (the gateway's request timeout, a call's
 * Grpc-Timeout).
 *
 * Node only (undici): not exported from the client's index, which browsers and Workers load.
 *
 * @module
 */
import { Agent, setGlobalDispatcher } from 'undici'

/**
 * An undici dispatcher that waits `quietLimitMs` at most for an answer's headers and between two
 * pieces of its body; 0 (the default): as long as it takes.
 */
export function fetchDispatcher(quietLimitMs = 0): Agent {
  return new Agent({ headersTimeout: quietLimitMs, bodyTimeout: quietLimitMs })
}

/** Makes the global fetch (Node's own too: it shares undici's global dispatcher) untimed. */
export function useUntimedFetch(): void {
  setGlobalDispatcher(fetchDispatcher())
}
