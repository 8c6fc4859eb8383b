/**
 * report-snapshot ID PEER ok|fail: the transport's verdict on a MsgSnap that ID sent to PEER.
 * report-unreachable ID PEER: the transport could not reach PEER.
 */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function reportSnapshot(env: InteractionEnv, a: Args): void {
  env.get(intArg(a, 0)).node.reportSnapshot(intArg(a, 1), a.positional[2] === 'ok')
}

export function reportUnreachable(env: InteractionEnv, a: Args): void {
  env.get(intArg(a, 0)).node.reportUnreachable(intArg(a, 1))
}
