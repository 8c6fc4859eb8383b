/** raft-log ID: the node's persisted log (after its snapshot point). */
import { describeEntry } from '../../../src/raft/index.ts'
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function raftLog(env: InteractionEnv, a: Args): void {
  const s = env.get(intArg(a, 0)).storage
  const snap = s.snapshot().metadata
  env.write(`snapshot ${snap.term}/${snap.index}`)
  const ents = s.allEntries()
  if (ents.length === 0) env.write('log is empty')
  for (const e of ents) env.write(describeEntry(e))
}
