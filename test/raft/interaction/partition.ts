/**
 * isolate ID: every message from or to the node is dropped on delivery until `heal`.
 * heal: ends all isolation.
 */
import { intArg, type Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function isolate(env: InteractionEnv, a: Args): void {
  env.isolated.add(intArg(a, 0))
}

export function heal(env: InteractionEnv): void {
  env.isolated.clear()
}
