/**
 * tick-election ID / tick-heartbeat ID: ticks a node for an election timeout (electionTick ticks)
 * or a heartbeat interval (heartbeatTick ticks). With the env's fixed jitter of 0, a follower's
 * tick-election is exactly its election timeout.
 */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

type Ticks = (c: { electionTick: number; heartbeatTick: number }) => number

function tickN(env: InteractionEnv, a: Args, count: Ticks): void {
  const n = env.get(intArg(a, 0))
  const before = n.node.status()
  for (let i = count(n.config); i > 0; i--) n.node.tick()
  const after = n.node.status()
  if (after.role !== before.role || after.term !== before.term) {
    env.write(`${after.id} is ${after.role} at term ${after.term}`)
  }
}

export function tickElection(env: InteractionEnv, a: Args): void {
  tickN(env, a, (c) => c.electionTick)
}

export function tickHeartbeat(env: InteractionEnv, a: Args): void {
  tickN(env, a, (c) => c.heartbeatTick)
}
