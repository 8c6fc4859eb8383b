/** propose-conf-change ID add-voter|add-learner|remove NODE: proposes a membership change. */
import type { ConfChange } from '../../../src/raft/index.ts'
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'
import { writeResult } from './propose.ts'

export function proposeConfChange(env: InteractionEnv, a: Args): void {
  const type = a.positional[1] as ConfChange['type']
  if (!['add-voter', 'add-learner', 'remove'].includes(type)) throw new Error(`bad conf change type ${type}`)
  const cc: ConfChange = { type, nodeId: intArg(a, 2), context: new Uint8Array(0) }
  writeResult(env, env.get(intArg(a, 0)).node.proposeConfChange(cc))
}
