/** status ID: the node's Status, with one line per member's progress on a leader. */
import { describeConfState } from '../../../src/raft/index.ts'
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function status(env: InteractionEnv, a: Args): void {
  const st = env.get(intArg(a, 0)).node.status()
  env.write(
    `${st.id}: ${st.role} term=${st.term} vote=${st.vote} lead=${st.lead} commit=${st.commit} ` +
      `applied=${st.applied} ${describeConfState(st.confState)} transferee=${st.leadTransferee}`,
  )
  for (const [id, p] of st.progress ?? []) {
    const flags = [p.recentActive ? 'active' : 'inactive', ...(p.isLearner ? ['learner'] : [])].join(' ')
    env.write(`  ${id}: ${p.state} match=${p.match} next=${p.next} ${flags}`)
  }
}
