/** read-index ID CTX: asks for a linearizable read point; the answer shows up as a ReadState. */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'
import { writeResult } from './propose.ts'

export function readIndex(env: InteractionEnv, a: Args): void {
  const ctx = new TextEncoder().encode(a.positional[1] ?? '')
  writeResult(env, env.get(intArg(a, 0)).node.readIndex(ctx))
}
