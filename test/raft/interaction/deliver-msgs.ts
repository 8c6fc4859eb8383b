/**
 * deliver-msgs [ID...] [drop=(ID,...)]: delivers the queued messages to the listed nodes (all
 * nodes if none are listed); messages to the nodes in drop= are discarded and printed as dropped.
 */
import { intArgs, intListOption, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function deliverMsgs(env: InteractionEnv, a: Args): void {
  const drop = intListOption(a, 'drop')
  const targets = intArgs(a)
  const all = targets.length === 0 ? env.ids() : targets
  let n = 0
  for (const id of [...new Set([...all, ...drop])].sort((x, y) => x - y)) n += env.deliver(id, drop.includes(id))
  if (n === 0) env.write('no messages')
}
