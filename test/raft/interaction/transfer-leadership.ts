/** transfer-leadership from=ID to=ID: asks node `from` to hand leadership to `to`. */
import type { Args } from './args.ts'
import type { InteractionEnv } from './env.ts'

export function transferLeadership(env: InteractionEnv, a: Args): void {
  const from = Number(a.options.get('from'))
  const to = Number(a.options.get('to'))
  env.get(from).node.transferLeader(to)
  const st = env.get(from).node.status()
  if (st.leadTransferee !== 0) env.write(`${from} is transferring leadership to ${st.leadTransferee}`)
}
