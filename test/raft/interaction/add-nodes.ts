/**
 * add-nodes N [voters=(1,2,3)] [learners=(4)] [pre-vote=true] [check-quorum=true] [max-inflight=N]
 * [max-size=BYTES]: adds N nodes with the next free IDs. With voters=, they are founding members
 * (bootstrap snapshot at index 1); without, they start empty, as members joining later do.
 */
import { MemoryStorage, describeConfState } from '../../../src/raft/index.ts'
import { boolOption, intArg, intListOption, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function addNodes(env: InteractionEnv, a: Args): void {
  const count = intArg(a, 0)
  const voters = intListOption(a, 'voters')
  const learners = intListOption(a, 'learners')
  const first = Math.max(0, ...env.ids()) + 1
  for (let id = first; id < first + count; id++) {
    const storage = voters.length > 0 ? MemoryStorage.bootstrap({ voters, learners }) : new MemoryStorage()
    env.add(id, storage, {
      preVote: boolOption(a, 'pre-vote', false),
      checkQuorum: boolOption(a, 'check-quorum', false),
      ...(a.options.has('max-inflight') ? { maxInflightMsgs: Number(a.options.get('max-inflight')) } : {}),
      ...(a.options.has('max-size') ? { maxSizePerMsg: Number(a.options.get('max-size')) } : {}),
    })
    const st = env.get(id).node.status()
    env.write(`${id} started: term=${st.term} commit=${st.commit} ${describeConfState(st.confState)}`)
  }
}
