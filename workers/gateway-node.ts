/**
 * The gateway under Node: the same app as workers/gateway.ts, served by @hono/node-server.
 *
 *   node --import tsx workers/gateway-node.ts --listen 127.0.0.1:2379 --endpoints http://127.0.0.1:2381,…
 *
 * Flags win over EDGECD_LISTEN / EDGECD_ENDPOINTS (and the other EDGECD_* variables of
 * src/gateway/config.ts). Logs one line when it listens; SIGTERM/SIGINT close it and exit 0.
 *
 * @module
 */
import type { Server } from 'node:http'
import { parseArgs } from 'node:util'
import { serve } from '@hono/node-server'
import { createGatewayApp, gatewayOptionsFromEnv, parseListen } from '../src/gateway/index.ts'

try {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, endpoints: { type: 'string' } } })
  const flagged = values.endpoints === undefined ? {} : { EDGECD_ENDPOINTS: values.endpoints }
  const options = gatewayOptionsFromEnv({ ...process.env, ...flagged })
  const { host, port } = parseListen(values.listen ?? process.env['EDGECD_LISTEN'] ?? '127.0.0.1:2379')
  const app = createGatewayApp(options)
  const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
    const members = options.endpoints.join(',')
    console.log(`edgecd gateway listening on http://${host}:${info.port}, members ${members}`)
  }) as Server
  const stop = (signal: string): void => {
    console.log(`edgecd gateway: ${signal}, closing`)
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
} catch (error) {
  console.error(`edgecd gateway: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(2)
}
