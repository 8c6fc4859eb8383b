/** propose ID DATA: proposes a normal entry; prints the refusal if there is one. */
import type { ProposalResult } from '../../../src/raft/index.ts'
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function writeResult(env: InteractionEnv, r: ProposalResult): void {
  if (!r.ok) env.write(`refused: ${r.error}`)
}

export function propose(env: InteractionEnv, a: Args): void {
  const data = a.positional[1] ?? ''
  writeResult(env, env.get(intArg(a, 0)).node.propose(new TextEncoder().encode(data)))
}
