/** compact ID INDEX: snapshots the node's state at INDEX (it must be applied) and compacts its log to it. */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function compact(env: InteractionEnv, a: Args): void {
  const n = env.get(intArg(a, 0))
  const index = intArg(a, 1)
  if (index > n.appliedIndex) throw new Error(`compact: ${index} is not applied yet (applied ${n.appliedIndex})`)
  n.storage.createSnapshot(index, n.node.status().confState, new TextEncoder().encode(`state@${index}`))
  n.storage.compact(index)
  env.write(`${n.id} compacted to ${index}, first index now ${n.storage.firstIndex()}`)
}
