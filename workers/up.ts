/**
 * `npm start`: a local 3-member cluster plus gateway on 127.0.0.1:2379, data in ./data
 * (see src/cli/up.ts for what it starts and how it stops).
 *
 * @module
 */
import { DEFAULT_UP_OPTIONS, up, usageBanner, waitForLeader } from '../src/cli/up.ts'

const cluster = await up(DEFAULT_UP_OPTIONS)
const stop = (): void => {
  console.log('stopping the cluster…')
  void cluster.stop().then(() => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
try {
  const leader = await waitForLeader(cluster.gatewayUrl, 30_000)
  console.log(usageBanner(cluster, leader))
} catch (err) {
  console.error(`edgecd: ${(err as Error).message}`)
  await cluster.stop()
  process.exit(1)
}
