/**
 * restart ID: crash and restart the node from its storage (which holds everything it persisted),
 * dropping the messages queued to it. It resumes as a follower with applied = its applied index.
 */
import { RawNode } from '../../../src/raft/index.ts'
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function restart(env: InteractionEnv, a: Args): void {
  const n = env.get(intArg(a, 0))
  n.node = new RawNode({ ...n.config, applied: n.appliedIndex })
  env.queue = env.queue.filter((m) => m.to !== n.id)
  const st = n.node.status()
  env.write(`${n.id} restarted: term=${st.term} vote=${st.vote} commit=${st.commit} applied=${st.applied}`)
}
