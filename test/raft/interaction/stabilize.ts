/** stabilize [ID...]: handles Readys and delivers messages among the nodes until nothing is left. */
import { intArgs, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function stabilize(env: InteractionEnv, a: Args): void {
  const ids = intArgs(a).length > 0 ? intArgs(a) : env.ids()
  for (let round = 0; round < 1000; round++) {
    let busy = false
    for (const id of ids) {
      for (let n = 0; env.processReady(id); n++) {
        if (n > 100) throw new Error(`stabilize: node ${id} never runs out of Readys`)
        busy = true
      }
    }
    for (const id of ids) if (env.deliver(id, false) > 0) busy = true
    if (!busy) return
  }
  throw new Error('stabilize: no quiescence after 1000 rounds')
}
