/** campaign ID: the node starts an election now (a pre-vote round first if enabled). */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function campaign(env: InteractionEnv, a: Args): void {
  const n = env.get(intArg(a, 0)).node
  n.campaign()
  const st = n.status()
  env.write(`${st.id} is ${st.role} at term ${st.term}`)
}
