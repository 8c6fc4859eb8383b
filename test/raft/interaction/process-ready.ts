/** process-ready ID...: handles one Ready of each node (persist, queue messages, apply, advance). */
import { intArgs, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function processReady(env: InteractionEnv, a: Args): void {
  for (const id of intArgs(a)) if (!env.processReady(id)) env.write(`> ${id} has no Ready`)
}
